"""What ``import mmdet_eca`` (what ``custom_imports`` runs) does to a
process: it registers the plugin and allow-lists MMEngine's checkpoint
contents, and nothing else."""
import json
import subprocess
import sys

from freed_memory import bytes_given_back

IMPORTED = """
import json, sys
import mmdet_eca
print(json.dumps(sorted(sys.modules)))
"""


def test_import_leaves_out_benchmark_and_demo_code():
    out = subprocess.run([sys.executable, '-c', IMPORTED], check=True,
                         capture_output=True, text=True).stdout
    modules = json.loads(out.splitlines()[-1])
    assert 'mmdet_eca.backbones' in modules  # the probe sees the package
    outside = [m for m in modules
               if m.split('.')[0] in ('analysis_tools', 'demo_utils')]
    assert outside == []


def test_import_keeps_the_allocator_defaults():
    # glibc's defaults give freed 64 MiB blocks back to the kernel;
    # retaining them (the benchmark's mallopt) would give back nothing
    assert bytes_given_back('import mmdet_eca\n')[0] >= 120 * 2**20

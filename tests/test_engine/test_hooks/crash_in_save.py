"""Run tools/train.py and kill the process halfway through writing the
N-th checkpoint file, as a power cut or an OOM kill would.

usage: python crash_in_save.py N tools/train.py CONFIG [ARGS ...]
"""
import os
import runpy
import sys

from mmengine.fileio.backends import LocalBackend

CRASH_EXIT_CODE = 17


def main():
    crash_at = int(sys.argv[1])
    sys.argv = sys.argv[2:]
    write = LocalBackend.put
    saves = []

    def put(self, obj, filepath):
        if '.pth' in os.path.basename(str(filepath)):
            saves.append(filepath)
            if len(saves) == crash_at:
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                    f.flush()
                    os.fsync(f.fileno())
                os._exit(CRASH_EXIT_CODE)  # no cleanup, no finally blocks
        write(self, obj, filepath)

    LocalBackend.put = put
    runpy.run_path(sys.argv[0], run_name='__main__')


if __name__ == '__main__':
    main()

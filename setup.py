import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# What the wheel carries besides the package, for MMEngine and mim: the
# checkout's configs/ and tools/ as mmdet_eca/.mim/configs and .mim/tools
# (the layout MMDetection's own setup.py gives its wheel), so that a config
# can inherit 'mmdet_eca::<folder>/<file>.py' and `mim train mmdet_eca`
# finds the tools.
MIM_DIRS = ('configs', 'tools')
# Written into .mim/: MMEngine reads it before resolving 'pkg::' paths.
MODEL_INDEX = 'Import: []\n'
# A start-up hook that lets MMEngine resolve 'mmdet_eca::' in any process
# (see packaging/mmdet_eca_scope.py).
SCOPE_FILES = ('packaging/mmdet_eca_scope.py', 'packaging/mmdet_eca_scope.pth')


def version():
    with open('mmdet_eca/version.py') as f:
        for line in f:
            if line.startswith('__version__'):
                return line.split("'")[1]
    raise RuntimeError('no __version__ in mmdet_eca/version.py')


def requirements(path):
    """The requirement lines of ``path`` (comments and blanks left out)."""
    with open(path) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def config_family(name):
    """The folder a top-level config takes in .mim/configs, as MMDetection
    sorts its own: 'mask_rcnn' for mask_rcnn_ecanet50_fpn_1x_coco.py."""
    return name.split('_eca')[0]


class BuildWithMim(build_py):
    """``build_py`` that also lays out ``mmdet_eca/.mim`` for a wheel.

    An editable install reads configs/ and tools/ from the checkout and
    gets none of this.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim = osp.join(self.build_lib, 'mmdet_eca', '.mim')
        shutil.rmtree(mim, ignore_errors=True)
        for folder in MIM_DIRS:
            shutil.copytree(
                folder, osp.join(mim, folder),
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        # MMEngine wants a folder in 'pkg::folder/file.py': each top-level
        # config is also reachable through its detector's folder.
        configs = osp.join(mim, 'configs')
        for name in sorted(os.listdir('configs')):
            if name.endswith('.py') and osp.isfile(osp.join('configs', name)):
                family = osp.join(configs, config_family(name))
                os.makedirs(family, exist_ok=True)
                with open(osp.join(family, name), 'w') as f:
                    f.write(f"# configs/{name} of mmdet-eca\n"
                            f"_base_ = '../{name}'\n")
        with open(osp.join(mim, 'model-index.yml'), 'w') as f:
            f.write(MODEL_INDEX)
        for path in SCOPE_FILES:
            shutil.copy(path, self.build_lib)


setup(
    name='mmdet-eca',
    version=version(),
    description='Efficient Channel Attention (ECA-Net) backbones, configs '
    'and tools for MMDetection 3.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['mmdet_eca', 'mmdet_eca.*']),
    cmdclass={'build_py': BuildWithMim},
    python_requires='>=3.8',
    # The versions tested (docs/compatibility.md): torch 2.1 to 2.14 with
    # mmcv 2.1.0, which does not build against torch 2.15. mmcv must be
    # built against the installed torch without build isolation
    # (scripts/setup_env.sh); pip would otherwise build it silently
    # without its compiled ops.
    install_requires=[
        'torch>=2.1',
        'mmcv>=2.1.0,<2.2.0',
        'mmengine>=0.10.7,<0.11.0',
        'mmdet>=3.3.0,<3.4.0',
        'numpy',
    ],
    extras_require={
        # what only the tools use (demo, pictures, logs, export)
        'tools': ['matplotlib', 'tensorboard', 'onnx', 'onnxruntime'],
        'tests': ['pytest'],
        # ECA pretraining with mmpretrain (configs/mmpretrain/); torchvision
        # must be the one paired with the installed torch: install it first
        # (requirements-pretrain.txt says why)
        'pretrain': requirements('requirements-pretrain.txt') +
        ['torchvision'],
    },
)

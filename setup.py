from setuptools import find_packages, setup


def version():
    with open('mmdet_eca/version.py') as f:
        for line in f:
            if line.startswith('__version__'):
                return line.split("'")[1]
    raise RuntimeError('no __version__ in mmdet_eca/version.py')


setup(
    name='mmdet-eca',
    version=version(),
    description='Efficient Channel Attention (ECA-Net) backbones, configs '
    'and tools for MMDetection 3.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['mmdet_eca', 'mmdet_eca.*']),
    python_requires='>=3.8',
    # mmcv must be built against the installed torch without build
    # isolation (scripts/setup_env.sh); pip would otherwise build it
    # silently without its compiled ops.
    install_requires=[
        'torch>=1.8',
        'mmcv>=2.0.0,<2.2.0',
        'mmengine>=0.10.0,<1.0.0',
        'mmdet>=3.3.0,<3.4.0',
        'pycocotools',
        'matplotlib',
        'numpy',
    ],
    extras_require={'tests': ['pytest']},
)

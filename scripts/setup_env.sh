#!/usr/bin/env bash
# Build (or complete) the Python environment mmdet-eca runs in.
#
#   VENV=.venv bash scripts/setup_env.sh
#   VENV=.venv-torch2.1 TORCH_VERSION=2.1.2 PRETRAIN=1 bash scripts/setup_env.sh
#
# PRETRAIN=1 adds ECA pretraining with mmpretrain (configs/mmpretrain/):
# torchvision paired with the environment's torch, then
# requirements-pretrain.txt.
#
# VENV may name an existing environment (a conda env, a venv with a CUDA
# torch): whatever torch it already has is kept, and mmcv's ops are then
# compiled against that torch (CUDA ops when it is a CUDA build). Each step
# is skipped when already done, so a second run takes seconds.
set -euo pipefail

VENV=${VENV:-.venv}
BOOT_PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
MMCV_VERSION=2.1.0

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "$0")/.."

if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$BOOT_PYTHON" -m venv "$VENV" || die "could not create $VENV with $BOOT_PYTHON"
fi
PY="$VENV/bin/python"
pip() { "$PY" -m pip "$@"; }
# -I: not the working directory on sys.path, whose mmdet_eca.egg-info (left
# by another environment's editable install) would pass for an install
has() { "$PY" -I -c "$1" >/dev/null 2>&1; }

# torch >= 2.13 needs setuptools >= 77; mmcv's setup.py and MMEngine's
# `mmdet::` config lookup import pkg_resources, which setuptools 82 dropped.
if ! has 'import setuptools, wheel, sys; v = tuple(map(int, setuptools.__version__.split(".")[:2])); sys.exit(not (77, 0) <= v < (82, 0))'; then
    say 'installing setuptools>=77,<82 and wheel'
    pip install -q 'setuptools>=77,<82' wheel
fi

if has 'import torch'; then
    say "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    say "installing torch==$TORCH_VERSION"
    pip install -q "torch==$TORCH_VERSION"
fi

mmcv_ok() {
    has "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')"
}
if ! mmcv_ok; then
    # mmcv's ops are compiled against one torch; pip's own wheel cache keys
    # the build by mmcv's version alone, so with two torches on a machine
    # (make test and make test-oldest-torch) it hands out the other's
    # build. Built wheels are kept per torch version here instead.
    TORCH_TAG=$("$PY" -I -c 'import torch; print(torch.__version__.replace("+", "_"))')
    MMCV_WHEELS=${MMCV_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet-eca/mmcv-$MMCV_VERSION-torch-$TORCH_TAG}
    pip uninstall -q -y mmcv mmcv-lite >/dev/null 2>&1 || true
    if ls "$MMCV_WHEELS"/mmcv-*.whl >/dev/null 2>&1; then
        say "installing mmcv==$MMCV_VERSION built earlier against torch $TORCH_TAG ($MMCV_WHEELS)"
        pip install -q "$MMCV_WHEELS"/mmcv-*.whl || true
    fi
    if ! mmcv_ok; then
        # Without --no-build-isolation pip builds mmcv in an environment
        # with no torch and silently skips its compiled ops.
        say "building mmcv==$MMCV_VERSION with its compiled ops against torch $TORCH_TAG (about 10 minutes on 2 cores, once)"
        pip uninstall -q -y mmcv >/dev/null 2>&1 || true
        build=$(mktemp -d)
        pip wheel -q --no-build-isolation --no-deps --no-cache-dir -w "$build" "mmcv==$MMCV_VERSION" || die "building mmcv==$MMCV_VERSION failed (see pip's output above)"
        pip install -q "$build"/mmcv-*.whl || die "installing the mmcv==$MMCV_VERSION just built failed"
        mmcv_ok || die "'import mmcv.ops' fails after building mmcv==$MMCV_VERSION: check that a C++ compiler and the Python headers are installed"
        mkdir -p "$MMCV_WHEELS" && mv "$build"/mmcv-*.whl "$MMCV_WHEELS"/
        rm -rf "$build"
    fi
fi

# pip leaves what is already satisfied alone, so this is quick once done and
# picks up lines added to requirements.txt later.
say 'installing mmengine, mmdet, pycocotools and the test tools (requirements.txt)'
pip install -q -r requirements.txt
if ! has 'import importlib.metadata as m; m.version("mmdet-eca")'; then
    say 'installing mmdet_eca (editable)'
    pip install -q --no-build-isolation --no-deps -e .
fi

# mmdeploy 1.3.1 (MMDetection 3.x's), for the deployment test
# (tests/test_tools/test_deploy.py): its wheel pins protobuf<=3.20.2, which
# the ONNX packages above do not take, and its export path runs without
# it, so it comes without its pins and with the small packages it imports.
if ! has 'import mmdeploy'; then
    say 'installing mmdeploy 1.3.1 (test only)'
    pip install -q --no-deps mmdeploy==1.3.1
    pip install -q aenum multiprocess prettytable terminaltables
fi

# mmpretrain imports torchvision, whose wheels load only with the registry's
# torch of their own version: a local build (2.13.0+cpu) has no torchvision.
if [ "${PRETRAIN:-0}" = 1 ] && ! has 'import mmpretrain, torchvision'; then
    TORCH_FOUND=$("$PY" -I -c 'import torch; print(torch.__version__)')
    case "$TORCH_FOUND" in
        2.1.2 | 2.1.2+cu*) TORCHVISION_VERSION=0.16.2 ;;
        2.13.0 | 2.13.0+cu*) TORCHVISION_VERSION=0.28.0 ;;
        *) die "PRETRAIN=1 needs torch 2.1.2 or 2.13.0 from the package index (their torchvision: 0.16.2, 0.28.0); $VENV has torch $TORCH_FOUND: install its torchvision yourself, then pip install -r requirements-pretrain.txt" ;;
    esac
    say "installing torchvision==$TORCHVISION_VERSION and mmpretrain (requirements-pretrain.txt)"
    pip install -q "torchvision==$TORCHVISION_VERSION" || die "installing torchvision==$TORCHVISION_VERSION failed (see pip's output above)"
    pip install -q -r requirements-pretrain.txt || die 'installing requirements-pretrain.txt failed (see pip output above)'
    has 'import mmpretrain, torchvision' || die "'import mmpretrain' fails after installing it: torchvision $TORCHVISION_VERSION does not load with torch $TORCH_FOUND (a local torch build?)"
fi

# -I: the installed mmdet_eca, not the checkout's from the working directory
"$PY" -I - <<'EOF' || die 'the environment is incomplete (see the line above)'
import mmcv.ops  # noqa: F401  (fails if mmcv was built without its ops)
import mmdet_eca  # noqa: F401
from mmdet.registry import MODELS
missing = [n for n in ('ECAResNet', 'ECAResNetV1d') if MODELS.get(n) is None]
if missing:
    raise SystemExit(f'[setup] error: not registered in mmdet MODELS: {missing}')
import mmcv, mmdet, mmengine, torch
print(f'[setup] ready: torch {torch.__version__}, mmcv {mmcv.__version__} '
      f'(ops ok), mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      'mmdet_eca registered')
EOF

# Two commands do all the set-up on a fresh machine:
#   make demo   train and evaluate ECA Mask R-CNN on a generated dataset
#   make test   run the test suite
# Both create the environment in $(VENV) the first time (scripts/setup_env.sh).
# `make test-oldest-torch` runs the version-sensitive tests on the oldest
# supported stack (torch 2.1, mmcv 2.1.0 built against it) in its own
# environment, which also holds mmpretrain (its torchvision needs the
# registry's torch, which that environment has) for the pretraining tests;
# CI (.ci/run) runs both.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
READY := $(VENV)/.mmdet-eca-ready

OLDEST_VENV ?= .venv-torch2.1
OLDEST_CONSTRAINTS := scripts/oldest-torch-constraints.txt
OLDEST_READY := $(OLDEST_VENV)/.mmdet-eca-ready
# what differs between torch versions: the compatibility layer, the layers
# and backbones (fused path, half precision, tracing and export), the
# hooks, checkpoint loading, training and testing under MMDetection's own
# tools, the wheel and the mmdeploy path
OLDEST_TESTS := tests/test_compat.py tests/test_layers tests/test_backbones \
	tests/test_engine/test_hooks tests/test_engine/test_safe_load.py \
	tests/test_tools/test_check_execution_paths.py tests/test_tools/test_check_cuda.py \
	tests/test_tools/test_deploy.py tests/test_tools/test_mmdet_tools.py \
	tests/test_packaging tests/test_pretrain

.PHONY: setup demo test test-oldest-torch clean-demo

$(READY): scripts/setup_env.sh requirements.txt setup.py
	VENV=$(VENV) bash scripts/setup_env.sh
	touch $@

$(OLDEST_READY): scripts/setup_env.sh requirements.txt requirements-pretrain.txt \
		setup.py $(OLDEST_CONSTRAINTS)
	VENV=$(OLDEST_VENV) TORCH_VERSION=2.1.2 PRETRAIN=1 \
		PIP_CONSTRAINT=$(CURDIR)/$(OLDEST_CONSTRAINTS) bash scripts/setup_env.sh
	touch $@

setup: $(READY)

demo: $(READY)
	$(PYTHON) tools/demo.py

test: $(READY)
	$(PYTHON) -m pytest tests -q

test-oldest-torch: $(OLDEST_READY)
	$(OLDEST_VENV)/bin/python -m pytest $(OLDEST_TESTS) -q

clean-demo:
	rm -rf work_dirs/demo data/demo_shapes

# Two commands do all the set-up on a fresh machine:
#   make demo   train and evaluate ECA Mask R-CNN on a generated dataset
#   make test   run the test suite
# Both create the environment in $(VENV) the first time (scripts/setup_env.sh).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
READY := $(VENV)/.mmdet-eca-ready

.PHONY: setup demo test clean-demo

$(READY): scripts/setup_env.sh requirements.txt setup.py
	VENV=$(VENV) bash scripts/setup_env.sh
	touch $@

setup: $(READY)

demo: $(READY)
	$(PYTHON) tools/demo.py

test: $(READY)
	$(PYTHON) -m pytest tests -q

clean-demo:
	rm -rf work_dirs/demo data/demo_shapes

# make demo            build the environment, then the CPU demo (run_demo.py) into results/demo
# make demo DEMO_BUDGET=small   the same steps on a tiny budget (~1 min; CI)
# make test            build .venv/py<X.Y> for $(PYTHON) (default python3), install, run the tests
# make test-fast       the same without the tests marked slow (training and tool subprocesses): quick checks
# make test PYTHON=... another interpreter, e.g. PYTHON="$$(pyenv prefix 3.7.16)/bin/python"
# make venv            only build the environment
# make clean-venv      remove the environment for $(PYTHON)

PYTHON ?= python3
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PYVER),)
$(error cannot run PYTHON=$(PYTHON): give an interpreter path, e.g. PYTHON=python3)
endif
VENV ?= .venv/py$(PYVER)
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_BUDGET ?= full
DEMO_OUT ?= results/demo

.PHONY: venv test test-fast demo clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	@echo "== building $(VENV) for Python $(PYVER): pip installs TensorFlow and friends (minutes on a first run) =="
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-test.txt
	touch $@

test: $(STAMP)
	@echo "== tests on Python $(PYVER) ($(VENV)) =="
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	@echo "== demo on Python $(PYVER) ($(VENV)), budget $(DEMO_BUDGET) =="
	$(VENV_PY) run_demo.py --budget $(DEMO_BUDGET) --out $(DEMO_OUT)

test-fast: $(STAMP)
	@echo "== fast tests on Python $(PYVER) ($(VENV)): no training subprocesses (make test runs everything) =="
	$(VENV_PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

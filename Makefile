# make test            build .venv/py<X.Y> for $(PYTHON) (default python3), install, run the tests
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

.PHONY: venv test clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-test.txt
	touch $@

test: $(STAMP)
	@echo "== tests on Python $(PYVER) ($(VENV)) =="
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

# mk/env.mk: the test environment, included by the main Makefile.
#
#   make env   creates .venv/ (JupyterHub, the Python kubernetes client and helm-python-sdk,
#              pinned in tests/requirements.txt) and node_modules/ (configurable-http-proxy, pinned
#              in package.json + package-lock.json). Both come from PyPI / npm by package
#              name. Stamp files make a re-run a no-op until a pin file changes.

PYTHON ?= python3
NPM ?= npm

VENV := .venv
VENV_STAMP := $(VENV)/.env-stamp
NODE_STAMP := node_modules/.env-stamp

.PHONY: env env-clean

env: $(VENV_STAMP) $(NODE_STAMP)

$(VENV_STAMP): tests/requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# `npm ci` installs exactly the lock file; it wipes node_modules first, stamp included.
$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $@

env-clean:
	rm -rf $(VENV) node_modules .venv-kbatch042 .venv-kbatch05

# The real kbatch CLIs the kbatch REST API end-to-end tests drive (tests/kbatch_cli.rs): the
# last stable release and the newest pre-release, each in its own venv (pins in
# tests/requirements-kbatch*.txt; 0.5.0b1 needs rich<14 and httpx<1).
KBATCH_VENVS := .venv-kbatch042/.env-stamp .venv-kbatch05/.env-stamp

env: $(KBATCH_VENVS)

.venv-kbatch042/.env-stamp: tests/requirements-kbatch042.txt
	test -x .venv-kbatch042/bin/python || $(PYTHON) -m venv .venv-kbatch042
	.venv-kbatch042/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

.venv-kbatch05/.env-stamp: tests/requirements-kbatch05.txt
	test -x .venv-kbatch05/bin/python || $(PYTHON) -m venv .venv-kbatch05
	.venv-kbatch05/bin/python -m pip install --quiet --disable-pip-version-check --pre -r $<
	touch $@

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
	rm -rf $(VENV) node_modules

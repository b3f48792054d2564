# The two commands a new user runs: `make run` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install run test test-all bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,reference]"
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps modeloss==0.1.0
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps torchattacks==3.5.1
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/robusthep demo --quick

# pytest exits 5 when it collected nothing: that is a broken suite, so it fails loudly.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing" >&2; fi; \
	exit $$rc

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The documentation site (mkdocs.yml) into site/, warnings as errors.
DOCS_STAMP := $(VENV)/.docs-stamp

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(VENV)/bin/ruff check robusthep tests benchmarks mkdocs_hooks.py
	$(VENV)/bin/ruff format --check robusthep tests benchmarks mkdocs_hooks.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache site

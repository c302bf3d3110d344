# homeportal — `make run` (demo) and `make test` (the whole suite). See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
WEB_PORT ?= 8000
BPMS_PORT ?= 8090
NCA_PORT ?= 8092
# The NCALayer emulator (make run): ws:// here (a browser trusts no test certificate by itself);
# NCALAYER_ARGS= for wss:// as NCALayer, or --key company_head_sign --password Qwerty12 to answer alone.
NCALAYER_PORT ?= 13579
NCALAYER_PAGE_PORT ?= 13580
NCALAYER_ARGS ?= --ws
export WEB_PORT BPMS_PORT NCA_PORT NCALAYER_PORT NCALAYER_PAGE_PORT NCALAYER_ARGS
# Every target here is the development profile; DEBUG unset would mean production (docs/security.md).
DEBUG ?= True
export DEBUG
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/homeportal} \
            REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} HOMEPORTAL_TESTING=1 DEBUG=True \
            DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: run test lint install install-dev system system-test migrate demo messages clean bench fuzz

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || PYTHON=python3; $${PYTHON:-python3} -m venv $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PY) -m pip install -q -c constraints.txt ".[dev,standins]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed

system:
	@bash scripts/ensure_system.sh

system-test:
	@bash scripts/ensure_system.sh --test

messages: install
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0

migrate: install
	$(PY) manage.py migrate --noinput -v 0

demo: migrate
	$(PY) manage.py seed_demo

# The portal and the mock find each other on the chosen ports (and e-mail/QR links use WEB_PORT).
run: export BPMS_BASE_URL ?= http://127.0.0.1:$(BPMS_PORT)
run: export PORTAL_BASE_URL ?= http://127.0.0.1:$(WEB_PORT)
run: export NCA_SERVICES_URL ?= http://127.0.0.1:$(NCA_PORT)
run: export NCALAYER_URL ?= $(if $(findstring --ws,$(NCALAYER_ARGS)),ws,wss)://127.0.0.1:$(NCALAYER_PORT)/
run: system install messages
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py pki_init -v 0
	@# The demo documents get their RFC 3161 time stamps: the NCA stand-in answers while seed_demo runs.
	@$(PY) -m nca_services --port $(NCA_PORT) & nca=$$!; \
	  $(PY) scripts/wait_http.py "$(NCA_SERVICES_URL)/healthz" 30; \
	  $(PY) manage.py seed_demo; rc=$$?; kill $$nca; wait $$nca 2>/dev/null; exit $$rc
	@echo
	@echo "  homeportal:        http://127.0.0.1:$(WEB_PORT)/"
	@echo "  KZhK admin:        http://127.0.0.1:$(WEB_PORT)/admin/"
	@echo "  dev outbox:        http://127.0.0.1:$(WEB_PORT)/dev/outbox/"
	@echo "  BPMS Simbase mock: http://127.0.0.1:$(BPMS_PORT)/"
	@echo "  NCA TSA/OCSP/CRL:  http://127.0.0.1:$(NCA_PORT)/ (test PKI stand-in)"
	@echo "  NCALayer emulator: $(NCALAYER_URL) — its dialog: http://127.0.0.1:$(NCALAYER_PAGE_PORT)/"
	@echo "  Ctrl-C stops everything."
	@echo
	$(VENV)/bin/honcho start -f Procfile

lint: install system
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run -v 1
	$(TEST_ENV) $(PY) scripts/translations.py check

test: system-test install
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run -v 1
	$(TEST_ENV) $(PY) scripts/translations.py check
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

# The property-based fuzz of every form (tests/test_fuzz.py) with thousands of examples
# (`make test` runs 12 per form); docs/security.md.
fuzz: system-test install
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0
	$(TEST_ENV) FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(VENV)/bin/pytest tests/test_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

# The benches' own extra (locust, for bench/load.py) on top of what `make install` brings.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt ".[dev,standins,bench]"
	@touch $@

bench: install messages $(VENV)/.installed-bench
	@bash scripts/ensure_system.sh --bench
	@for f in bench/[!_]*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf var/test .pytest_cache

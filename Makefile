# Build and bootstrap for the onboarding portal.
#
#   make run     installs what is missing, migrates, loads demo data, serves the portal
#   make test    installs what is missing and runs every test
#
# Both work on a fresh machine with no environment variables set (embedded
# defaults: SQLite, console mail + outbox, Celery on a filesystem broker in var/).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
PYTEST_ARGS ?=

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(VPY) manage.py

PYTHON_REQUIRED_MSG := Python 3.12 or newer is required; install it or put python3.12 on PATH

# Interpreter discovery, evaluated once per make run. PYTHON=/path/to/python3
# on the command line or in the environment overrides it.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell bash .ci/find-python 2>/dev/null)
endif

# An existing .venv made with a Python older than 3.12 (or whose interpreter
# has gone) is rebuilt.
VENV_OK := $(shell $(VPY) -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && echo yes)
ifneq ($(VENV_OK),yes)
.PHONY: $(VPY)
endif

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LDCONFIG := $(shell command -v ldconfig 2>/dev/null || echo /sbin/ldconfig)

# Translations: each .mo catalogue is compiled from its .po (msgfmt --check-format, as
# Django's compilemessages runs it) when it is missing or older than the .po.
MO_FILES := $(patsubst %.po,%.mo,$(shell find . -path ./$(VENV) -prune -o -path '*/locale/*/LC_MESSAGES/*.po' -print))

.PHONY: help print-python venv build system-deps test-deps run test clean vendor fonts serve migrate worker beat production-env

help:
	@echo "make run          install what is missing, migrate, load demo data, serve http://127.0.0.1:$(PORT)"
	@echo "make test         install what is missing and run every test (PYTEST_ARGS=... passed to pytest)"
	@echo "make migrate      production: apply migrations (its own step, before make serve)"
	@echo "make serve        production: collect static files, serve with gunicorn (WEB_CONCURRENCY workers)"
	@echo "make worker       production: a Celery worker (CELERY_CONCURRENCY processes)"
	@echo "make beat         production: Celery beat; run exactly one in the whole installation"
	@echo "make venv         create .venv and install requirements.txt"
	@echo "make build        production, after each checkout: make venv and compile the translations"
	@echo "make system-deps  install the Debian packages the portal needs to run, if any is missing"
	@echo "make test-deps    install the Debian packages only the tests need (Chromium, ...), if any is missing"
	@echo "make clean        remove var/, db.sqlite3 and staticfiles/ (keeps .venv)"
	@echo "make vendor       refetch the vendored Bootstrap, htmx and Noto fonts into static/"
	@echo "make fonts        make the pages' WOFF2 subsets of the Noto fonts again from static/fonts/*.ttf"
	@echo "make print-python show the interpreter used to create .venv"

print-python:
	@if [ -z "$(PYTHON)" ]; then echo "$(PYTHON_REQUIRED_MSG)" >&2; exit 1; fi
	@echo "$(PYTHON)"
	@"$(PYTHON)" --version

# ---------------------------------------------------------------------------
# Virtual environment

venv: $(STAMP)

# What a host runs the portal from, built from the checkout (deploy/README.md runs it after git
# clone and git pull): the .venv and the compiled translations, which git does not hold (*.mo is
# ignored). The units cannot build them: /srv/portal is read-only to them (ProtectSystem=strict).
build: venv $(MO_FILES)

$(VPY):
	@if [ -z "$(PYTHON)" ]; then echo "$(PYTHON_REQUIRED_MSG)" >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	rm -rf $(VENV)
	"$(PYTHON)" -m venv $(VENV)

# pip runs only when requirements.txt is newer than the stamp (or .venv is new).
$(STAMP): requirements.txt $(VPY)
	@echo "$(VPY) -m pip install -r requirements.txt"
	@set -o pipefail; $(VPY) -m pip install --disable-pip-version-check --quiet -r requirements.txt 2>&1 \
		| { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	@touch $@

# ---------------------------------------------------------------------------
# Debian packages, in two sets; apt-get runs only when one of the set is missing.
#
# system-deps: what the portal itself needs wherever it runs (make run, serve,
# worker, beat, and compiling the translations): WeasyPrint's libraries, Noto
# fonts (Devanagari), gettext for msgfmt. deploy/README.md section 1 installs
# these on a production host.

# The packages in $missing installed with apt-get (sudo when not root), or named
# when there is no apt-get.
APT_INSTALL = if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "WARNING: missing system packages (Debian names):$$missing"; \
		echo "WARNING: apt-get is not available; install their equivalents by hand. Continuing."; \
		exit 0; \
	fi; \
	echo "Installing system packages:$$missing"; \
	$(SUDO) apt-get update -qq && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

system-deps:
	@missing=""; \
	$(LDCONFIG) -p 2>/dev/null | grep -q 'libpango-1\.0\.so' || missing="$$missing libpango-1.0-0"; \
	$(LDCONFIG) -p 2>/dev/null | grep -q 'libpangoft2-1\.0\.so' || missing="$$missing libpangoft2-1.0-0"; \
	$(LDCONFIG) -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so' || missing="$$missing libharfbuzz-subset0"; \
	[ -f /usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf ] || missing="$$missing fonts-noto-core"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	$(APT_INSTALL)

# ---------------------------------------------------------------------------
# test-deps: what only the tests need (make test): Chromium for the browser
# tests, redis-server and pg_dump for the production profile's tests
# (tests/production), logrotate for the test of deploy/logrotate-portal, nginx for
# those of deploy/nginx-portal.conf, rsync for the backup's and restore's commands.
# Never asked for by the production targets.
#
# Debian's nginx starts at once with its default site on port 80, and at every boot:
# the tests start their own (their own prefix, pid file and ports), so one installed
# here is stopped and kept from starting again, leaving port 80 to whatever had it.

NGINX_SERVICE_OFF = if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now nginx; \
	else $(SUDO) invoke-rc.d nginx stop; $(SUDO) update-rc.d nginx disable; fi >/dev/null 2>&1 || true

test-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v pg_dump >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || missing="$$missing logrotate"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v rsync >/dev/null 2>&1 || missing="$$missing rsync"; \
	( $(APT_INSTALL) ) || exit $$?; \
	case "$$missing " in *" nginx "*) $(NGINX_SERVICE_OFF);; esac

# ---------------------------------------------------------------------------
# Serve the portal on the embedded defaults. The Celery worker (with beat
# embedded) runs in the background and is stopped when the server stops.
# runserver runs in its own session so that Ctrl-C, a SIGTERM to make, or the
# server exiting all end in the same place: the EXIT trap stops both.

# The links the portal mails (SITE_URL) lead to the port it serves on, unless SITE_URL is
# set in the environment.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: venv system-deps $(MO_FILES)
	@mkdir -p var
	@echo "Links in the mail point at $(SITE_URL)"
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) seed_demo
	@trap '[ -n "$${server_pid:-}" ] && kill -TERM -- -$$server_pid 2>/dev/null; [ -n "$${celery_pid:-}" ] && kill -TERM $$celery_pid 2>/dev/null; wait' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(VENV)/bin/celery -A portal worker -B --concurrency 1 --loglevel INFO >var/celery.log 2>&1 & celery_pid=$$!; \
	echo "Celery worker with beat started (pid $$celery_pid, log in var/celery.log)"; \
	setsid $(MANAGE) runserver 127.0.0.1:$(PORT) & server_pid=$$!; \
	wait $$server_pid

# ---------------------------------------------------------------------------
# Production (README, "Running in production"; deploy/ has the systemd units).
# Each target runs with DJANGO_DEBUG=0 whatever the environment says, and refuses
# to start when a variable production needs is missing. `make migrate` is its own
# step; `make serve` runs gunicorn in the foreground (web only): the Celery worker
# (`make worker`, any number, on any host) and beat (`make beat`, exactly one in
# the whole installation) are separate processes.

PRODUCTION_VARS := DJANGO_SECRET_KEY AUDIT_HMAC_KEY DJANGO_ALLOWED_HOSTS DATABASE_URL SITE_URL EMAIL_HOST
CELERY_CONCURRENCY ?= 2

production-env migrate serve worker beat: export DJANGO_DEBUG = 0

production-env:
	@missing=""; for v in $(PRODUCTION_VARS); do [ -n "$${!v:-}" ] || missing="$$missing $$v"; done; \
	if [ -n "$$missing" ]; then \
		echo "Refusing to start in production mode (DJANGO_DEBUG=0): not set:$$missing" >&2; \
		echo "See README.md, \"Running in production\", for what each one is." >&2; \
		exit 2; \
	fi

migrate: production-env build
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable

serve: production-env build system-deps
	$(MANAGE) check --deploy
	$(MANAGE) collectstatic --noinput --verbosity 0
	exec $(VENV)/bin/gunicorn --config deploy/gunicorn.conf.py portal.wsgi

worker: production-env build system-deps
	exec $(VENV)/bin/celery -A portal --quiet worker --concurrency $(CELERY_CONCURRENCY) --loglevel INFO

beat: production-env build system-deps
	exec $(VENV)/bin/celery -A portal --quiet beat --loglevel INFO

# ---------------------------------------------------------------------------
# Tests. make's exit code is pytest's.

# Tests run against PostgreSQL when one answers on 127.0.0.1:5432 (database
# portal_test, created if missing) and DATABASE_URL is not set; else SQLite.
# pytest-xdist runs them on every core (-n auto), each worker with a test database
# and a folder of its own. --dist loadgroup hands tests out one or two at a time
# in collection order (--no-loadscope-reorder keeps it), except a group's, which
# go to one worker together (the production tests: they share one stack). On
# PostgreSQL that order puts the slow browser tests first, because the flush that
# ends a transactional test puts the migrations' rows back (tests/conftest.py):
# both workers start on them and the quick tests fill the gaps at the end. On
# SQLite it is pytest-django's order (database tests, then transactional ones).
# PYTEST_ARGS="-n 0" runs one process. Bytecode is cached (__pycache__, ignored by git) even
# where the environment says not to (PYTHONDONTWRITEBYTECODE): otherwise every xdist worker,
# PDF render server and test subprocess compiles the portal's modules and rewrites the tests'
# assertions again (about 10 s of processor time in a run of a quarter of the suite).
test: venv system-deps test-deps $(MO_FILES)
	@if [ -z "$${DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then \
		psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'portal_test'" 2>/dev/null | grep -q 1 \
			|| psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE portal_test" >/dev/null 2>&1 || true; \
		export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_test; \
		echo "Testing against PostgreSQL ($$DATABASE_URL)"; \
	fi; \
	PYTHONDONTWRITEBYTECODE= $(VPY) -m pytest -n auto --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

%.mo: %.po | system-deps
	msgfmt --check-format -o $@ $<

clean:
	rm -rf var db.sqlite3 db.sqlite3-wal db.sqlite3-shm db.sqlite3-journal staticfiles

# ---------------------------------------------------------------------------
# Vendored static assets (served from static/, no CDN). Run by a maintainer
# to upgrade; the results are committed. Needs the npm registry.

BOOTSTRAP_VERSION ?= 5.3
HTMX_VERSION ?= 2
NOTO_DIR := /usr/share/fonts/truetype/noto
NOTO_FONTS := NotoSans-Regular.ttf NotoSans-Bold.ttf NotoSansDevanagari-Regular.ttf NotoSansDevanagari-Bold.ttf

# The pages' fonts: WOFF2 subsets of the TrueType files in static/fonts/ (which the PDFs keep
# using whole: static/css/pdf-fonts.css), each declared in static/css/fonts.css with the same
# unicode-range, so that a page downloads only the subsets its text uses (an English page Noto
# Sans's Latin, and the Devanagari for the language switch's "हिंदी"). Every OpenType feature
# is kept (Devanagari's conjuncts and matras are its GSUB and GPOS), and the hinting. WOFF2
# needs the brotli module (requirements.txt). The ranges here and in fonts.css go together.
FONT_LATIN := U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+20B9,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD
FONT_LATIN_EXT := U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+1D00-1DBF,U+1E00-1E9F,U+1EF2-1EFF,U+20A0-20AB,U+20AD-20B8,U+20BA-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF
# Devanagari, its Vedic extensions and the joiners, with the digits and punctuation the
# Devanagari font has itself (a Hindi or Marathi sentence is drawn in the one font).
FONT_DEVANAGARI := U+0000,U+000D,U+0020-0023,U+0025,U+0027-003F,U+005B-005F,U+007B-007E,U+00A0,U+00AD,U+00D7,U+00F7,U+02BC,U+0900-097F,U+1CD0-1CF9,U+200B-200D,U+2010,U+2013-2014,U+2018-2019,U+201C-201D,U+2026,U+20B9,U+20F0,U+2212,U+25CC,U+A830-A839,U+A8E0-A8FF
SUBSET := $(VENV)/bin/pyftsubset --layout-features='*' --flavor=woff2

fonts: $(STAMP)
	@set -euo pipefail; \
	for w in Regular Bold; do \
		$(SUBSET) static/fonts/NotoSans-$$w.ttf --unicodes='$(FONT_LATIN)' --output-file=static/fonts/NotoSans-$$w-latin.woff2; \
		$(SUBSET) static/fonts/NotoSans-$$w.ttf --unicodes='$(FONT_LATIN_EXT)' --output-file=static/fonts/NotoSans-$$w-latin-ext.woff2; \
		$(SUBSET) static/fonts/NotoSansDevanagari-$$w.ttf --unicodes='$(FONT_DEVANAGARI)' --output-file=static/fonts/NotoSansDevanagari-$$w.woff2; \
	done; \
	ls -l static/fonts/*.woff2

vendor: system-deps
	@set -euo pipefail; \
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent bootstrap@$(BOOTSTRAP_VERSION) htmx.org@$(HTMX_VERSION) >/dev/null); \
	mkdir -p "$$tmp/bootstrap" "$$tmp/htmx"; \
	tar xzf "$$tmp"/bootstrap-*.tgz -C "$$tmp/bootstrap"; \
	tar xzf "$$tmp"/htmx.org-*.tgz -C "$$tmp/htmx"; \
	mkdir -p static/vendor/bootstrap static/vendor/htmx static/fonts; \
	for f in css/bootstrap.min.css js/bootstrap.bundle.min.js; do \
		sed -E '/^[[:space:]]*(\/\/|\/\*)# sourceMappingURL=/d' "$$tmp/bootstrap/package/dist/$$f" > "static/vendor/bootstrap/$$(basename $$f)"; \
	done; \
	cp "$$tmp/bootstrap/package/LICENSE" static/vendor/bootstrap/LICENSE; \
	sed -E '/^[[:space:]]*(\/\/|\/\*)# sourceMappingURL=/d' "$$tmp/htmx/package/dist/htmx.min.js" > static/vendor/htmx/htmx.min.js; \
	cp "$$tmp/htmx/package/LICENSE" static/vendor/htmx/LICENSE; \
	for f in $(NOTO_FONTS); do cp "$(NOTO_DIR)/$$f" static/fonts/; done; \
	cp /usr/share/doc/fonts-noto-core/copyright static/fonts/LICENSE-OFL.txt; \
	for p in bootstrap htmx; do \
		sed -n 's/^  "version": *"\([^"]*\)".*/'"$$p"' \1/p' "$$tmp/$$p/package/package.json"; \
	done

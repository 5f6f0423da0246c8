# StyleVault: `make run` starts the product, `make test` proves it. Everything else is set up on the way.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/stylevault
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run distributed test test-sqlite test-postgres lint bench setup services messages fonts clean tiny-model

setup: $(STAMP) messages fonts

# Campaign ads are set in a Korean-capable font with Pillow's raqm layout (docs/campaigns.md).
fonts: $(STAMP)
	fc-list 2>/dev/null | grep -qiE "nanum|noto sans cjk" || (apt-get update -qq && apt-get install -y -qq fonts-nanum)
	$(BIN)/python -c "from PIL import features; raise SystemExit(not features.check('raqm'))" \
		|| (apt-get update -qq && apt-get install -y -qq libraqm0)

# torch first and pinned: the CPU wheel is preinstalled on this kind of machine, and installing it
# before the rest stops any dependency from pulling a multi-GB CUDA build.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

messages: $(STAMP)
	command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext)
	$(BIN)/django-admin compilemessages --ignore=.venv --ignore=var -v 0

run: setup
	$(BIN)/stylevault up

services:
	bash scripts/ensure-services.sh

# PostgreSQL, RabbitMQ, Redis, an S3 server, 2 web processes and 2 workers (docs/deploy.md).
distributed: setup services
	$(BIN)/python scripts/distributed.py

lint: $(STAMP)
	$(BIN)/ruff check stylevault tests
	$(BIN)/ruff format --check stylevault tests
	PYTHONPATH=$(CURDIR) $(BIN)/lint-imports --no-cache

test: setup services lint
	bash scripts/ensure-chromium.sh
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite:
	DATABASE_URL= $(BIN)/pytest

test-postgres:
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not e2e"

bench: setup services
	$(BIN)/python tests/bench/run.py

# Retrains the built-in model's committed weights from their seed (about an hour on 2 cores).
tiny-model: $(STAMP)
	$(BIN)/stylevault build-tiny-model

clean:
	rm -rf $(VENV) var test-artifacts

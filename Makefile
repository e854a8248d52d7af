# seatwatch — two commands on a fresh machine: `make demo` and `make test`.
# Everything they need is installed here: a virtualenv (.venv) with the Python
# packages, and Debian's mosquitto / espeak-ng / sox when missing and we are root.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# tflite-runtime 2.14 ships wheels up to CPython 3.11, so prefer it.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
DEBIAN_PKGS := mosquitto espeak-ng sox tmux
# headers the dev install compiles pyalsaaudio against (the ALSA source, seatwatch[alsa])
ALSA_DEV_PKGS := libasound2-dev
PYTEST_ARGS ?=

.PHONY: help demo test lint bench chaos eval voices system-deps alsa-headers venv dist deps-check clean

help:
	@echo "make demo   run a simulated call-center floor and the supervisors' console"
	@echo "make test   install everything needed and run the test suite"
	@echo "make lint   ruff + mypy (seatwatch.edge, .console, .contracts, cli, demo)"
	@echo "make bench  benchmarks -> bench/report.json"
	@echo "make chaos  fault-injection suite (broker restarts, serial yanks, kill -9, ...)"
	@echo "make dist   sdist + wheel -> dist/ (docs/packaging.md)"
	@echo "make deps-check  runtime dependencies resolve for Python 3.11 on aarch64 (needs PyPI)"
	@echo "make voices the Mellotron training voices' own environment (PyTorch; models/synth/mellotron.py)"

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "seatwatch needs Python >= 3.11 (python3.11 preferred)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python alsa-headers
	$(PIP) install -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

# Debian packages: installed when missing and root, otherwise a clear message.
system-deps:
	@missing=""; for cmd in mosquitto espeak-ng sox tmux; do \
		command -v $$cmd >/dev/null 2>&1 || [ -x /usr/sbin/$$cmd ] || missing="$$missing $$cmd"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PKGS) >/dev/null; \
		else \
			echo "missing system packages:$$missing"; \
			echo "install them with: sudo apt-get install $(DEBIAN_PKGS)"; exit 1; \
		fi; \
	fi

# libasound2-dev: installed when missing and root, otherwise a clear message.
alsa-headers:
	@if [ ! -f /usr/include/alsa/asoundlib.h ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages: $(ALSA_DEV_PKGS)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(ALSA_DEV_PKGS) >/dev/null; \
		else \
			echo "missing system packages: $(ALSA_DEV_PKGS) (pyalsaaudio compiles against it)"; \
			echo "install them with: sudo apt-get install $(ALSA_DEV_PKGS)"; exit 1; \
		fi; \
	fi

demo: $(RUNTIME_STAMP)
	$(VENV)/bin/seatwatch demo

test: system-deps $(DEV_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check seatwatch edge host_console models tests bench tools
	$(PY) tools/typecheck.py

bench: system-deps $(DEV_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

chaos: system-deps $(DEV_STAMP)
	$(PY) -m tests.chaos.run $(CHAOS_ARGS)

# call-level alert benchmark: 200 generated calls with known truth (docs/eval.md)
eval: system-deps $(DEV_STAMP)
	$(VENV)/bin/seatwatch eval $(EVAL_ARGS)

# The Mellotron voices (ttskit's weights) for training and evaluation speech only: PyTorch
# and ttskit's old pins in an environment of their own, never in .venv or CI.
VOICES_VENV ?= $(HOME)/.cache/seatwatch/voices-venv
voices:
	$(PYTHON) -m venv $(VOICES_VENV)
	$(VOICES_VENV)/bin/pip -q install "torch==2.13.0+cpu" || $(VOICES_VENV)/bin/pip -q install torch
	$(VOICES_VENV)/bin/pip -q install numpy scipy librosa phkit aukit pydub unidecode pypinyin \
		webrtcvad-wheels setproctitle pyyaml requests tqdm jieba
	$(VOICES_VENV)/bin/pip -q install --no-deps ttskit==0.3.8

# sdist and wheel (the wheel is built from the sdist, so both are checked)
dist: $(DEV_STAMP)
	rm -rf dist build
	$(PY) -m build --outdir dist .

# every runtime dependency has a wheel for CPython 3.11 on aarch64 (the Pi)
deps-check: $(DEV_STAMP)
	$(PY) deploy/check_deps.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info dist build

# calmline: everything a fresh Debian machine needs, in two commands.
#   make demo   system packages, venv, package and bundled models, then one unattended practice call
#   make test   the same set-up plus test tools, then the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CALMLINE := $(VENV)/bin/calmline
STAMP := $(VENV)/.calmline-stamp
# Debian packages: espeak-ng speaks (pyttsx3 drives it too), libportaudio2 backs sounddevice,
# sox and ffmpeg make and check test audio, chromium + driver run the browser tests,
# postgresql's programs start a throwaway server for the two-worker test (not its cluster).
APT_RUNTIME := espeak-ng libespeak-ng1 libportaudio2
APT_TEST := sox ffmpeg chromium chromium-driver postgresql
# llama-cpp-python builds from source (~7 min on 2 cores); pip caches the wheel afterwards.
# Portable CPU flags so the cached wheel runs on any x86-64 machine of this kind.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help demo test setup setup-test system system-test lint bench clean

help:
	@echo "make demo   set everything up and run one unattended practice call"
	@echo "make test   set everything up and run the test suite"
	@echo "make lint   ruff and mypy"
	@echo "make bench  the latency / accuracy benchmark"

define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

system:
	$(call apt_install,$(APT_RUNTIME))

system-test: system
	$(call apt_install,$(APT_TEST))

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test]'
	$(CALMLINE) models prepare
	touch $@

setup: system $(STAMP)
setup-test: system-test $(STAMP)

demo: setup
	$(CALMLINE) demo

test: setup-test
	$(PY) -m pytest

lint: setup-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: setup
	$(CALMLINE) bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

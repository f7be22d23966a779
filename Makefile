# Clout: the commands the README gives. `make setup` is idempotent and quick when already done.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
JARS := .jars
MVN ?= mvn
MVN_FLAGS := -B -q -U -f jvm/pom.xml dependency:copy-dependencies -DincludeScope=runtime
DEMO_DATE ?= 2026-11-20
DEMO_EVENTS ?= 1200000
export GX_ANALYTICS_ENABLED := false
export PYSPARK_PYTHON := $(abspath $(PY))

.PHONY: setup demo test bench clean-data help
help:
	@echo "make setup | demo | test | bench | clean-data"

setup: $(VENV)/.installed $(JARS)/delta/.resolved jars-graphframes

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) not found" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

# Delta for Spark 4.1 and its runtime dependencies, minus what pyspark already ships.
$(JARS)/delta/.resolved: jvm/pom.xml $(VENV)/.installed
	rm -rf $(JARS)/delta && mkdir -p $(JARS)/delta
	$(MVN) $(MVN_FLAGS) -Pdelta -DoutputDirectory=$(abspath $(JARS))/delta
	$(PY) -m clout.jvm prune $(JARS)/delta
	@touch $@

# GraphFrames for Spark 4 (+ graphx). Attempted on every setup until it succeeds; when Maven cannot
# resolve it the error is kept in $(JARS)/graphframes.unavailable and the authority stage refuses to run.
jars-graphframes: $(VENV)/.installed
	@if [ -f $(JARS)/graphframes/.resolved ]; then exit 0; fi; \
	rm -rf $(JARS)/graphframes && mkdir -p $(JARS)/graphframes; \
	if $(MVN) $(MVN_FLAGS) -P!delta,graphframes -DoutputDirectory=$(abspath $(JARS))/graphframes > $(JARS)/graphframes.log 2>&1; then \
	  $(PY) -m clout.jvm prune $(JARS)/graphframes && touch $(JARS)/graphframes/.resolved && rm -f $(JARS)/graphframes.unavailable; \
	else \
	  grep -E 'ERROR\].*(Could not|Failed|not found)' $(JARS)/graphframes.log | head -3 > $(JARS)/graphframes.unavailable; \
	  echo "setup: WARNING GraphFrames JVM artifacts could not be resolved from Maven Central:" >&2; \
	  cat $(JARS)/graphframes.unavailable >&2; \
	fi

demo: setup
	$(PY) -m clout.cli demo --env local --date $(DEMO_DATE) --events $(DEMO_EVENTS)

test: setup
	$(PY) -m pytest tests

bench: setup
	$(PY) bench/ingest_throughput.py --events 10000000

clean-data:
	rm -rf var/

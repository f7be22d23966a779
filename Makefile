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

.PHONY: setup demo test lint bench clean-data help
help:
	@echo "make setup | demo | test | lint | bench | clean-data"

setup: $(VENV)/.installed $(JARS)/delta/.resolved $(JARS)/graphframes/.resolved

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

# GraphFrames for Spark 4 (core + its graphx fork), pinned to graphframes-py's version. Required: set-up
# stops here with Maven's error when the jars cannot be resolved (jvm/pom.xml lists ../shared/m2 as an extra
# repository for machines whose Maven Central lacks the io.graphframes group).
$(JARS)/graphframes/.resolved: jvm/pom.xml $(VENV)/.installed
	rm -rf $(JARS)/graphframes && mkdir -p $(JARS)/graphframes
	@if ! $(MVN) $(MVN_FLAGS) -P!delta,graphframes -DoutputDirectory=$(abspath $(JARS))/graphframes > $(JARS)/graphframes.log 2>&1; then \
	  echo "setup: FAILED to resolve the GraphFrames JVM artifacts (io.graphframes:graphframes-spark4_2.13 and" >&2; \
	  echo "  graphframes-graphx-spark4_2.13, see jvm/pom.xml). Clout cannot compute authority without them." >&2; \
	  echo "  Maven said (full log in $(JARS)/graphframes.log):" >&2; \
	  grep -E 'ERROR\]' $(JARS)/graphframes.log | head -5 >&2; \
	  exit 1; \
	fi
	$(PY) -m clout.jvm prune $(JARS)/graphframes
	@ls $(JARS)/graphframes/graphframes-spark4_*.jar $(JARS)/graphframes/graphframes-graphx-spark4_*.jar >/dev/null
	@touch $@

# A new store has no bot model yet: the first daily run trains one (bots.train_if_missing). The demo trains on
# two smaller generated days than conf's default so that set-up, generation, training and the day fit in minutes.
DEMO_TRAINING := --set 'bots.training.days=[{date: 2026-01-05, events: 40000, persons: 600, bot_permille: 40, bot_event_share: 0.04, seed: 101}, {date: 2026-01-06, events: 40000, persons: 1500, bot_permille: 10, bot_event_share: 0.04, seed: 102}]' --set bots.classifier.folds=3

demo: setup
	$(PY) -m clout.cli demo --env local --date $(DEMO_DATE) --events $(DEMO_EVENTS) $(DEMO_TRAINING)

# Lint and format are checked before the tests (ruff's settings are in pyproject.toml).
LINTED := lib tests jobs bench
lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

test: lint
	$(PY) -m pytest tests --durations=30

bench: setup
	$(PY) bench/ingest_throughput.py --events 10000000

clean-data:
	rm -rf var/

VENV ?= .venv
PY = $(VENV)/bin/python
PYTHON ?= python3.11
LOCK = requirements/lock.txt
STAMP = $(VENV)/.installed
ARGS ?=

.PHONY: demo test lint format bench clean

demo: $(STAMP)
	$(PY) scripts/run_demo.py

test: $(STAMP)
	VENV=$(VENV) bash scripts/run_tests.sh $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Pages, the escalation sweep and delivery, each beside its floor, and a summary of the goals.
bench: $(STAMP)
	$(PY) scripts/bench.py $(ARGS)

.PHONY: bench-reports
bench-reports: $(STAMP)
	$(PY) scripts/bench_reports.py $(ARGS)

.PHONY: bench-escalations
bench-escalations: $(STAMP)
	$(PY) scripts/bench_escalations.py $(ARGS)

clean:
	rm -rf var

$(PY):
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter: recreating the venv must not count as a lock change, but a
# missing stamp (new venv) or a newer lock file reinstalls.
$(STAMP): $(LOCK) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	touch $@

.PHONY: bench-rls
bench-rls: $(STAMP)
	$(PY) scripts/bench_rls.py $(ARGS)

.PHONY: bench-history
bench-history: $(STAMP)
	$(PY) scripts/bench_history.py $(ARGS)

.PHONY: bench-delivery
bench-delivery: $(STAMP)
	$(PY) scripts/bench_delivery.py $(ARGS)

.PHONY: bench-pages
bench-pages: $(STAMP)
	$(PY) scripts/bench_pages.py $(ARGS)

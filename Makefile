# The two commands of the README's quick start:
#   make course   build the executed course, release the assignments, grade the demo submissions (in the
#                 build's own scratch course _build/demo-course/: never the course's gradebook or grades)
#   make test     run the whole test suite
# Both create or update the project's own virtual environment (.venv) first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test course venv lock student-wheel bench lint clean help

help:
	@echo "make course   build the executed course into _build/ (lectures, release, demo grading in"
	@echo "              _build/demo-course/ (never a real gradebook), site)"
	@echo "make test     run the whole test suite"
	@echo "make bench    run the benchmarks and write benchmarks/results/*.md"
	@echo "make lint     ruff on the package, grader, tests and notebooks"

venv: $(STAMP)

# The locked environment: requirements/dev.lock (exact versions and hashes of the [dev] set, for every
# platform), then this project itself without dependencies. Re-installs when the lock or the project's metadata
# changes. uv is used when present, else venv + pip (both check the hashes).
LOCK      := requirements/dev.lock
LOCKFLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock"

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=/path/to/python3.11")'
	@if command -v uv >/dev/null 2>&1; then \
		uv venv --allow-existing --python $(PYTHON) $(VENV) && \
		uv pip install --python $(BIN)/python --require-hashes -r $(LOCK) && \
		uv pip install --python $(BIN)/python --no-deps -e .; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK) && \
		$(BIN)/python -m pip install --quiet --no-deps -e .; \
	fi
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

# Refresh the locks after editing pyproject.toml's dependencies (keeps current pins where they still fit;
# make lock UPGRADE=--upgrade moves everything to the newest versions): dev.lock (CI, make test/course),
# grader.lock (instructors, Gradescope), student.lock (the student package and its [lectures] extra).
# A lock is replaced only when its text changes (an unchanged dev.lock does not re-install .venv).
lock: $(STAMP)
	@set -e; for set in dev grader student; do \
		lock=requirements/$$set.lock; new=requirements/.$$set.new; \
		cp $$lock $$new 2>/dev/null || true; \
		if [ $$set = student ]; then $(BIN)/python -m mlcourse.build.student_wheel --requirements | \
			$(BIN)/uv pip compile - $(LOCKFLAGS) $(UPGRADE) -o $$new; \
		else $(BIN)/uv pip compile pyproject.toml --extra $$set $(LOCKFLAGS) $(UPGRADE) -o $$new; fi; \
		if cmp -s $$new $$lock; then rm $$new; else mv $$new $$lock; echo "$$lock updated"; fi; \
	done

# The package students install (no hidden tests, solutions, grader or tooling): dist/mlcourse_student-*.whl.
student-wheel: $(STAMP)
	$(BIN)/python -m mlcourse.build.student_wheel --out dist

test: $(STAMP)
	$(BIN)/python -m pytest

course: $(STAMP)
	$(BIN)/python -m mlcourse.build

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src autograder tests benchmarks lectures solutions

clean:
	rm -rf _build .pytest_cache .ruff_cache

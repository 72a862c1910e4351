# The two commands of the README's quick start:
#   make course   build the executed course, release the assignments, grade the demo submissions
#   make test     run the whole test suite
# Both create or update the project's own virtual environment (.venv) first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test course venv bench lint clean help

help:
	@echo "make course   build the executed course into _build/ (lectures, release, grades, site)"
	@echo "make test     run the whole test suite"
	@echo "make bench    run the benchmarks and write benchmarks/results/*.md"
	@echo "make lint     ruff on the package, grader, tests and notebooks"

venv: $(STAMP)

# Re-install when the project's metadata changes. uv is used when present, else venv + pip.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=/path/to/python3.11")'
	@if command -v uv >/dev/null 2>&1; then \
		uv venv --allow-existing --python $(PYTHON) $(VENV) && \
		uv pip install --python $(BIN)/python -e '.[dev]'; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -e '.[dev]'; \
	fi
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

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

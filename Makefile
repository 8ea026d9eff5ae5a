# Two entry points for a fresh machine (see README):
#   make demo   create .venv, install everything, run the main job on data that needs no download
#   make test   create .venv, install everything, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test generate clean bench

$(STAMP): setup.cfg constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[course,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/backprop-labs demo

test: $(STAMP)
	$(BIN)/backprop-labs generate --check
	$(BIN)/python -m pytest -n 2 --durations=15

bench: $(STAMP)
	$(BIN)/python -m bench

generate: $(STAMP)
	$(BIN)/backprop-labs generate

clean:
	rm -rf $(VENV) build *.egg-info

# Two entry points for a fresh clone: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,bench]" $(foreach p,$(wildcard plugins/*/pyproject.toml),-e ./$(dir $(p)))
	# the textbook's GPTModel (a loader-parity peer) needs only torch; its declared deps pull TensorFlow
	$(BIN)/python -m pip install -q --no-deps llms-from-scratch==1.0.19
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tokenkit demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.tokenkit_train

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis

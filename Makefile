# Two entry points for a fresh clone: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TORCH  ?= 2.13.0

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the pinned CPU build first: the project's open range (torch>=2.4) then installs nothing more
	# (an open-ended torch on an empty venv would pull a multi-GB CUDA build)
	$(BIN)/python -m pip install -q torch==$(TORCH)
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

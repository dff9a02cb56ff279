## make setup          .venv with the pinned stack (the default target; docs/setup.md)
## make data           MNIST's four files into data/MNIST/raw/: SHA-256 checked, fetched when missing or corrupt
## make sweep          set up (venv, pinned install, data) and run the default Optuna sweep (ARGS="key=value ...")
## make train          set up and train the default config once (ARGS="key=value ...")
## make test           set up and run the test suite (ARGS: pytest's)
## make dashboard      optuna-dashboard for a sweep (SWEEP=outputs/sweeps/NAME, ARGS="--port N")
## make pg, pg-stop    start, stop the throwaway PostgreSQL server the tests use
## make clean-outputs  rm -rf outputs
## make help           this list
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ARGS    ?=

.PHONY: setup data pg pg-stop sweep train test dashboard clean-outputs help

setup: $(STAMP)

# torch/torchvision first with plain pip (this machine's wheel store), then the locked rest, then
# hydra-optuna-sweeper without its declared optuna<3 (it runs on optuna 5; see pyproject.toml).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps hydra-optuna-sweeper==1.3.0
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	touch $@

# No stamp file: the fetch verifies the four files every time (about 3 s) and fetches only when
# one is missing or corrupt, so `make data` after a deleted or damaged file (the fix an error
# line gives) fetches again, and $MNIST_SWEEP_DATA pointing elsewhere is honoured.
data: $(STAMP)
	$(BIN)/python -m mnist_sweep.data fetch

sweep: data
	$(BIN)/python -m mnist_sweep.train -m $(ARGS)

train: data
	$(BIN)/python -m mnist_sweep.train $(ARGS)

# optuna-dashboard on 127.0.0.1:8080 for a sweep (SWEEP=outputs/sweeps/NAME), also while it runs.
SWEEP ?= outputs/sweeps/mnist_sweep
dashboard: $(STAMP)
	MNIST_SWEEP_DASHBOARD_VIA='make dashboard SWEEP=' $(BIN)/python -m mnist_sweep.dashboard $(SWEEP) $(ARGS)

# A throwaway PostgreSQL server on 127.0.0.1 for the multi-worker tests (scripts/pg-test-server).
pg:
	@bash scripts/pg-test-server >/dev/null || echo "make test: no PostgreSQL server, so its tests skip (apt-get install postgresql to run them)"

# make test leaves that server running for the next run; this stops it.
pg-stop:
	@bash scripts/pg-test-server stop

# Two pytest workers (pytest-xdist), one per core: most tests wait on a single-threaded subprocess.
test: data pg
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(ARGS)

clean-outputs:
	rm -rf outputs

help:
	@sed -n 's/^## //p' $(firstword $(MAKEFILE_LIST))

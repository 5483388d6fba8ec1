"""The Task protocol every problem generator follows, and helpers they share.

A task hands out seeded problems with gold answers, checks answers (and, where it can, single
steps), and builds the iteration-0 IFT (solutions) and EFT (step judgments) examples.
"""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    name: str
    reasoning_template: str
    judge_template: str

    def problems(self, split: str, n: int, seed: int) -> list[dict]: ...

    def check_answer(self, prediction: str | None, gold: str) -> bool: ...

    def check_step(self, problem: str, prefix: list[str], step: str) -> bool | None: ...

    def ift_examples(self, split: str, n: int, seed: int) -> list[dict]: ...

    def eft_examples(self, split: str, n: int, seed: int) -> list[dict]: ...


SPLITS = ("train", "validation", "test")


def check_split(split: str) -> str:
    from builder.errors import InputError

    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return split


def hash_split(text: str, test_share: float, validation_share: float = 0.0) -> str:
    """Split decided by the problem text alone, so one problem never lands in two splits.

    The held-out range is the hash buckets below test_share; validation takes its upper
    `validation_share` of them. Carving validation out of the held-out range (not out of train)
    keeps every train problem where it was, so models trained before validation existed have
    never seen a validation or test problem.
    """
    from builder.ids import unit_fraction

    bucket = unit_fraction(text)
    if bucket >= test_share:
        return "train"
    return "validation" if bucket >= test_share - validation_share else "test"


def check_shares(name: str, test_share: float, validation_share: float) -> None:
    from builder.errors import InputError

    if not 0 <= validation_share < test_share < 1:
        raise InputError(f"{name}: need 0 <= validation_share < test_share < 1, "
                         f"got {validation_share}, {test_share}")


def split_share(split: str, test_share: float, validation_share: float) -> float:
    """The share of the problem space one split covers (for sizing draws)."""
    return {"train": 1 - test_share, "validation": validation_share,
            "test": test_share - validation_share}[split]

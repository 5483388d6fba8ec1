"""The Task protocol every problem generator follows, and helpers they share.

A task hands out seeded problems with gold answers, checks answers (and, where it can, single
steps), and builds the iteration-0 IFT (solutions) and EFT (step judgments) examples.
"""

from __future__ import annotations

import hashlib
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


SPLITS = ("train", "test")


def check_split(split: str) -> str:
    from builder.errors import InputError

    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return split


def hash_split(text: str, test_share: float) -> str:
    """Split decided by the problem text alone, so one problem never lands in both splits."""
    bucket = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") / 2**32
    return "test" if bucket < test_share else "train"

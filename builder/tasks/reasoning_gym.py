"""`reasoning_gym:<generator>`: seeded offline problems from the reasoning-gym package.

Answers are checked with the generator's own `score_answer` (full credit only), falling back to
math-verify when the generator cannot score without its problem's metadata. There is no step
checker (check_step returns None). IFT solutions come from `metadata.answer_cot` where the
generator has one (gsm_symbolic), else a single answer step; EFT examples compare the gold answer
step with a wrong number, for numeric answers only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from builder.errors import InputError, need
from builder.ids import draw_seed
from builder.steps import split_steps
from builder.tasks.base import check_shares, check_split, hash_split, split_share
from builder.tasks.grading import answers_match


@dataclass(slots=True)
class ReasoningGymTask:
    generator: str
    test_share: float = 0.2  # the held-out range: test plus validation
    validation_share: float = 0.1  # carved out of test_share
    config: dict = field(default_factory=dict)  # extra keyword arguments for the generator
    name: str = ""
    reasoning_template: str = "reasoning_paper"
    judge_template: str = "judge_paper"
    _dataset: object = None  # one instance, for score_answer

    def __post_init__(self):
        self.name = f"reasoning_gym:{self.generator}"
        check_shares(self.name, self.test_share, self.validation_share)

    def _create(self, size: int, seed: int):
        rg = need("reasoning_gym", "gym", f"task {self.name}")
        try:
            return rg.create_dataset(self.generator, size=size, seed=seed, **self.config)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"task {self.name}: reasoning-gym cannot build it: {exc}") from None

    def entries(self, split: str, n: int, seed: int) -> list[dict]:
        """n distinct entries of one split; the split is a hash of the question text."""
        check_split(split)
        out, seen, chunk = [], set(), 0
        size = max(16, int(n / split_share(split, self.test_share, self.validation_share) * 1.2))
        while len(out) < n and chunk < 50:
            dataset = self._create(size, draw_seed(seed, chunk))
            self._dataset = self._dataset or dataset
            for entry in dataset:
                q = entry["question"]
                if q not in seen and hash_split(q, self.test_share, self.validation_share) == split:
                    seen.add(q)
                    out.append(entry)
            chunk += 1
        return out[:n]

    def problems(self, split: str, n: int, seed: int) -> list[dict]:
        return [
            {"problem": e["question"], "answer": str(e["answer"]),
             "meta": {"task": self.name, "source_index": e["metadata"].get("source_index")}}
            for e in self.entries(split, n, seed)
        ]

    def check_answer(self, prediction: str | None, gold: str) -> bool:
        if prediction is None:
            return False
        if self._dataset is None:
            self._dataset = self._create(1, 0)
        try:
            return self._dataset.score_answer(prediction, {"answer": gold, "metadata": {}}) >= 1.0
        except Exception:  # noqa: BLE001 - a scorer that needs the problem's metadata: compare values instead
            return answers_match(prediction, gold)

    def check_step(self, problem: str, prefix: list[str], step: str) -> bool | None:
        return None

    def ift_examples(self, split: str, n: int, seed: int) -> list[dict]:
        rows = []
        for e in self.entries(split, n, seed):
            steps = _cot_steps(e) + [f"The answer is \\boxed{{{e['answer']}}}"]
            solution = "".join(f"Step {i}: {s}\n" for i, s in enumerate(steps, 1))
            rows.append({"problem": e["question"], "solution": solution, "answer": str(e["answer"])})
        return rows

    def eft_examples(self, split: str, n: int, seed: int) -> list[dict]:
        """Gold answer step against a wrong number, both A/B orders, for numeric answers."""
        rng, out = random.Random(f"{self.name}-eft:{seed}:{split}"), []
        for row in self.ift_examples(split, n, seed + 7919):
            if len(out) >= n or not _is_int(row["answer"]):
                continue
            *prefix, last = split_steps(row["solution"])
            gold = int(row["answer"])
            wrong = gold + rng.choice([-10, -3, -2, -1, 1, 2, 3, 10])
            bad = last.replace(f"\\boxed{{{gold}}}", f"\\boxed{{{wrong}}}")
            for label, (a, b) in (("A", (last, bad)), ("B", (bad, last))):
                ra, rb = (gold, wrong) if label == "A" else (wrong, gold)
                grade = ("correct", "wrong") if label == "A" else ("wrong", "correct")
                out.append({"problem": row["problem"], "prefix": "".join(prefix), "step_a": a, "step_b": b,
                            "label": label,
                            "judgment": f"Check: answer {gold}. A: {ra} {grade[0]}. B: {rb} {grade[1]}. [[{label}]]"})
        return out[:n]


def _cot_steps(entry: dict) -> list[str]:
    cot = (entry.get("metadata") or {}).get("answer_cot") or ""
    return [line.strip() for line in cot.splitlines() if line.strip() and "####" not in line]


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()

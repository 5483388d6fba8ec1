"""The embedded demo task: `+`/`-` chains such as `13 + 9 - 4`, solved one operation per step.

Gold solution: `Step 1: 13 + 9 = 22`, `Step 2: 22 - 4 = 18`, `Step 3: The answer is \\boxed{18}`.
Every intermediate result stays within 0..max_value. The step checker knows the problem, so it can
tell whether a step's arithmetic is right and whether it carries the previous step's result.
EFT examples pair the gold next step with a corrupted one, in both A/B orders, and the judgment
recomputes the step before the verdict (`Check: 22 - 4 = 18. A: 18 correct. B: 17 wrong. [[A]]`);
a verdict alone gave a tiny model too little signal to learn from (measured with bench/demo_sft.py).
Solution-scoring examples (the SRLM baseline's judge) score a whole solution 0-5 the same way: the
judgment recomputes each step up to the first wrong one (`Check: 13 + 9 = 22. 22 - 4 = 18, not 17.
Score: 1`); a correct solution scores 5, one whose first error is step k scores k - 1.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from builder.tasks.base import check_shares, check_split, hash_split
from builder.tasks.grading import answers_match

EXPR = re.compile(r"\d+(?:\s*[-+]\s*\d+)+")
OP_STEP = re.compile(r"^Step (\d+): (\d+) ([-+]) (\d+) = (-?\d+)\s*$")
ANSWER_STEP = re.compile(r"^Step (\d+): The answer is \\boxed\{(-?\d+)\}\s*$")
CORRUPTIONS = ("result", "operand", "carry", "operator")


@dataclass(slots=True, frozen=True)
class Chain:
    start: int
    ops: tuple[tuple[str, int], ...]

    @property
    def values(self) -> list[int]:
        """Running values: the start, then the result after each operation."""
        out = [self.start]
        for op, b in self.ops:
            out.append(apply(out[-1], op, b))
        return out

    @property
    def text(self) -> str:
        return " ".join([str(self.start)] + [f"{op} {b}" for op, b in self.ops])


def apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b


def parse_problem(problem: str) -> Chain | None:
    """The first `a + b - c` expression in the text, or None."""
    m = EXPR.search(problem)
    if not m:
        return None
    tokens = re.findall(r"\d+|[-+]", m.group(0))
    ops = tuple((tokens[i], int(tokens[i + 1])) for i in range(1, len(tokens), 2))
    return Chain(int(tokens[0]), ops)


def op_step(k: int, a: int, op: str, b: int, r: int) -> str:
    return f"Step {k}: {a} {op} {b} = {r}\n"


def answer_step(k: int, r: int) -> str:
    return f"Step {k}: The answer is \\boxed{{{r}}}\n"


def gold_steps(chain: Chain) -> list[str]:
    values = chain.values
    steps = [op_step(i + 1, values[i], op, b, values[i + 1]) for i, (op, b) in enumerate(chain.ops)]
    return steps + [answer_step(len(chain.ops) + 1, values[-1])]


def stated_result(step: str) -> int | None:
    """The number a step ends with: the `= r` of an operation, the boxed answer of the last step."""
    m = OP_STEP.match(step.strip()) or ANSWER_STEP.match(step.strip())
    return int(m.groups()[-1]) if m else None


def check_step(problem: str, prefix: list[str], step: str) -> bool | None:
    """Is `step` the right next step after `prefix`? None when the problem or prefix is unreadable.

    Local correctness, as process supervision counts it: the step must do the problem's next
    operation on the result the previous step states (carried even if that result was wrong),
    with the right arithmetic; the answer step must box the last stated result.
    """
    chain = parse_problem(problem)
    if chain is None:
        return None
    k = len(prefix) + 1
    carried = chain.start if k == 1 else stated_result(prefix[-1])
    if carried is None:
        return None
    text = step.strip()
    if k <= len(chain.ops):
        m = OP_STEP.match(text)
        if not m:
            return False
        n, a, op, b, r = int(m[1]), int(m[2]), m[3], int(m[4]), int(m[5])
        return n == k and a == carried and (op, b) == chain.ops[k - 1] and r == apply(a, op, b)
    if k == len(chain.ops) + 1:
        m = ANSWER_STEP.match(text)
        return bool(m) and int(m[1]) == k and int(m[2]) == carried
    return False


def corrupt_step(chain: Chain, k: int, kind: str, rng: random.Random) -> str | None:
    """A wrong step k of one kind, or None when this kind cannot apply here (e.g. carry at step 1)."""
    values = chain.values
    if k > len(chain.ops):  # the answer step
        wrong = {"result": values[-1] + _delta(rng), "carry": values[-2]}.get(kind)
        return answer_step(k, wrong) if wrong is not None and wrong >= 0 and wrong != values[-1] else None
    a, (op, b), right = values[k - 1], chain.ops[k - 1], values[k]
    if kind == "result":
        a2, op2, b2, r2 = a, op, b, right + _delta(rng)
    elif kind == "operand":
        b2 = max(1, b + _delta(rng, small=True))
        a2, op2, r2 = a, op, apply(a, op, b2)
    elif kind == "carry":  # an older number is used instead of the previous result
        if k == 1:
            return None
        a2 = rng.choice([v for v in (values[k - 2], chain.ops[k - 2][1]) if v != a] or [a])
        op2, b2, r2 = op, b, apply(a2, op, b)
    else:  # operator
        op2 = "-" if op == "+" else "+"
        a2, b2, r2 = a, b, apply(a, op2, b)
    if r2 < 0 or (a2, op2, b2, r2) == (a, op, b, right):
        return None
    return op_step(k, a2, op2, b2, r2)


def _delta(rng: random.Random, small: bool = False) -> int:
    size = rng.randint(1, 3) if small or rng.random() < 0.8 else 10
    return size * rng.choice((-1, 1))


JUDGE_FORMATS = ("recompute", "inverse", "indexed", "reread")


def judgment(chain: Chain, k: int, step_a: str, step_b: str, label: str, judge_format: str = "recompute") -> str:
    """The target judge text: a check, then the verdict. Four formats (task option `judge_format`):

    - recompute: do the step, then grade each candidate's number
      (`Check: 22 - 4 = 18. A: 18 correct. B: 17 wrong. [[A]]`);
    - inverse: take each candidate's number back through the inverse of the problem's operation and
      compare with the previous result (`Check: A: 18 + 4 = 22. B: 17 + 4 = 21, not 22. [[A]]`):
      a different fact than the one the policy used to make the step, and one per candidate;
    - indexed: first list the problem's operations with their step numbers and name step k's, then
      the inverse checks (`Check: 1: + 9, 2: - 4. Step 2 is - 4. A: 18 + 4 = 22. ...`): finding
      "2:" in its own list replaces counting operations in the problem, the policy's usual slip
      on chains longer than it was trained on.
    - reread: copy the problem's chain up to the operation before step k, then name the next one
      (`Check: 13 + 9 then - 4. A: 18 + 4 = 22. ...`): the k-th operation is found by continuing a
      copy of the problem text (a lookup that does not depend on k) instead of by its position,
      then the inverse checks.
    The answer step is checked the same way in all: `Check: answer 18.` and the grades (indexed:
    after the list, `Step 3 is the answer 18.`).
    """
    values = chain.values
    ra, rb = stated_result(step_a), stated_result(step_b)
    listed = ""
    if judge_format == "reread" and k <= len(chain.ops):
        op, b = chain.ops[k - 1]
        listed = f"{Chain(chain.start, chain.ops[: k - 1]).text} then {op} {b}. "
    if judge_format == "indexed":
        listed = ", ".join(f"{i}: {op} {b}" for i, (op, b) in enumerate(chain.ops, start=1)) + ". "
        if k <= len(chain.ops):
            op, b = chain.ops[k - 1]
            listed += f"Step {k} is {op} {b}. "
    if judge_format in ("inverse", "indexed", "reread") and k <= len(chain.ops):
        checks = [f"{pos}: {_inverse_check(values[k - 1], chain.ops[k - 1], r)}" for pos, r in (("A", ra), ("B", rb))]
        return f"Check: {listed}{'. '.join(checks)}. [[{label}]]"
    if k > len(chain.ops):
        check = f"Check: {listed}Step {k} is the answer {values[-1]}." if listed else f"Check: answer {values[-1]}."
    else:
        op, b = chain.ops[k - 1]
        check = f"Check: {values[k - 1]} {op} {b} = {values[k]}."
    grade = {label: "correct", "B" if label == "A" else "A": "wrong"}
    return f"{check} A: {ra} {grade['A']}. B: {rb} {grade['B']}. [[{label}]]"


def _inverse_check(previous: int, operation: tuple[str, int], result: int | None) -> str:
    """`18 + 4 = 22` when 18 undoes `- 4` back to the previous result 22; else `..., not 22`."""
    if result is None:
        return f"no result, not {previous}"
    op, b = operation
    back_op = "-" if op == "+" else "+"
    back = apply(result, back_op, b)
    return f"{result} {back_op} {b} = {back}" + ("" if back == previous else f", not {previous}")


def scored_wrong_solution(chain: Chain, rng: random.Random) -> tuple[list[str], int] | None:
    """A solution whose first wrong step is k (score k - 1); later steps carry the wrong value on."""
    gold = gold_steps(chain)
    for _ in range(20):
        k = rng.randint(1, len(gold))
        wrong = corrupt_step(chain, k, rng.choice(CORRUPTIONS), rng)
        steps = _carry_on(chain, gold[: k - 1] + [wrong], k) if wrong is not None else None
        if steps is not None:
            return steps, k - 1
    return None


def _carry_on(chain: Chain, steps: list[str], k: int) -> list[str] | None:
    """The steps after a wrong step k, computed from its (wrong) result; None if a value goes negative."""
    value = stated_result(steps[-1])
    for j in range(k, len(chain.ops)):
        op, b = chain.ops[j]
        result = apply(value, op, b)
        if result < 0:
            return None
        steps.append(op_step(j + 1, value, op, b, result))
        value = result
    if k <= len(chain.ops):
        steps.append(answer_step(len(chain.ops) + 1, value))
    return steps


def score_judgment(chain: Chain, steps: list[str], score: int) -> str:
    """Recompute each step up to the first wrong one (step score + 1), then the score."""
    values, checks = chain.values, []
    for k, (op, b) in enumerate(chain.ops, start=1):
        check = f"{values[k - 1]} {op} {b} = {values[k]}"
        checks.append(check if k <= score else f"{check}, not {stated_result(steps[k - 1])}")
        if k > score:
            break
    else:
        answer = f"answer {values[-1]}"
        checks.append(answer if score == 5 else f"{answer}, not {stated_result(steps[-1])}")
    return f"Check: {'. '.join(checks)}. Score: {score}"


@dataclass(slots=True)
class ArithmeticTask:
    """Seeded `+`/`-` chains; every option is a run.yaml `task_options` key.

    Defaults are the CPU demo's measured variant (bench/demo_sft.py): operands up to 9 and
    values up to 30 let a 0.85M model learn both solving and judging in ~900 CPU steps; harder
    settings (max_ops 5, max_operand 20, max_value 50) are options.
    """

    min_ops: int = 2
    max_ops: int = 3
    min_operand: int = 1
    max_operand: int = 9
    max_value: int = 30
    test_share: float = 0.1  # the held-out range: test plus validation
    validation_share: float = 0.05  # carved out of test_share (~1.6k problems each at the demo's options)
    name: str = "arithmetic"
    reasoning_template: str = "reasoning_arith"
    judge_template: str = "judge_arith"
    judge_format: str = "recompute"  # the judgment's check: recompute, inverse, indexed or reread (see `judgment`)
    # relative weight of each operation count (default 1 each): {4: 0.05} makes 4-operation chains
    # rare, so a model trained on them is unsure there rather than never having seen one
    ops_weights: dict | None = None

    def __post_init__(self):
        from builder.errors import InputError

        weights = self.ops_weights or {}
        if any(not str(k).isdigit() or not isinstance(v, int | float) or v < 0 for k, v in weights.items()):
            raise InputError(f"arithmetic: ops_weights must map operation counts to weights >= 0, got {weights}")
        if weights and not any(self._count_weights()):
            raise InputError("arithmetic: ops_weights leaves no operation count between min_ops and max_ops")
        if self.judge_format not in JUDGE_FORMATS:
            raise InputError(f"arithmetic: judge_format {self.judge_format!r} is not one of {', '.join(JUDGE_FORMATS)}")
        if not 1 <= self.min_ops <= self.max_ops:
            raise InputError(f"arithmetic: need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}")
        if not 0 <= self.min_operand <= self.max_operand <= self.max_value:
            raise InputError("arithmetic: need 0 <= min_operand <= max_operand <= max_value")
        check_shares("arithmetic", self.test_share, self.validation_share)

    def chain(self, rng: random.Random) -> Chain:
        start = rng.randint(max(self.min_operand, 0), self.max_operand)
        ops, value = [], start
        for _ in range(self._n_ops(rng)):
            op, b = self._next_op(value, rng)
            ops.append((op, b))
            value = apply(value, op, b)
        return Chain(start, tuple(ops))

    def _n_ops(self, rng: random.Random) -> int:
        """Uniform over min_ops..max_ops, or weighted by ops_weights (a count left out weighs 1)."""
        if not self.ops_weights:
            return rng.randint(self.min_ops, self.max_ops)  # the draw of runs made before ops_weights
        return rng.choices(range(self.min_ops, self.max_ops + 1), weights=self._count_weights())[0]

    def _count_weights(self) -> list[float]:
        """ops_weights per operation count min_ops..max_ops (keys may be ints or digit strings)."""
        weights = {int(k): float(v) for k, v in (self.ops_weights or {}).items()}
        return [weights.get(n, 1.0) for n in range(self.min_ops, self.max_ops + 1)]

    def _next_op(self, value: int, rng: random.Random) -> tuple[str, int]:
        """A random operation whose result stays within 0..max_value (b = 0 only if nothing else fits)."""
        for _ in range(100):
            b = rng.randint(self.min_operand, self.max_operand)
            choices = [op for op in "+-" if 0 <= apply(value, op, b) <= self.max_value]
            if choices:
                return rng.choice(choices), b
        return "+", 0

    def chains(self, split: str, n: int, seed: int) -> list[Chain]:
        """n distinct chains of one split, seeded; the split is a hash of the problem text."""
        check_split(split)
        rng = random.Random(f"arithmetic:{seed}:{split}")
        seen, out = set(), []
        for _ in range(n * 200):  # guard against a problem space smaller than n
            if len(out) == n:
                break
            chain = self.chain(rng)
            if chain.text not in seen and hash_split(chain.text, self.test_share, self.validation_share) == split:
                seen.add(chain.text)
                out.append(chain)
        return out

    def problems(self, split: str, n: int, seed: int) -> list[dict]:
        return [
            {"problem": c.text, "answer": str(c.values[-1]), "meta": {"task": self.name, "n_ops": len(c.ops)}}
            for c in self.chains(split, n, seed)
        ]

    def check_answer(self, prediction: str | None, gold: str) -> bool:
        return answers_match(prediction, gold)

    def check_step(self, problem: str, prefix: list[str], step: str) -> bool | None:
        return check_step(problem, prefix, step)

    def ift_examples(self, split: str, n: int, seed: int) -> list[dict]:
        return [
            {"problem": c.text, "solution": "".join(gold_steps(c)), "answer": str(c.values[-1])}
            for c in self.chains(split, n, seed)
        ]

    def eft_examples(self, split: str, n: int, seed: int) -> list[dict]:
        """n judge examples: each (problem, position, corruption) comes in both A/B orders."""
        rng = random.Random(f"arithmetic-eft:{seed}:{split}")
        out: list[dict] = []
        # different seed stream than IFT, so judge and solution examples do not share problems 1:1
        for chain in self.chains(split, (n + 1) // 2, seed + 7919):
            out.extend(self._pair_rows(chain, rng))
        return out[:n]

    def score_examples(self, split: str, n: int, seed: int) -> list[dict]:
        """n solution-scoring examples: about 2 in 5 gold (score 5), the rest wrong from some step on."""
        rng = random.Random(f"arithmetic-score:{seed}:{split}")
        out = []
        for chain in self.chains(split, n, seed + 15485863):  # its own problems, as EFT has
            wrong = scored_wrong_solution(chain, rng) if rng.random() < 0.6 else None
            steps, score = wrong or (gold_steps(chain), 5)
            out.append({"problem": chain.text, "solution": "".join(steps), "answer": str(chain.values[-1]),
                        "score": score, "judgment": score_judgment(chain, steps, score)})
        return out

    def judgment(self, chain: Chain, k: int, step_a: str, step_b: str, label: str) -> str:
        return judgment(chain, k, step_a, step_b, label, self.judge_format)

    def _pair_rows(self, chain: Chain, rng: random.Random) -> list[dict]:
        gold = gold_steps(chain)
        for _ in range(20):
            k = rng.randint(1, len(gold))
            wrong = corrupt_step(chain, k, rng.choice(CORRUPTIONS), rng)
            if wrong is not None:
                break
        else:
            return []
        rows = []
        for label, (a, b) in (("A", (gold[k - 1], wrong)), ("B", (wrong, gold[k - 1]))):
            rows.append({
                "problem": chain.text, "prefix": "".join(gold[: k - 1]), "step_a": a, "step_b": b,
                "label": label, "judgment": self.judgment(chain, k, a, b, label),
            })
        rng.shuffle(rows)
        return rows

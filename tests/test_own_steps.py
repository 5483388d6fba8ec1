"""EFT examples from sampled steps, labelled by the real arithmetic checker. The sampler is the
SCRIPTED engine (tests/scripted_engine.py): what matters here is the labelling, pairing and A/B
balance, which must hold for any samples a policy produces."""

import re
from collections import Counter

from builder.initdata.own_steps import own_step_examples
from builder.prompts import ChatRenderer, load_template
from builder.steps import parse_verdict, split_steps
from builder.tasks import get_task
from builder.tasks.arithmetic import gold_steps, parse_problem
from tests.scripted_engine import ScriptedEngine

STEP = re.compile(r"Step \d+: ")


def sampler(request, i):
    """Samples 0-2 the gold step (duplicates), 3 off by one, 4 junk (the checker calls it wrong); on
    problems whose first number is even, only gold steps (a site with nothing to pair)."""
    m = re.search(r"Solve step by step: ([0-9 +-]+)", request.prompt)
    chain = parse_problem(m[1].strip())
    gold = gold_steps(chain)[len(STEP.findall(request.prompt[m.end():]))]
    if i < 3 or chain.start % 2 == 0:
        return gold, "stop"
    if i == 3:
        return re.sub(r"(\d+)(\D*)$", lambda d: f"{int(d[1]) + 1}{d[2]}", gold), "stop"
    return "hmm", "length"


def test_pairs_are_checker_labelled_balanced_and_judged(tiny_model_dir):
    task = get_task("arithmetic")
    renderer = ChatRenderer(str(tiny_model_dir))
    rows, counts = own_step_examples(task, ScriptedEngine(step=sampler), renderer, load_template("reasoning_arith"),
                                     40, seed=3, width=5)
    odd = sum(c.start % 2 for c in task.chains("train", 40, 3 + 104_729))
    assert counts.sites == 40 and counts.samples == 200
    assert counts.mixed == odd and counts.rows == 2 * odd and len(rows) == 2 * odd and 0 < odd < 40
    # gold-only sites have 1 distinct step; mixed sites 3 (gold, off by one, junk)
    assert counts.distinct == {1: 40 - odd, 3: odd}
    assert Counter(r["label"] for r in rows) == {"A": odd, "B": odd}
    for r in rows:
        prefix = split_steps(r["prefix"]) if r["prefix"] else []
        right, wrong = (r["step_a"], r["step_b"]) if r["label"] == "A" else (r["step_b"], r["step_a"])
        assert task.check_step(r["problem"], prefix, right) is True
        assert task.check_step(r["problem"], prefix, wrong) is False
        assert parse_verdict(r["judgment"]) == r["label"]
    # both orders of each pair, next to each other
    for a, b in zip(rows[::2], rows[1::2]):
        assert (a["step_a"], a["step_b"]) == (b["step_b"], b["step_a"]) and a["problem"] == b["problem"]


def test_no_problems_no_rows(tiny_model_dir):
    rows, counts = own_step_examples(get_task("arithmetic"), ScriptedEngine(step=sampler),
                                     ChatRenderer(str(tiny_model_dir)), load_template("reasoning_arith"), 0, seed=0)
    assert rows == [] and counts.sites == 0

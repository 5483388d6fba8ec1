"""Task plugins: seeded, disjoint splits; the arithmetic step checker; EFT examples; reasoning-gym."""

import re

import pytest

from builder.errors import InputError
from builder.tasks import get_task
from builder.tasks.arithmetic import CORRUPTIONS, check_step, corrupt_step, gold_steps, parse_problem


@pytest.fixture(scope="module")
def arith():
    return get_task("arithmetic")


def test_problems_are_seeded_and_distinct(arith):
    a, b = arith.problems("train", 200, seed=3), arith.problems("train", 200, seed=3)
    assert a == b
    assert a != arith.problems("train", 200, seed=4)
    assert len({p["problem"] for p in a}) == 200


def test_splits_are_disjoint(arith):
    train = {p["problem"] for p in arith.problems("train", 3000, seed=0)}
    test = {p["problem"] for p in arith.problems("test", 300, seed=0)}
    other_seed = {p["problem"] for p in arith.problems("test", 300, seed=1)}
    assert len(test) == 300 and not train & test and not train & other_seed


def test_validation_is_carved_out_of_the_old_test_range(arith):
    from builder.tasks.base import hash_split

    train = {p["problem"] for p in arith.problems("train", 3000, seed=0)}
    val = {p["problem"] for p in arith.problems("validation", 1000, seed=0)}
    test = {p["problem"] for p in arith.problems("test", 1000, seed=0)}
    assert len(val) == len(test) == 1000 and not val & test and not train & (val | test)
    # train is exactly what it was before validation existed (the old two-way split), so models
    # trained on it never saw a validation or test problem
    assert all(hash_split(p, 0.1) == "train" for p in train)
    assert all(hash_split(p, 0.1) == "test" for p in val | test)


def test_problem_shape_respects_options():
    task = get_task("arithmetic", min_ops=2, max_ops=5, max_operand=9, max_value=30)
    for p in task.problems("train", 300, seed=0):
        chain = parse_problem(p["problem"])
        assert 2 <= len(chain.ops) <= 5
        assert all(0 <= v <= 30 for v in chain.values)
        assert all(1 <= b <= 9 for _, b in chain.ops)
        assert p["answer"] == str(chain.values[-1])


def test_gold_solution_format(arith):
    row = arith.ift_examples("train", 1, seed=0)[0]
    chain = parse_problem(row["problem"])
    steps = gold_steps(chain)
    assert row["solution"] == "".join(steps)
    assert steps[0].startswith("Step 1: ") and all(s.endswith("\n") for s in steps)
    assert steps[-1] == f"Step {len(chain.ops) + 1}: The answer is \\boxed{{{row['answer']}}}\n"


def test_step_checker_accepts_every_gold_step(arith):
    for p in arith.problems("train", 200, seed=1):
        steps = gold_steps(parse_problem(p["problem"]))
        for k, step in enumerate(steps):
            assert arith.check_step(p["problem"], steps[:k], step) is True, (p, step)
        assert arith.check_step(p["problem"], steps, "Step 9: 1 + 1 = 2\n") is False  # past the end


def test_step_checker_rejects_each_corruption_kind():
    import random

    problem = "13 + 9 - 4 + 7"
    chain = parse_problem(problem)
    steps = gold_steps(chain)
    rng, seen = random.Random(0), set()
    for k in range(1, len(steps) + 1):
        for kind in CORRUPTIONS:
            for _ in range(5):
                bad = corrupt_step(chain, k, kind, rng)
                if bad is not None:
                    seen.add(kind)
                    assert check_step(problem, steps[: k - 1], bad) is False, (k, kind, bad)
    assert seen == set(CORRUPTIONS)


def test_step_checker_explicit_cases():
    p = "13 + 9 - 4"
    s1 = "Step 1: 13 + 9 = 22\n"
    assert check_step(p, [], s1) is True
    assert check_step(p, [], "Step 1: 13 + 9 = 21\n") is False  # wrong result
    assert check_step(p, [], "Step 1: 13 + 8 = 21\n") is False  # wrong operand
    assert check_step(p, [], "Step 1: 13 - 9 = 4\n") is False  # wrong operator
    assert check_step(p, [], "Step 2: 13 + 9 = 22\n") is False  # wrong number
    assert check_step(p, [s1], "Step 2: 13 - 4 = 9\n") is False  # previous result not carried
    assert check_step(p, [s1], "Step 2: 22 - 4 = 18\n") is True
    assert check_step(p, [s1, "Step 2: 22 - 4 = 18\n"], "Step 3: The answer is \\boxed{18}\n") is True
    assert check_step(p, [s1, "Step 2: 22 - 4 = 18\n"], "Step 3: The answer is \\boxed{17}\n") is False
    assert check_step(p, [s1], "Step 2: I think it is 18\n") is False
    assert check_step("no expression here", [], s1) is None
    assert check_step(p, ["Step 1: garbage\n"], "Step 2: 22 - 4 = 18\n") is None


def test_eft_examples_come_in_both_orders_with_consistent_judgments(arith):
    rows = arith.eft_examples("train", 400, seed=0)
    assert len(rows) == 400 and rows == arith.eft_examples("train", 400, seed=0)
    assert sum(r["label"] == "A" for r in rows) == 200
    for r in rows:
        good, bad = (r["step_a"], r["step_b"]) if r["label"] == "A" else (r["step_b"], r["step_a"])
        prefix = [s + "\n" for s in r["prefix"].split("\n") if s]
        assert check_step(r["problem"], prefix, good) is True
        assert check_step(r["problem"], prefix, bad) is False
        assert r["judgment"].startswith("Check: ") and r["judgment"].endswith(f"[[{r['label']}]]")
    first = rows[0]
    twin = [r for r in rows if r["problem"] == first["problem"] and r["step_a"] == first["step_b"]]
    assert twin and twin[0]["label"] != first["label"]


def test_eft_judgment_text():
    from builder.tasks.arithmetic import judgment

    chain = parse_problem("13 + 9 - 4")
    a, b = "Step 2: 22 - 4 = 18\n", "Step 2: 22 - 4 = 17\n"
    assert judgment(chain, 2, a, b, "A") == "Check: 22 - 4 = 18. A: 18 correct. B: 17 wrong. [[A]]"
    assert judgment(chain, 3, "Step 3: The answer is \\boxed{17}\n", "Step 3: The answer is \\boxed{18}\n",
                    "B") == "Check: answer 18. A: 17 wrong. B: 18 correct. [[B]]"


def test_inverse_judgment_checks_each_candidate_through_the_inverse_operation():
    from builder.tasks.arithmetic import judgment

    chain = parse_problem("13 + 9 - 4")  # values 13, 22, 18
    right, off = "Step 2: 22 - 4 = 18\n", "Step 2: 22 - 4 = 17\n"
    assert (judgment(chain, 2, right, off, "A", "inverse")
            == "Check: A: 18 + 4 = 22. B: 17 + 4 = 21, not 22. [[A]]")
    # a carry error computes correctly from the wrong number: only the comparison with 22 catches it
    assert (judgment(chain, 2, "Step 2: 13 - 4 = 9\n", right, "B", "inverse")
            == "Check: A: 9 + 4 = 13, not 22. B: 18 + 4 = 22. [[B]]")
    # the operator is the problem's, not the candidate's: `22 + 4 = 26` is taken back by + 4
    assert judgment(chain, 2, right, "Step 2: 22 + 4 = 26\n", "A", "inverse").endswith("B: 26 + 4 = 30, not 22. [[A]]")
    assert judgment(chain, 1, "Step 1: 13 + 9 = 22\n", "Step 1: 13 + 9 = 21\n", "A", "inverse").startswith(
        "Check: A: 22 - 9 = 13. B: 21 - 9 = 12, not 13.")
    answer = judgment(chain, 3, "Step 3: The answer is \\boxed{18}\n", "Step 3: The answer is \\boxed{17}\n", "A", "inverse")
    assert answer == "Check: answer 18. A: 18 correct. B: 17 wrong. [[A]]"


def test_indexed_judgment_lists_the_operations_before_the_inverse_checks():
    from builder.tasks.arithmetic import judgment

    chain = parse_problem("13 + 9 - 4")
    right, off = "Step 2: 22 - 4 = 18\n", "Step 2: 22 + 4 = 26\n"
    assert (judgment(chain, 2, off, right, "B", "indexed")
            == "Check: 1: + 9, 2: - 4. Step 2 is - 4. A: 26 + 4 = 30, not 22. B: 18 + 4 = 22. [[B]]")
    answer = judgment(chain, 3, "Step 3: The answer is \\boxed{18}\n", "Step 3: 18 - 4 = 14\n", "A", "indexed")
    assert answer == "Check: 1: + 9, 2: - 4. Step 3 is the answer 18. A: 18 correct. B: 14 wrong. [[A]]"


def test_reread_judgment_copies_the_chain_then_names_the_next_operation():
    from builder.tasks.arithmetic import judgment

    chain = parse_problem("13 + 9 - 4 + 2")
    assert (judgment(chain, 3, "Step 3: 18 + 2 = 20\n", "Step 3: 18 - 2 = 16\n", "A", "reread")
            == "Check: 13 + 9 - 4 then + 2. A: 20 - 2 = 18. B: 16 - 2 = 14, not 18. [[A]]")
    assert (judgment(chain, 1, "Step 1: 13 - 9 = 4\n", "Step 1: 13 + 9 = 22\n", "B", "reread")
            == "Check: 13 then + 9. A: 4 - 9 = -5, not 13. B: 22 - 9 = 13. [[B]]")
    answer = judgment(chain, 4, "Step 4: The answer is \\boxed{20}\n", "Step 4: The answer is \\boxed{19}\n", "A", "reread")
    assert answer == "Check: answer 20. A: 20 correct. B: 19 wrong. [[A]]"


def test_judge_format_reaches_eft_rows_and_only_the_judgment_changes():
    plain = get_task("arithmetic").eft_examples("train", 60, seed=0)
    inverse = get_task("arithmetic", judge_format="inverse").eft_examples("train", 60, seed=0)
    strip = [{k: v for k, v in r.items() if k != "judgment"} for r in plain]
    assert strip == [{k: v for k, v in r.items() if k != "judgment"} for r in inverse]
    ops = [r for r in inverse if "answer" not in r["judgment"]]
    assert ops and all(" correct" not in r["judgment"] and r["judgment"].count(", not ") == 1 for r in ops)
    with pytest.raises(InputError, match="judge_format"):
        get_task("arithmetic", judge_format="vibes")


def test_ops_weights_make_long_chains_rare_not_absent():
    from collections import Counter

    plain = get_task("arithmetic", max_ops=4)
    rare = get_task("arithmetic", max_ops=4, ops_weights={"4": 0.05})
    count = lambda task: Counter(len(c.ops) for c in task.chains("train", 600, seed=0))  # noqa: E731
    assert count(plain)[4] > 150  # uniform over 2..4: about a third
    assert 5 <= count(rare)[4] <= 60  # about 1 in 41, and distinct 2-op chains run out first
    assert get_task("arithmetic").chains("train", 50, 0) == get_task("arithmetic", ops_weights=None).chains("train", 50, 0)
    with pytest.raises(InputError, match="ops_weights"):
        get_task("arithmetic", ops_weights={"four": 1})
    with pytest.raises(InputError, match="ops_weights"):
        get_task("arithmetic", min_ops=2, max_ops=3, ops_weights={2: 0, 3: 0})


def test_task_variants_put_their_options_over_the_runs():
    from builder.config import RunConfig
    from builder.tasks import run_task

    cfg = RunConfig(task_options={"max_value": 20, "max_operand": 9}, task_variants={"frontier": {"min_ops": 4, "max_ops": 5}})
    base, frontier = run_task(cfg), run_task(cfg, "frontier")
    assert (base.min_ops, base.max_ops, base.max_value) == (2, 3, 20)
    assert (frontier.min_ops, frontier.max_ops, frontier.max_value, frontier.max_operand) == (4, 5, 20, 9)
    ops = {len(parse_problem(p["problem"]).ops) for p in frontier.problems("test", 200, 0)}
    assert ops == {4, 5}
    assert run_task(cfg, "arithmetic").max_ops == 3
    with pytest.raises(ValueError, match="variant name"):
        RunConfig(task_variants={"arithmetic": {"max_ops": 5}})


def test_eft_splits_are_disjoint(arith):
    train = {r["problem"] for r in arith.eft_examples("train", 2000, seed=0)}
    test = {r["problem"] for r in arith.eft_examples("test", 200, seed=0)}
    assert test and not train & test


def test_check_answer(arith):
    assert arith.check_answer("18", "18") and arith.check_answer("\\boxed{18}", "18")
    assert not arith.check_answer("17", "18") and not arith.check_answer(None, "18")


def test_bad_names_and_options():
    with pytest.raises(InputError, match="unknown task"):
        get_task("nope")
    with pytest.raises(InputError, match="task_options"):
        get_task("arithmetic", bogus=1)
    with pytest.raises(InputError, match="min_ops"):
        get_task("arithmetic", min_ops=4, max_ops=2)
    with pytest.raises(InputError, match="split"):
        get_task("arithmetic").problems("dev", 3, 0)
    with pytest.raises(InputError, match="validation_share"):
        get_task("arithmetic", test_share=0.1, validation_share=0.1)


def test_reasoning_gym_task_gives_problems_and_checks_answers():
    pytest.importorskip("reasoning_gym")
    task = get_task("reasoning_gym:basic_arithmetic")
    problems = task.problems("test", 10, seed=0)
    assert len(problems) == 10 and problems == task.problems("test", 10, seed=0)
    train = {p["problem"] for p in task.problems("train", 50, seed=0)}
    assert not train & {p["problem"] for p in problems}
    for p in problems:
        assert task.check_answer(p["answer"], p["answer"])
        assert not task.check_answer(str(int(float(p["answer"])) + 1), p["answer"])
    assert task.check_step(problems[0]["problem"], [], "Step 1: x\n") is None


def test_reasoning_gym_gsm_symbolic_ift_and_eft():
    pytest.importorskip("reasoning_gym")
    task = get_task("reasoning_gym:gsm_symbolic")
    row = task.ift_examples("train", 1, seed=0)[0]
    assert row["solution"].startswith("Step 1: ") and row["solution"].endswith(f"\\boxed{{{row['answer']}}}\n")
    assert task.reasoning_template == "reasoning_paper" and task.judge_template == "judge_paper"
    eft = task.eft_examples("train", 4, seed=0)
    assert len(eft) == 4 and {r["label"] for r in eft} == {"A", "B"}
    with pytest.raises(InputError, match="reasoning-gym"):
        get_task("reasoning_gym:no_such_generator").problems("train", 1, 0)


def test_score_examples_agree_with_the_step_checker(arith):
    from builder.steps import split_steps

    examples = arith.score_examples("train", 200, 0)
    assert len(examples) == 200 and examples == arith.score_examples("train", 200, 0)
    assert 50 < sum(e["score"] == 5 for e in examples) < 150  # both right and wrong solutions
    assert {e["score"] for e in examples} >= {0, 1, 2, 5}
    for e in examples:
        steps = split_steps(e["solution"])
        verdicts = [arith.check_step(e["problem"], steps[:k], s) for k, s in enumerate(steps)]
        first_wrong = verdicts.index(False) if False in verdicts else None
        assert e["score"] == (5 if first_wrong is None else first_wrong), e
        assert arith.check_answer(re.search(r"boxed\{(\d+)\}", steps[-1])[1], e["answer"]) == (e["score"] == 5)
        assert e["judgment"].startswith("Check: ") and e["judgment"].endswith(f". Score: {e['score']}")
        assert e["judgment"].count(", not ") == (e["score"] != 5)

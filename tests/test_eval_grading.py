"""The eval path's grading and benchmark loading, without a model: GSM8K '#### N' and MATH
\\boxed{} golds, math-verify equivalence, answers extracted from the accepted path."""

import json

import pytest

from builder.analysis.eval import eval_rows, grade, load_benchmark, part_name
from builder.analysis.judge_eval import load_pairs, score
from builder.errors import InputError
from builder.search import AnswerChecker, SearchResult
from builder.store import write_table
from tests.helpers import invoke, make_run


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_gsm8k_and_math_golds(run, tmp_path):
    gsm = _jsonl(tmp_path / "gsm.jsonl", [
        {"question": "Tom has 70 apples and buys 2. How many?", "answer": "He has 70 + 2 = 72.\n#### 72"},
        {"question": "How many cents in 12 dollars?", "answer": "12 * 100 = 1200\n#### 1,200"},
    ])
    b = load_benchmark(run, str(gsm), {}, None)
    assert b.name == "gsm" and [p["answer"] for p in b.problems] == ["72", "1200"]
    math = _jsonl(tmp_path / "math.jsonl", [
        {"problem": "Half of one?", "solution": "It is $\\boxed{\\frac{1}{2}}$."},
        {"problem": "No gold here", "solution": "nothing boxed"},
    ])
    b = load_benchmark(run, str(math), {}, None)
    assert [p["answer"] for p in b.problems] == ["\\frac{1}{2}"] and b.dropped == 1
    other = _jsonl(tmp_path / "other.jsonl", [{"q": "2+2?", "gold": "4"}])
    b = load_benchmark(run, str(other), {"problem": "q", "answer": "gold"}, None)
    assert b.problems[0]["problem"] == "2+2?" and b.problems[0]["answer"] == "4"


def test_math_verify_grading():
    chk = AnswerChecker()
    assert grade("0.5", "\\frac{1}{2}", chk)  # equivalence, not string equality
    assert grade("\\frac{1}{2}", "0.5", chk)
    assert grade("72", "72", chk)
    assert not grade("73", "72", chk)  # a wrong answer is wrong
    assert not grade(None, "72", chk) and not grade("72", None, chk)


def _result(final_text, final_answer):
    tree = {"tree_id": "0-p", "problem_id": "p", "strategy": "tournament", "status": "finished", "n_steps": 2,
            "n_rollbacks": 0, "n_rounds": 2, "final_answer": final_answer, "correct": None, "judge_calls": 0,
            "gen_tokens": 9, "judge_tokens": 0, "chunk": 0}
    nodes = [{"tree_id": "0-p", "node_id": "0-p/0", "on_path": True, "depth": 0, "text": "", "n_tokens": 0},
             {"tree_id": "0-p", "node_id": "0-p/2", "on_path": True, "depth": 2, "text": final_text, "n_tokens": 5},
             {"tree_id": "0-p", "node_id": "0-p/1", "on_path": True, "depth": 1, "text": "Step 1: 1 / 2\n", "n_tokens": 4},
             {"tree_id": "0-p", "node_id": "0-p/3", "on_path": False, "depth": 1, "text": "Step 1: no\n", "n_tokens": 7}]
    return SearchResult(trees=[tree], nodes=nodes)


def test_eval_rows_extract_boxed_answer_and_grade(run):
    from builder.analysis.eval import Benchmark

    bench = Benchmark("half", [{"problem_id": "p", "problem": "Half?", "answer": "0.5"}], AnswerChecker())
    rows = eval_rows(_result("Step 2: so \\boxed{\\frac{1}{2}}\n", "\\frac{1}{2}"), bench, "greedy", "M")
    assert rows[0]["prediction"] == "\\frac{1}{2}" and rows[0]["correct"] is True
    assert rows[0]["solution"] == "Step 1: 1 / 2\nStep 2: so \\boxed{\\frac{1}{2}}\n"  # path order, off-path dropped
    assert (rows[0]["n_steps"], rows[0]["n_tokens"]) == (2, 9)
    rows = eval_rows(_result("Step 2: so \\boxed{3}\n", "3"), bench, "greedy", "M")
    assert rows[0]["correct"] is False
    rows = eval_rows(_result("Step 2: no answer\n", None), bench, "search", "M")
    assert rows[0]["prediction"] is None and rows[0]["correct"] is False


def test_task_benchmark_uses_task_checker(run):
    b = load_benchmark(run, "task", {}, 4)
    assert b.name == "task:arithmetic" and len(b.problems) == 4 and all(p["answer"] for p in b.problems)
    assert b.checker.check_answer(b.problems[0]["answer"], b.problems[0]["answer"])
    assert part_name(b.name, "greedy") == "task_arithmetic-greedy"


def test_task_benchmark_validation_split(run):
    test = load_benchmark(run, "task", {}, 50)
    val = load_benchmark(run, "task", {}, 50, split="validation")
    assert val.name == "task:arithmetic@validation" and len(val.problems) == 50
    assert load_benchmark(run, "task:arithmetic@validation", {}, 50).problems == val.problems
    assert not {p["problem_id"] for p in val.problems} & {p["problem_id"] for p in test.problems}
    assert part_name(val.name, "greedy") != part_name(test.name, "greedy")
    with pytest.raises(InputError, match="task@dev.*split"):
        load_benchmark(run, "task@dev", {}, 5)


def test_judge_scores_by_hand():
    # Pairs in request order [better-as-A, better-as-B]:
    #   p1: A, B   right twice, consistent
    #   p2: A, A   right then wrong (position bias), inconsistent
    #   p3: None, B  one unparseable (wrong), right; not counted for swap consistency
    # right: 2 + 1 + 1 = 4 of 6 judgments
    s = score(["A", "B", "A", "A", None, "B"])
    assert (s.pairs, s.judgments) == (3, 6)
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.both_orders_accuracy == pytest.approx(1 / 3)
    assert s.swap_consistency == pytest.approx(1 / 2)  # p1 of {p1, p2}
    assert s.first_position_rate == pytest.approx(3 / 5)
    assert s.unparseable_rate == pytest.approx(1 / 6)


def test_judge_pairs_sources(run, tmp_path):
    pairs, name = load_pairs(run, None, 5)  # no EFT table yet: the task's EFT test examples
    assert name == "task:arithmetic" and len(pairs) == 5
    assert all(p.better != p.worse for p in pairs)
    eft = [{"example_id": f"e{i}", "split": s, "problem": "1 + 2", "prefix": "", "step_a": f"Step 1: 1 + 2 = {3 + i}\n",
            "step_b": "Step 1: 1 + 2 = 3\n", "label": "B", "judgment": "[[B]]", "source": "test"}
           for i, s in enumerate(["test", "test", "train"], start=1)]
    write_table(run, "eft", 0, "a", eft)
    pairs, name = load_pairs(run, None, None)
    assert name == "eft:test" and len(pairs) == 2 and pairs[0].better == "Step 1: 1 + 2 = 3\n"
    bad = _jsonl(tmp_path / "bad.jsonl", [{"problem": "x", "prefix": "", "step_a": "a", "step_b": "b", "label": "C"}])
    with pytest.raises(InputError, match="row 0: label must be 'A' or 'B'"):
        load_pairs(run, str(bad), None)


def test_eval_without_model_names_the_command(run):
    res = invoke("eval", "--run", run.root, "--iter", "2")
    assert res.exit_code == 2 and "model M2 not found at" in res.output and "psr train --run" in res.output
    assert "--iter 1" in res.output
    res = invoke("eval-judge", "--run", run.root, "--iter", "0")
    assert res.exit_code == 2 and "model M0 not found at" in res.output and "psr model tiny" in res.output

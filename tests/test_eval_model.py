"""`psr eval` (greedy and search) and `psr eval-judge` on the real tiny demo model (random weights:
accuracy is about 0, so the tests check shapes, consistency and the evals table, not scores)."""

import json

import pytest

from builder.steps import split_steps
from builder.store import read_table, seal
from tests.helpers import invoke, make_run


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core CPU the tiny model runs ~10x faster (bench/engine.py)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory):
    # Width 3 keeps the search mode to 6 judge calls per step on CPU.
    return make_run(tmp_path_factory.mktemp("eval"), "demo", f"models.M0={tiny_model_dir}", "search.width=3",
                    "eval.max_steps=3")


def _json_lines(output):
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_eval_greedy_and_search(run):
    res = invoke("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--mode", "search", "--limit", 3)
    assert res.exit_code == 0, res.output
    lines = _json_lines(res.output)
    assert [(x["benchmark"], x["mode"], x["problems"]) for x in lines] == [
        ("task:arithmetic", "greedy", 3), ("task:arithmetic", "search", 3)]
    rows = read_table(run, "evals", 0).to_pylist()
    assert len(rows) == 6 and {r["mode"] for r in rows} == {"greedy", "search"}
    for r in rows:
        assert r["iteration"] == 0 and r["model"].endswith("M0")
        # every mode writes at least one step: with on_rollbacks_spent accept (the default) an
        # undecidable judge costs no solution, so a 0-step search answer is a defect
        assert 1 <= r["n_steps"] <= 3
        assert len(split_steps(r["solution"])) == r["n_steps"]
        assert r["correct"] is False or r["prediction"] is not None
    for line in lines:
        mine = [r for r in rows if r["mode"] == line["mode"]]
        assert line["correct"] == sum(r["correct"] for r in mine)
    # Greedy decoding is deterministic: a rerun gives the same rows and replaces the part file.
    before = sorted((r["problem_id"], r["solution"]) for r in rows if r["mode"] == "greedy")
    res = invoke("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--limit", 3)
    assert res.exit_code == 0, res.output
    again = read_table(run, "evals", 0).to_pylist()
    assert len(again) == 6
    assert sorted((r["problem_id"], r["solution"]) for r in again if r["mode"] == "greedy") == before


def test_search_limit_takes_the_first_problems_of_the_greedy_set(tiny_model_dir, tmp_path):
    run = make_run(tmp_path, "demo", f"models.M0={tiny_model_dir}", "search.width=2", "eval.max_steps=2",
                   "eval.limit=3", "eval.search_limit=2", "eval.modes=[greedy,search]")
    res = invoke("eval", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0, res.output
    assert [(x["mode"], x["problems"]) for x in _json_lines(res.output)] == [("greedy", 3), ("search", 2)]
    rows = read_table(run, "evals", 0).to_pylist()
    greedy = [r["problem_id"] for r in rows if r["mode"] == "greedy"]
    assert sorted(r["problem_id"] for r in rows if r["mode"] == "search") == sorted(greedy[:2])


def test_if_needed_skips_and_sealed_iteration_records_evals(run):
    from builder.store import check_sealed_files

    res = invoke("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--limit", 3, "--if-needed")
    assert res.exit_code == 0 and "already done, skipped" in res.output
    seal(run, 0, [], {"test": True})
    res = invoke("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--limit", 2)
    assert res.exit_code == 0, res.output
    problems, checked = check_sealed_files(run, 0)
    assert problems == [] and checked == 2  # both evals parts are in the manifest


def test_eval_file_benchmark_with_math_verify(run, tmp_path):
    f = tmp_path / "gsm_mini.jsonl"
    f.write_text(json.dumps({"question": "What is 3 + 4 - 2?", "answer": "3 + 4 - 2 = 5\n#### 5"}) + "\n")
    res = invoke("eval", "--run", run.root, "--iter", 0, "--bench", f, "--mode", "greedy")
    assert res.exit_code == 0, res.output
    assert _json_lines(res.output)[0]["benchmark"] == "gsm_mini"
    rows = [r for r in read_table(run, "evals", 0).to_pylist() if r["benchmark"] == "gsm_mini"]
    assert len(rows) == 1


def test_eval_judge_both_orders(run, tmp_path):
    out = run.root / "eval"
    res = invoke("eval-judge", "--run", run.root, "--iter", 0, "--pairs", "task", "--limit", 4, "--save")
    assert res.exit_code == 0, res.output
    got = _json_lines(res.output)[0]
    assert (got["pairs"], got["judgments"], got["pairs_source"]) == (4, 8, "task:arithmetic")
    # figures over 8 judgments: whole counts, and an unparseable verdict is never a right one
    assert (got["accuracy"] * 8).is_integer() and (got["unparseable_rate"] * 8).is_integer()
    assert got["accuracy"] + got["unparseable_rate"] <= 1.0
    path = next(out.glob("judge-M0-*.json"))
    assert json.loads(path.read_text()) == got
    before = path.stat().st_mtime_ns
    res = invoke("eval-judge", "--run", run.root, "--iter", 0, "--pairs", "task", "--limit", 4, "--save", "--if-needed")
    assert res.exit_code == 0 and "skipped (--if-needed)" in res.output and path.stat().st_mtime_ns == before


def test_eval_on_the_validation_split_is_a_separate_benchmark(run):
    res = invoke("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--limit", 2, "--split", "validation")
    assert res.exit_code == 0, res.output
    assert [(x["benchmark"], x["problems"]) for x in _json_lines(res.output)] == [("task:arithmetic@validation", 2)]
    rows = read_table(run, "evals", 0).to_pylist()
    val = {r["problem_id"] for r in rows if r["benchmark"] == "task:arithmetic@validation"}
    test = {r["problem_id"] for r in rows if r["benchmark"] == "task:arithmetic"}
    assert len(val) == 2 and test and not val & test


def test_judge_scores_definitions():
    from builder.analysis.judge_eval import score

    # pairs: (better as A, better as B); right = "A" first, "B" second
    s = score(["A", "B", "A", "A", None, "B", "B", None])
    assert (s.pairs, s.judgments) == (4, 8)
    assert s.accuracy == 4 / 8 and s.both_orders_accuracy == 1 / 4 and s.unparseable_rate == 2 / 8
    assert s.swap_consistency == 1 / 2 and s.first_position_rate == 3 / 6


@pytest.mark.parametrize("verdict", ["logprob", "forced"])
def test_eval_judge_probability_verdicts_decide_everything_with_a_calibration_table(run, verdict):
    res = invoke("eval-judge", "--run", run.root, "--iter", 0, "--pairs", "task", "--limit", 4, "--verdict", verdict)
    assert res.exit_code == 0, res.output
    got = _json_lines(res.output)[0]
    assert (got["verdict"], got["judgments"], got["unparseable_rate"]) == (verdict, 8, 0.0)
    assert got["swap_consistency"] is not None and 0.0 <= got["accuracy"] <= 1.0
    table = got["calibration"]
    assert sum(r["judgments"] for r in table) == (8 if verdict == "logprob" else 8 * got["forced_rate"])
    assert all(0.0 <= r["mean_p_a"] <= 1.0 and 0.0 <= r["a_better_rate"] <= 1.0 for r in table)
    assert "P(A) [" in res.output  # the table is printed too
    if verdict == "logprob":
        assert got["judge_tokens_mean"] == 0 and got["forced_rate"] == 0


def test_eval_judge_template_without_verdict_prefix_is_exit_2(run, tmp_path):
    plain = tmp_path / "plain_judge.txt"
    plain.write_text("A: {step_a}\nB: {step_b}\n{question_and_partial_steps}")
    cfg = run.root / "run.yaml"
    before = cfg.read_text()
    try:
        cfg.write_text(before.replace("judge: judge_arith", f"judge: {plain}"))
        res = invoke("eval-judge", "--run", run.root, "--iter", 0, "--pairs", "task", "--limit", 2, "--verdict", "logprob")
    finally:
        cfg.write_text(before)
    assert res.exit_code == 2 and "plain_judge.txt" in res.output and "verdict_prefix" in res.output


def _retrain(model_dir):
    """New weights in the same folder, as `psr train --force` leaves them (one tensor moved)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.save_pretrained(model_dir)


def test_if_needed_redoes_a_changed_limit_or_a_retrained_model_and_skips_the_same(tiny_model_dir, tmp_path):
    import shutil

    m0 = tmp_path / "M0"
    shutil.copytree(tiny_model_dir, m0)
    run = make_run(tmp_path, "demo", f"models.M0={m0}", "eval.max_steps=2")
    evals = ("eval", "--run", run.root, "--iter", 0, "--mode", "greedy", "--if-needed")
    judge = ("eval-judge", "--run", run.root, "--iter", 0, "--pairs", "task", "--save", "--if-needed")

    def problems(res):
        assert res.exit_code == 0, res.output
        return [x.get("problems", x.get("pairs")) for x in _json_lines(res.output)]

    assert problems(invoke(*evals, "--limit", 2)) == [2] and problems(invoke(*judge, "--limit", 2)) == [2]
    assert problems(invoke(*evals, "--limit", 2)) == [] and problems(invoke(*judge, "--limit", 2)) == []  # skipped
    assert problems(invoke(*evals, "--limit", 3)) == [3] and problems(invoke(*judge, "--limit", 3)) == [3]
    assert len(read_table(run, "evals", 0).to_pylist()) == 3  # the part was replaced, not added to
    _retrain(m0)
    assert problems(invoke(*evals, "--limit", 3)) == [3] and problems(invoke(*judge, "--limit", 3)) == [3]
    assert problems(invoke(*evals, "--limit", 3)) == [] and problems(invoke(*judge, "--limit", 3)) == []
    # an evals part changed since it was written is not "done" either
    part = next(run.table_dir("evals", 0).glob("part-*.parquet"))
    read_table(run, "evals", 0)  # readable before
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(part).slice(0, 1), part)
    assert problems(invoke(*evals, "--limit", 3)) == [3]

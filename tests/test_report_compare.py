"""`psr report --run A --compare B` on two small real runs: figures equal `psr sql` on each run.

Iteration 1 of run A (tournament) and run B (solution, the SRLM baseline) is searched by the
SCRIPTED stand-in engine (tests/scripted_engine.py) through the real library path (run dir,
Parquet, seal, pairs); the held-out evals are hand-written schema-valid rows (no model needed),
with per-problem correctness chosen so the paired counts are known.
"""

import json
import re

import pytest

from builder.analysis.stats import mcnemar_exact, wilson_interval
from tests.helpers import invoke, run_with_problems
from tests.scripted_engine import ScriptedEngine, hashed

_CAND = re.compile(r"cand (\d+)")
HELD_OUT = [f"h{i:02d}" for i in range(20)]


def _solution(request, i):
    return f"Step 1: cand {i}\nStep 2: so \\boxed{{{i}}}", "eos"


def _score(request):
    index = int(_CAND.search(request.prompt)[1])
    return f"Score: {index % 3 + 2}"


def _evals(run, iteration, right: set[int], ids=HELD_OUT):
    from builder.store import write_table

    rows = [{"iteration": iteration, "model": f"M{iteration}", "benchmark": "task:arithmetic", "mode": "greedy",
             "problem_id": pid, "prediction": "1", "correct": i in right, "n_steps": 2, "n_tokens": 9,
             "solution": "Step 1: x\n", "label_source": "judge",
             "judge_calls": None, "judge_tokens": None} for i, pid in enumerate(ids)]
    write_table(run, "evals", iteration, "task-greedy", rows)


def _make(root, tiny_model_dir, strategy, engine, judge=None):
    from builder.search.iteration import generate_iteration

    sets = ["engine.device=cpu", "search.width=3", "search.max_steps=3", "search.chunk_size=4",
            f"search.strategy={strategy}"] + ([f"prompts.judge={judge}"] if judge else [])
    run = run_with_problems(root, tiny_model_dir, sets, 6)
    generate_iteration(run, 1, engine=engine)
    assert invoke("seal", "--run", root, "--iter", 1).exit_code == 0
    assert invoke("pairs", "--run", root, "--iter", 1).exit_code == 0
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir):
    base = tmp_path_factory.mktemp("compare")
    a = _make(base / "psr", tiny_model_dir, "tournament", ScriptedEngine(judge=hashed))
    b = _make(base / "srlm", tiny_model_dir, "solution", ScriptedEngine(step=_solution, judge=_score), "judge_srlm_arith")
    # M1 is shared: identical correctness; M2: A right on 0-11, B right on 4-17 (only A: 0-3, only B: 12-17)
    for run in (a, b):
        _evals(run, 1, set(range(10)))
    _evals(a, 2, set(range(12)))
    _evals(b, 2, set(range(4, 18)))
    return a, b


def _sql(run, query):
    res = invoke("sql", query, "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.output.splitlines() if line.strip()]


def test_compare_figures_match_psr_sql(runs, tmp_path):
    a, b = runs
    res = invoke("report", "--run", a.root, "--compare", b.root, "--format", "json", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "compare.json").read_text())
    names = [r["name"] for r in rep["runs"]]
    assert [r["strategy"] for r in rep["runs"]] == ["tournament", "solution"]
    for name, run in zip(names, runs):
        mine = {r["iteration"]: r for r in rep["accuracy"] if r["run"] == name}
        for row in _sql(run, "SELECT iteration, count(*) AS n, count(*) FILTER (WHERE correct) AS k "
                             "FROM evals GROUP BY iteration"):
            got = mine[row["iteration"]]
            assert (got["problems"], got["correct"]) == (row["n"], row["k"])
            assert (got["ci_low"], got["ci_high"]) == pytest.approx(wilson_interval(row["k"], row["n"]))
        (loop,) = [r for r in rep["loop"] if r["run"] == name]
        (t,) = _sql(run, "SELECT count(*) AS n, sum(judge_calls)::BIGINT AS jc, sum(gen_tokens)::BIGINT AS gt FROM trees")
        (p,) = _sql(run, "SELECT count(*) AS n, count(*) FILTER (WHERE chosen_correct AND NOT rejected_correct) AS rw, "
                         "count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL) AS ck "
                         "FROM pairs")
        assert loop["problems"] == t["n"] == 6 and loop["pairs"] == p["n"]
        assert loop["pairs_per_problem"] == pytest.approx(p["n"] / t["n"])
        assert loop["judge_calls_per_problem"] == pytest.approx(t["jc"] / t["n"])
        assert loop["gen_tokens_per_problem"] == pytest.approx(t["gt"] / t["n"])
        assert loop["right_over_wrong_share"] == (pytest.approx(p["rw"] / p["ck"]) if p["ck"] else None)
        assert loop["search_wall_seconds"] > 0
    srlm_loop = next(r for r in rep["loop"] if r["run"] == names[1])
    assert srlm_loop["judge_calls_per_problem"] == 3 and srlm_loop["pairs"] > 0  # one score per solution
    paired = {r["iteration"]: r for r in rep["paired"]}
    assert (paired[1]["only_a"], paired[1]["only_b"], paired[1]["difference"], paired[1]["p_value"]) == (0, 0, 0.0, 1.0)
    m2 = paired[2]
    assert (m2["problems"], m2["only_a"], m2["only_b"], m2["both"], m2["neither"]) == (20, 4, 6, 8, 2)
    assert m2["difference"] == pytest.approx((14 - 12) / 20) and m2["p_value"] == pytest.approx(mcnemar_exact(4, 6))


def test_markdown_has_the_tables_and_one_plot(runs, tmp_path):
    a, b = runs
    res = invoke("report", "--run", a.root, "--compare", b.root, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    text = (tmp_path / "compare.md").read_text()
    assert "Paired difference" in text and "right_over_wrong_share" in text and "McNemar" in text
    assert (tmp_path / "plots" / "accuracy.png").read_bytes().startswith(b"\x89PNG")


def test_different_held_out_problems_are_refused(runs, tmp_path, tiny_model_dir):
    from builder.store import Run

    a, _ = runs
    root = tmp_path / "other"
    assert invoke("init", root, "--preset", "demo", "--set", f"models.M1={tiny_model_dir}").exit_code == 0
    _evals(Run.open(root), 1, {0}, ids=HELD_OUT[:15] + ["x1", "x2", "x3", "x4", "x5"])
    res = invoke("report", "--run", a.root, "--compare", root, "--out", tmp_path / "out")
    assert res.exit_code == 2
    assert "other held-out problems" in res.output and "5 only in the first, 5 only in the second" in res.output
    assert not (tmp_path / "out").exists()  # nothing half-written

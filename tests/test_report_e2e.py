"""`psr report` on a run the real pipeline produced: tiny model (random weights), problems, generate,
seal, pairs and eval, then the report's JSON checked against direct DuckDB queries."""

import json

import duckdb
import pytest

from tests.helpers import invoke

SETS = ["search.width=3", "search.max_steps=2", "search.max_step_tokens=6", "search.judge_max_tokens=4",
        "search.max_rollbacks=1", "search.chunk_size=4", "engine.device=cpu", "eval.max_steps=2"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # far faster for the tiny model on a shared CPU
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir):
    path = tmp_path_factory.mktemp("e2e") / "run"
    sets = [x for s in SETS + [f"models.M1={tiny_model_dir}"] for x in ("--set", s)]
    steps = [("init", path, "--preset", "demo", *sets),
             ("problems", "add", "--run", path, "--iter", 1, "--limit", 4),
             ("generate", "--run", path, "--iter", 1, "--quiet"),
             ("seal", "--run", path, "--iter", 1),
             ("pairs", "--run", path, "--iter", 1),
             ("eval", "--run", path, "--iter", 1, "--mode", "greedy", "--limit", 3)]
    for args in steps:
        res = invoke(*args)
        assert res.exit_code == 0, (args[0], res.output)
    return path


def test_report_on_pipeline_run(run_dir, tmp_path):
    res = invoke("report", "--run", run_dir)
    assert res.exit_code == 0, res.output
    md = (run_dir / "report" / "report.md").read_text()
    assert "## Judge consistency" in md and "(plots/accuracy.png)" in md
    res = invoke("report", "--run", run_dir, "--format", "json", "--out", tmp_path)
    rep = json.loads((tmp_path / "report.json").read_text())
    s = rep["sections"]
    # Random weights: the judge rarely parses, so trees often end abandoned with no accepted step;
    # the step-length plot exists exactly when some step was accepted.
    accepted = any(r["accepted_steps"] for r in s["drift"])
    plots = {n: run_dir / "report" / "plots" / f"{n}.png" for n in ("accuracy", "judge_consistency", "step_length")}
    assert plots["accuracy"].read_bytes()[:4] == plots["judge_consistency"].read_bytes()[:4] == b"\x89PNG"
    assert plots["step_length"].exists() == accepted
    assert ("Step length distribution per iteration: no data" in md) == (not accepted)
    con = duckdb.connect()
    def q(sql):
        return con.sql(sql.replace("{D}", str(run_dir / "data"))).fetchall()[0]
    n_j, n_a, n_null = q("SELECT count(*), count(*) FILTER (WHERE verdict = 'A'), count(*) - count(verdict) "
                         "FROM '{D}/judgments/iteration=1/*.parquet'")
    jc = s["judge_consistency"][0]
    assert (jc["judgments"], jc["parseable"]) == (n_j, n_j - n_null)
    if n_j - n_null:
        assert jc["first_position_rate"] == pytest.approx(n_a / (n_j - n_null))
    rounds = q("SELECT count(DISTINCT (parent_id, round)) FROM '{D}/judgments/iteration=1/*.parquet'")[0]
    assert jc["rounds"] == rounds and jc["rounds_skipped"] == 0
    # Every round of 3 candidates holds 1 triad.
    assert jc["triads"] == rounds
    trees, rollbacks, calls = q("SELECT count(*), sum(n_rollbacks), sum(judge_calls) FROM '{D}/trees/iteration=1/*.parquet'")
    vol = s["volume"][0]
    assert (vol["problems"], vol["trees"], vol["rollbacks"], vol["judge_calls"], vol["judgments"]) == (4, trees, rollbacks, calls, n_j)
    pairs = q("SELECT count(*) FROM read_parquet('{D}/pairs/iteration=1/*.parquet')")[0]
    assert vol["pairs"] == pairs
    acc = q("SELECT avg(correct::INT), count(*) FROM '{D}/evals/iteration=1/*.parquet'")
    assert (s["evals"][0]["accuracy"], s["evals"][0]["problems"]) == (pytest.approx(acc[0]), acc[1])
    con.close()

"""The search statistics three ways: `psr generate`'s summary, the manifest's search_totals (Python,
builder/search/driver.py) and `psr report`'s search section (SQL, builder/sql/search.sql) agree,
and match counts taken straight from the tables. The search runs on the SCRIPTED stand-in engine
(tests/scripted_engine.py) through the real library path (run dir, Parquet, manifest, tiny model's
chat renderer), with a step script that makes some rounds identical and a judge that ties some.
"""

import json
import re
from collections import Counter

import pytest

from builder.store import read_table
from tests.helpers import invoke, report_sections, run_with_problems
from tests.scripted_engine import ScriptedEngine, always_a, prefer_lower


def step(request, i):
    """Even seeds: every sample the same step; odd seeds: three distinct bodies among the samples."""
    if request.seed % 2 == 0:
        return "cand 0 same", "stop"
    return f"cand {i % 3}", "stop"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir):
    from builder.search.iteration import generate_iteration

    root = tmp_path_factory.mktemp("srep") / "run"
    run = run_with_problems(root, tiny_model_dir, ["engine.device=cpu", "search.width=3", "search.samples=4",
                                                   "search.max_steps=3", "search.chunk_size=4", "search.max_rollbacks=1"], 8)
    engine = ScriptedEngine(step=step)
    engine.judge = lambda r: always_a(r) if engine.gen_calls % 3 == 0 else prefer_lower(r)
    report = generate_iteration(run, 1, engine=engine)
    assert invoke("seal", "--run", root, "--iter", 1).exit_code == 0
    assert invoke("pairs", "--run", root, "--iter", 1).exit_code == 0
    return run, report


def test_summary_manifest_and_report_agree_with_the_tables(run, tmp_path):
    from builder.commands.generate import _summary

    run, report = run
    nodes = read_table(run, "nodes", 1).to_pylist()
    trees = read_table(run, "trees", 1).to_pylist()
    pairs = read_table(run, "pairs", 1).to_pylist()
    rounds = {}
    for n in nodes:
        if n["parent_id"]:
            rounds.setdefault((n["parent_id"], n["round"]), []).append(n)
    distinct = Counter(sum(n["duplicate_of"] is None for n in g) for g in rounds.values())
    judged = [g for g in rounds.values() if sum(n["judged"] for n in g) >= 2]
    ties = sum(len({n["wins"] for n in g if n["judged"]}) == 1 for g in judged)
    steps = sum(n["on_path"] for n in nodes if n["parent_id"])
    assert distinct[1] > 0 and distinct[3] > 0 and 0 < ties < len(judged)  # the script makes every case

    totals = json.loads(run.manifest_path(1).read_text())["search_totals"]
    assert totals["distinct_hist"] == {str(d): n for d, n in sorted(distinct.items())}
    assert (totals["samples"], totals["sampling_rounds"], totals["single_rounds"]) == \
        (len(nodes) - len(trees), len(rounds), distinct[1])
    assert (totals["judged_rounds"], totals["all_tie_rounds"], totals["accepted_steps"]) == (len(judged), ties, steps)
    assert totals["rollbacks"] == sum(t["n_rollbacks"] for t in trees)
    assert totals["trees_by_status"] == dict(Counter(t["status"] for t in trees))

    line = _summary(report)
    assert f"{len(rounds)} rounds, {len(nodes) - len(trees)} samples" in line
    assert f"{distinct[1]} rounds with one distinct candidate" in line and f"of {len(judged)} judged rounds" in line

    (sec,) = report_sections(run, tmp_path)["search"]
    assert sec["distinct_per_round"] == " ".join(f"{d}:{n}" for d, n in sorted(distinct.items()))
    assert (sec["rounds"], sec["rounds_one_distinct"], sec["rounds_judged"]) == (len(rounds), distinct[1], len(judged))
    assert sec["judge_calls_one_distinct"] == 0 and sec["samples"] == len(nodes) - len(trees)
    assert sec["all_tie_rate"] == pytest.approx(ties / len(judged))
    assert sec["judge_calls_per_step"] == pytest.approx(sum(t["judge_calls"] for t in trees) / steps)
    assert sec["pairs"] == len(pairs) and sec["pairs_per_problem"] == pytest.approx(len(pairs) / len(trees))
    known = [p for p in pairs if p["chosen_correct"] is not None and p["rejected_correct"] is not None]
    assert sec["pairs_right_over_wrong"] == (sum(p["chosen_correct"] and not p["rejected_correct"] for p in known)
                                             if known else None)
    md = invoke("report", "--run", run.root, "--out", tmp_path / "md")
    assert md.exit_code == 0 and "## What the search did" in (tmp_path / "md" / "report.md").read_text()
    assert re.search(r"\| distinct_per_round \| [0-9: ]+ \|", (tmp_path / "md" / "report.md").read_text())


def test_no_judge_call_in_a_round_with_one_distinct_candidate(run):
    run, _ = run
    res = invoke("sql", "SELECT count(*) AS n FROM judgments j JOIN (SELECT parent_id, round FROM nodes "
                 "WHERE parent_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) FILTER (WHERE duplicate_of IS NULL) = 1) o "
                 "USING (parent_id, round)", "--run", run.root, "--format", "csv")
    assert res.exit_code == 0 and res.output.split()[-1] == "0", res.output

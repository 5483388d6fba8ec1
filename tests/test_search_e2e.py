"""End to end on the real tiny model (random weights, hf engine, CPU): generate, seal, pairs, sql,
shards, and resume after SIGKILL. Junk steps and unparseable verdicts are expected from random
weights; every assertion here holds for any text the model writes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from builder.store import Run, read_table
from tests.helpers import invoke, run_with_problems
from tests.search_fixtures import row_hashes

WIDTH = 2
SETS = [f"search.width={WIDTH}", "search.max_steps=2", "search.max_step_tokens=6", "search.judge_max_tokens=4",
        "search.max_rollbacks=1", "search.chunk_size=1", "engine.device=cpu",
        "engine.threads=1"]  # the random model's samples change with the thread count; Ray actors hold one CPU
N_PROBLEMS = 6  # one chunk each: a kill after the first marker lands mid-run


def new_run(path, model_dir):
    return run_with_problems(path, model_dir, SETS, N_PROBLEMS).root


def assert_duplicates_point_at_an_identical_sibling(nodes):
    from builder.steps import norm_body

    by_id = {n["node_id"]: n for n in nodes}
    for n in nodes:
        if n["duplicate_of"] is not None:
            rep = by_id[n["duplicate_of"]]
            assert (rep["parent_id"], rep["round"]) == (n["parent_id"], n["round"]) and not n["judged"]
            assert rep["candidate_index"] < n["candidate_index"] and norm_body(rep["text"]) == norm_body(n["text"])


def assert_pairs_obey_the_rules(pairs, nodes, judgments):
    """Every pair: judged distinct siblings of a round that was not an all-tie, and the chosen step
    won every parseable direct judgment against the rejected one (at least one)."""
    by_id = {n["node_id"]: n for n in nodes}
    for p in pairs:
        c, r = by_id[p["chosen_node"]], by_id[p["rejected_node"]]
        assert c["judged"] and r["judged"] and (c["parent_id"], c["round"]) == (r["parent_id"], r["round"])
        wins = {n["wins"] for n in nodes if n["judged"] and (n["parent_id"], n["round"]) == (c["parent_id"], c["round"])}
        assert len(wins) > 1
        direct = [j["winner"] for j in judgments if {j["node_a"], j["node_b"]} == {c["node_id"], r["node_id"]}
                  and j["winner"] is not None]
        assert direct and set(direct) == {c["node_id"]}


def table_hashes(path) -> dict:
    run = Run.open(path)
    return {t: row_hashes(read_table(run, t, 1).to_pylist()) for t in ("trees", "nodes", "judgments")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir):
    """An uninterrupted, unsharded run and the content hashes of its three tables."""
    path = new_run(tmp_path_factory.mktemp("ref") / "run", tiny_model_dir)
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 0, res.output
    return path, table_hashes(path), res.output


def test_generate_seal_pairs_and_sql(reference, tmp_path):
    import shutil

    src, hashes, output = reference
    assert f"computed {N_PROBLEMS} chunk(s)" in output
    path = tmp_path / "run"
    shutil.copytree(src, path)
    run = Run.open(path)
    trees, nodes = read_table(run, "trees", 1).to_pylist(), read_table(run, "nodes", 1).to_pylist()
    judgments = read_table(run, "judgments", 1).to_pylist()
    assert len(trees) == N_PROBLEMS and {t["status"] for t in trees} <= {"finished", "max_steps", "abandoned"}
    per_round = Counter((j["parent_id"], j["round"]) for j in judgments)
    rounds = Counter((n["parent_id"], n["round"]) for n in nodes if n["parent_id"])
    judged = Counter((n["parent_id"], n["round"]) for n in nodes if n["judged"])
    assert set(rounds.values()) == {WIDTH}
    # only distinct candidates are judged, in both orders; a round with one distinct sample costs nothing
    assert all(per_round[k] == judged[k] * (judged[k] - 1) for k in rounds)
    assert_duplicates_point_at_an_identical_sibling(nodes)
    assert sum(t["judge_calls"] for t in trees) == len(judgments)
    res = invoke("seal", "--run", path, "--iter", 1)
    assert res.exit_code == 0 and "sealed iteration 1" in res.output
    manifest = json.loads(run.manifest_path(1).read_text())
    lin = manifest["lineage"]
    assert lin["engine"][0]["name"] == "hf" and "config.json" in lin["model"] and lin["search"]["width"] == WIDTH
    assert manifest["search_totals"]["judge_calls"] == len(judgments)
    assert invoke("seal", "--run", path, "--iter", 1).output.strip() == "iteration 1 is already sealed"
    res = invoke("generate", "--run", path, "--iter", 1)
    assert res.exit_code == 0 and "iteration 1 is sealed; nothing to do" in res.output
    res = invoke("pairs", "--run", path, "--iter", 1)
    gates = json.loads(run.manifest_path(1).read_text())["derived"]["pairs"]["gates"]
    pairs = read_table(run, "pairs", 1).to_pylist()
    assert res.exit_code == 0 and f"{len(pairs)} pairs ({gates['candidates']} candidates, kept {len(pairs)}" in res.output
    assert_pairs_obey_the_rules(pairs, nodes, judgments)
    res = invoke("sql", "SELECT depth, sum(wins) AS wins, count(*) AS n FROM nodes WHERE depth > 0 GROUP BY depth "
                 "ORDER BY depth", "--run", path, "--format", "csv")
    assert res.exit_code == 0 and res.output.splitlines()[0] == '"depth","wins","n"'
    assert sum(int(line.split(",")[2]) for line in res.output.splitlines()[1:]) == len(nodes) - N_PROBLEMS
    assert invoke("validate", "--run", path).exit_code == 0


def test_shards_together_equal_the_unsharded_run(reference, tmp_path, tiny_model_dir):
    _, hashes, _ = reference
    path = new_run(tmp_path / "run", tiny_model_dir)
    res = invoke("generate", "--run", path, "--iter", 1, "--shard", "0/2", "--quiet")
    assert res.exit_code == 0 and "shard 0/2: computed 3 chunk(s)" in res.output, res.output
    res = invoke("seal", "--run", path, "--iter", 1)
    assert res.exit_code == 1 and "3 of 6 chunks missing or unverified (1, 3, 5)" in res.output
    res = invoke("generate", "--run", path, "--iter", 1, "--shard", "1/2", "--quiet")
    assert res.exit_code == 0 and "computed 3 chunk(s)" in res.output
    assert table_hashes(path) == hashes
    res = invoke("generate", "--run", path, "--iter", 1, "--limit", 2)
    assert res.exit_code == 1 and "another plan" in res.output and "n_problems 6 -> 2" in res.output
    res = invoke("generate", "--run", path, "--iter", 1)
    assert res.exit_code == 0 and "computed 0 chunk(s)" in res.output and "skipped 6 complete" in res.output


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_rows_of_an_uninterrupted_run(reference, tmp_path, tiny_model_dir):
    _, hashes, _ = reference
    path = new_run(tmp_path / "run", tiny_model_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "builder.cli", "generate", "--run", str(path), "--iter", "1", "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = Run.open(path).work_dir(1) / "chunk-00000.json"
    deadline = time.monotonic() + 300
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in first.parent.glob("chunk-*.json"))
    assert "chunk-00000.json" in done and len(done) < N_PROBLEMS, "the kill must land mid-run"
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 0 and f"skipped {len(done)} complete" in res.output, res.output
    assert table_hashes(path) == hashes
    assert not list((path / "data").rglob(".*.tmp-*")) and not list(first.parent.glob(".*.tmp-*"))


def test_mcts_end_to_end_keeps_the_visits_invariant(tmp_path, tiny_model_dir):
    path = tmp_path / "run"
    sets = [x for s in SETS + [f"models.M1={tiny_model_dir}", "search.strategy=mcts", "search.mcts.simulations=3",
                               "search.chunk_size=2"] for x in ("--set", s)]
    assert invoke("init", path, "--preset", "demo", *sets).exit_code == 0
    assert invoke("problems", "add", "--run", path, "--iter", 1, "--limit", 2).exit_code == 0
    res = invoke("generate", "--run", path, "--iter", 1, "-q")
    assert res.exit_code == 0 and "computed 1 chunk(s)" in res.output, res.output
    assert invoke("seal", "--run", path, "--iter", 1).exit_code == 0
    assert invoke("pairs", "--run", path, "--iter", 1).exit_code == 0
    run = Run.open(path)
    nodes = read_table(run, "nodes", 1).to_pylist()
    kids = {n["node_id"]: [] for n in nodes}
    for n in nodes:
        if n["parent_id"]:
            kids[n["parent_id"]].append(n)
    for n in nodes:
        if kids[n["node_id"]]:
            assert n["visits"] == 1 + sum(c["visits"] for c in kids[n["node_id"]])
        if n["parent_id"] is None:
            assert 1 <= n["visits"] <= 3  # 3 simulations, fewer when one expansion solved the tree
    assert_pairs_obey_the_rules(read_table(run, "pairs", 1).to_pylist(), nodes, read_table(run, "judgments", 1).to_pylist())
    assert_duplicates_point_at_an_identical_sibling(nodes)
    assert {t["strategy"] for t in read_table(run, "trees", 1).to_pylist()} == {"mcts"}

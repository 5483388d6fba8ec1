"""Pair extraction: candidates, gates and their counts, and the store flow generate -> seal -> pairs.

The store flow runs the SCRIPTED stand-in engine (tests/scripted_engine.py) through the real
library path (real run dir, Parquet, manifest, chat renderer of the tiny model), so pairs exist;
the tiny random model judges nothing parseable, so its end-to-end run (test_search_e2e) has none.
"""

import json

import pytest

from builder.config import Pairs
from builder.pairs import GATES, candidate_pairs, extract_pairs, gate
from tests.helpers import invoke, run_with_problems
from tests.scripted_engine import ScriptedEngine, hashed


def node(nid, parent, rnd, idx, text, wins, on_path=False, terminal=False, tree="1-p", judged=True, dup=None):
    return {"node_id": f"{tree}/{nid}", "tree_id": tree, "parent_id": None if parent is None else f"{tree}/{parent}", "depth": 1,
            "round": rnd, "candidate_index": idx, "text": text, "wins": wins, "on_path": on_path,
            "is_terminal": terminal, "visits": None, "value": None, "step_correct": None,
            "judged": judged and parent is not None, "duplicate_of": None if dup is None else f"{tree}/{dup}"}


def judgment(parent, rnd, a, b, verdict, tree="1-p"):
    na, nb = f"{tree}/{a}", f"{tree}/{b}"
    return {"parent_id": f"{tree}/{parent}", "round": rnd, "node_a": na, "node_b": nb, "verdict": verdict,
            "winner": {"A": na, "B": nb, None: None}[verdict]}


def tree(tid="1-p"):
    return {"tree_id": tid, "problem_id": "p", "strategy": "tournament"}


def test_gates_in_order():
    cfg = Pairs(min_margin=2, max_prompt_chars=50, max_step_chars=30)
    ok = ("Step 1: 3 + 4 = 7\n", "Step 1: 3 + 4 = 8\n")
    assert gate(*ok, margin=2, prompt="p", cfg=cfg) is None
    assert gate("Step 1: \n", ok[1], 5, "p", cfg) == "empty"
    assert gate(ok[0], "Step 1:   3 +  4 = 7 \n", 5, "p", cfg) == "identical"
    assert gate(*ok, margin=1, prompt="p", cfg=cfg) == "margin"
    assert gate(*ok, margin=2, prompt="x" * 51, cfg=cfg) == "prompt_too_long"
    assert gate(ok[0], "Step 1: " + "9" * 40 + "\n", 2, "p", cfg) == "step_too_long"
    assert gate("Step 1: \n", "Step 1: \n", 0, "x" * 99, cfg) == "empty"  # first failing gate counts
    assert gate(*ok, margin=0, prompt="p", cfg=Pairs()) is None  # min_margin 0: no margin gate
    assert gate(*ok, margin=2, prompt="p", cfg=cfg, won_head_to_head=False) == "head_to_head"
    assert gate(*ok, margin=2, prompt="p", cfg=Pairs(require_head_to_head=False), won_head_to_head=False) is None


def test_head_to_head_needs_every_parseable_direct_judgment_won():
    from builder.pairs import head_to_head

    js = [judgment(0, 1, 1, 2, "A"), judgment(0, 1, 2, 1, "B"), judgment(0, 1, 1, 3, "B"), judgment(0, 1, 3, 1, None)]
    assert head_to_head(js, "1-p/1", "1-p/2")  # won both orders
    assert not head_to_head(js, "1-p/2", "1-p/1")
    assert not head_to_head(js, "1-p/1", "1-p/3")  # lost its only parseable comparison
    assert not head_to_head(js[:2] + [judgment(0, 1, 2, 1, "A")], "1-p/1", "1-p/2")  # one order lost
    assert head_to_head(js[:1] + [judgment(0, 1, 2, 1, None)], "1-p/1", "1-p/2")  # unparseable ignored
    assert not head_to_head([judgment(0, 1, 1, 2, None)], "1-p/1", "1-p/2")  # no parseable comparison at all


def test_candidates_skip_rolled_back_rounds_and_counts_add_up():
    nodes = [
        node(0, None, 0, None, "", None, on_path=True),
        # round 1: candidate 1 accepted, then rolled back (on_path false): no pair
        node(1, 0, 1, 0, "Step 1: a\n", 1), node(2, 0, 1, 1, "Step 1: b\n", 3), node(3, 0, 1, 2, "Step 1: c\n", 2),
        # round 3: re-sampled step 1, candidate 0 accepted; worst = lowest wins, ties to lowest index
        node(4, 0, 3, 0, "Step 1: d\n", 4, on_path=True), node(5, 0, 3, 1, "Step 1: e\n", 0),
        node(6, 0, 3, 2, "Step 1: \n", 0),
        # step 2: accepted vs an identical rejected one (gate "identical")
        node(7, 4, 4, 0, "Step 2: same\n", 2, on_path=True), node(8, 4, 4, 1, "Step 2:  same \n", 0),
        # an all-tie round (no accepted candidate): no pair
        node(9, 7, 5, 0, "Step 3: x\n", 1), node(10, 7, 5, 1, "Step 3: y\n", 1),
        # an all-tie round whose first candidate was accepted with the budget spent: no pair
        node(11, 7, 6, 0, "Step 3: z\n", 1, on_path=True), node(12, 7, 6, 1, "Step 3: w\n", 1),
        # a duplicate (wins = its representative's) and a distinct sample beyond width never pair
        node(13, 11, 7, 0, "Step 4: p\n", 2, on_path=True), node(14, 11, 7, 1, "Step 4: q\n", 0),
        node(15, 11, 7, 2, "Step 4: q\n", 0, judged=False, dup=14), node(16, 11, 7, 3, "Step 4: r\n", None, judged=False),
    ]
    cands = candidate_pairs(nodes, {"1-p": "tournament"})
    assert [(c["node_id"], r["node_id"]) for c, r in cands] == [("1-p/4", "1-p/5"), ("1-p/7", "1-p/8"), ("1-p/13", "1-p/14")]
    judgments = [judgment(0, 3, 4, 5, "A"), judgment(0, 3, 5, 4, "B"), judgment(4, 4, 7, 8, "A"),
                 judgment(11, 7, 13, 14, "B"), judgment(11, 7, 14, 13, "B")]  # 14 beat 13 once: fails the gate
    rows, gates = extract_pairs([tree()], nodes, judgments, {"p": "Q"}, lambda p, s: p + "|" + "".join(s), Pairs(), 1)
    assert gates["candidates"] == 3 and gates["kept"] == 1 and gates["dropped"]["identical"] == 1
    assert gates["dropped"]["head_to_head"] == 1
    assert gates["candidates"] == gates["kept"] + sum(gates["dropped"].values())
    assert set(gates["dropped"]) == set(GATES)
    (row,) = rows
    assert (row["prompt"], row["prefix"], row["margin"], row["pair_id"]) == ("Q|", "", 4.0, "1-p/0#3")
    assert (row["chosen"], row["rejected"], row["is_final_step"]) == ("Step 1: d\n", "Step 1: e\n", False)


@pytest.fixture
def scripted_run(tmp_path, tiny_model_dir):
    """A real run dir whose iteration 1 was searched by the scripted stand-in engine."""
    from builder.search.iteration import generate_iteration

    run = run_with_problems(tmp_path / "run", tiny_model_dir, ["engine.device=cpu", "search.width=3", "search.max_steps=3",
                                                               "search.chunk_size=4", "search.max_rollbacks=2"], 10)
    engine = ScriptedEngine()
    # every even round is an all-tie (always [[A]] in both orders): accepted steps get rolled back
    engine.judge = lambda r: "[[A]]" if engine.gen_calls % 2 == 0 else hashed(r)
    report = generate_iteration(run, 1, engine=engine)
    # the demo's forced verdicts add one scoring call per round with outputs lacking a verdict
    assert report.computed == [0, 1, 2] and report.stats.engine_calls == len(engine.calls) + len(engine.score_calls)
    return run, engine


def test_store_flow_pairs_reference_real_nodes_and_are_recorded(scripted_run):
    from builder.store import load_manifest, read_table

    run, engine = scripted_run
    root = run.root
    res = invoke("pairs", "--run", root, "--iter", 1)
    assert res.exit_code == 1 and "needs iteration 1 sealed" in res.output
    res = invoke("seal", "--run", root, "--iter", 1)
    assert res.exit_code == 0 and "sealed iteration 1" in res.output
    res = invoke("pairs", "--run", root, "--iter", 1)
    assert res.exit_code == 0, res.output
    pairs = read_table(run, "pairs", 1).to_pylist()
    nodes = {n["node_id"]: n for n in read_table(run, "nodes", 1).to_pylist()}
    gates = load_manifest(run, 1)["derived"]["pairs"]["gates"]
    assert len(pairs) == gates["kept"] > 0 and f"{len(pairs)} pairs" in res.output
    assert gates["candidates"] == gates["kept"] + sum(gates["dropped"].values())
    gen_prompts = {r.prompt for call in engine.calls for r in call if r.stop}
    judgments = read_table(run, "judgments", 1).to_pylist()
    for p in pairs:
        c, r = nodes[p["chosen_node"]], nodes[p["rejected_node"]]
        assert c["parent_id"] == r["parent_id"] == p["parent_id"] and c["round"] == r["round"]
        assert c["on_path"] and (c["wins"], r["wins"]) == (p["chosen_wins"], p["rejected_wins"])
        round_wins = [n["wins"] for n in nodes.values()
                      if (n["parent_id"], n["round"], n["judged"]) == (c["parent_id"], c["round"], True)]
        assert c["wins"] == max(round_wins) and r["wins"] == min(round_wins) < max(round_wins)  # not an all-tie
        direct = [j["winner"] for j in judgments if {j["node_a"], j["node_b"]} == {c["node_id"], r["node_id"]}]
        assert c["node_id"] in direct and r["node_id"] not in direct  # the head-to-head gate
        assert p["prompt"] in gen_prompts and p["prompt"].endswith(p["prefix"])
        assert (p["chosen"], p["rejected"]) == (c["text"], r["text"])
    rounds = {}
    for n in nodes.values():
        if n["parent_id"]:
            rounds.setdefault((n["parent_id"], n["round"]), []).append(n)
    # decisive rounds whose winner is not on the path: it was accepted, then rolled back
    rolled_back = [g for g in rounds.values() if len({n["wins"] for n in g}) > 1 and not any(n["on_path"] for n in g)]
    assert rolled_back, "the scripted verdicts should cause at least one rollback of an accepted step"
    paired = {p["chosen_node"] for p in pairs} | {p["rejected_node"] for p in pairs}
    assert not paired & {n["node_id"] for g in rolled_back for n in g}
    again = invoke("pairs", "--run", root, "--iter", 1)
    assert again.exit_code == 0 and "already extracted" in again.output
    assert invoke("pairs", "--run", root, "--iter", 1, "--force").exit_code == 0
    assert read_table(run, "pairs", 1).num_rows == len(pairs)
    manifest = json.loads(run.manifest_path(1).read_text())
    assert manifest["tables"]["pairs"]["rows"] == len(pairs)


def test_force_on_a_sealed_iteration_removes_its_data_and_redoes_it(scripted_run):
    from builder.search.iteration import generate_iteration
    from builder.store import is_sealed, read_table
    from tests.search_fixtures import row_hashes

    run, _ = scripted_run
    before = {t: row_hashes(read_table(run, t, 1).to_pylist()) for t in ("trees", "nodes", "judgments")}
    assert invoke("seal", "--run", run.root, "--iter", 1).exit_code == 0
    assert invoke("pairs", "--run", run.root, "--iter", 1).exit_code == 0
    assert generate_iteration(run, 1, engine=ScriptedEngine()).sealed  # no force: nothing to do
    engine = ScriptedEngine()
    engine.judge = lambda r: "[[A]]" if engine.gen_calls % 2 == 0 else hashed(r)
    report = generate_iteration(run, 1, force=True, engine=engine)
    names = {p.name for p in report.removed}
    assert "iteration=1.json" in names and "part-pairs.parquet" in names and "chunk-00000.json" in names
    assert not is_sealed(run, 1) and read_table(run, "pairs", 1).num_rows == 0
    assert report.computed == [0, 1, 2]
    assert {t: row_hashes(read_table(run, t, 1).to_pylist()) for t in before} == before


ZERO_PAIRS = {  # strategy: (why, remedies)
    "tournament": ("no round expressed a preference", ("search.judge_orders: one", "more problems",
                                                        "search.samples > search.width")),
    "solution": ("no tree had two solutions with different scores", ("search.judge_samples > 1", "more problems")),
}


@pytest.mark.parametrize("strategy", sorted(ZERO_PAIRS))
def test_zero_pairs_is_a_clear_outcome_and_export_refuses_it(tmp_path, tiny_model_dir, strategy):
    """A purely position-biased judge (always [[A]], SCRIPTED stand-in engine) with both orders ties
    every judged round; as a solution scorer it never gives a score. `psr pairs` writes 0 pairs and
    says why; `psr export` is a one-line exit-1 error naming the iteration and the remedies, and
    writes nothing (M2 is never faked from M1)."""
    from pathlib import Path

    from builder.search.iteration import generate_iteration
    from builder.store import Run, load_manifest, read_table
    from tests.scripted_engine import always_a

    root = tmp_path / "run"
    assert invoke("init", root, "--preset", "demo", "--set", f"models.M1={tiny_model_dir}", "--set", "engine.device=cpu",
                  "--set", "search.width=3", "--set", "search.max_steps=2", "--set", "search.judge_orders=both",
                  "--set", f"search.strategy={strategy}").exit_code == 0
    assert invoke("problems", "add", "--run", root, "--iter", 1, "--limit", 4).exit_code == 0
    run = Run.open(root)
    generate_iteration(run, 1, engine=ScriptedEngine(judge=always_a))
    assert invoke("seal", "--run", root, "--iter", 1).exit_code == 0
    res = invoke("pairs", "--run", root, "--iter", 1)
    assert res.exit_code == 0, res.output
    assert "iteration 1: 0 pairs (0 candidates, kept 0" in res.output
    why, remedies = ZERO_PAIRS[strategy]
    assert why in res.output and remedies[0] in res.output
    assert read_table(run, "pairs", 1).num_rows == 0 and load_manifest(run, 1)["derived"]["pairs"]["gates"]["kept"] == 0
    again = invoke("pairs", "--run", root, "--iter", 1)
    assert "already extracted" in again.output and "0 pairs" in again.output

    res = invoke("export", "--run", root, "--iter", 1)
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: iteration 1: 0 pairs (0 candidates") and "Traceback" not in res.output
    for remedy in (why, *remedies, f"psr generate --run {root} --iter 1 --force"):
        assert remedy in lines[0]
    assert not run.trainer_dir(1).exists() or not any(run.trainer_dir(1).iterdir())
    assert not Path(run.model_path(2)).exists()

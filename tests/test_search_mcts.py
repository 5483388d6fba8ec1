"""Judge-guided MCTS, driven by the SCRIPTED stand-in engine (tests/scripted_engine.py).

Pins the definitions of builder/search/mcts.py: the visits invariant, values as mean of prior and
backed-up values, the final path, and best/worst pairs by value.
"""

import math

import pytest

from builder.prompts import ChatRenderer
from builder.search import mcts, run_search
from builder.search.state import Node
from tests.scripted_engine import ScriptedEngine, hashed, prefer_lower
from tests.search_fixtures import arith_problems, search_cfg, siblings, templates


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def run_mcts(renderer, engine, n=3, sims=6, **cfg):
    cfg = search_cfg(strategy="mcts", mcts={"simulations": sims, "c_puct": 1.0}, **cfg)
    return run_search(engine, renderer, arith_problems(n), cfg, templates(), seed=11, iteration=2)


def children_of(nodes):
    out = {n["node_id"]: [] for n in nodes}
    for n in nodes:
        if n["parent_id"]:
            out[n["parent_id"]].append(n)
    return out


def test_visits_invariant(renderer):
    """visits(n) = sum of children's visits + simulations ended at n; an expanded node ended exactly one."""
    res = run_mcts(renderer, ScriptedEngine(judge=hashed), n=4, sims=7, width=3, max_steps=3)
    kids = children_of(res.nodes)
    for n in res.nodes:
        if kids[n["node_id"]]:
            assert n["visits"] == 1 + sum(c["visits"] for c in kids[n["node_id"]]), n["node_id"]
    for t in res.trees:
        root = next(n for n in res.nodes if n["node_id"] == f"{t['tree_id']}/0")
        assert root["visits"] == 7 == t["n_rounds"]
        assert t["n_rollbacks"] == 0


def test_values_are_means_of_prior_and_backups(renderer):
    res = run_mcts(renderer, ScriptedEngine(judge=hashed), n=2, sims=5)
    for n in res.nodes:
        assert n["visits"] is not None and n["value"] is not None
        if n["parent_id"] and n["visits"] == 0:
            assert n["value"] == pytest.approx(n["wins"] / 4)  # width 3, both orders: 4 judgments each
        assert 0.0 <= n["value"] <= 1.0


def test_terminal_nodes_are_evaluated_not_expanded(renderer):
    """Every candidate boxes an answer: after the root's expansion no more generation requests."""
    engine = ScriptedEngine(step=lambda r, i: (f"cand {i} \\boxed{{{i}}}", "stop"), judge=prefer_lower)
    res = run_mcts(renderer, engine, n=3, sims=5)
    gen_calls = [c for c in engine.calls if any(r.stop for r in c)]
    assert len(gen_calls) == 1 and len(engine.calls) == 2
    assert all(t["status"] == "finished" and t["n_steps"] == 1 for t in res.trees)
    kids = children_of(res.nodes)
    roots = [n for n in res.nodes if n["parent_id"] is None]
    assert all(r["visits"] == 5 == 1 + sum(c["visits"] for c in kids[r["node_id"]]) for r in roots)


def test_final_path_follows_best_value(renderer):
    res = run_mcts(renderer, ScriptedEngine(judge=hashed), n=3, sims=8, max_steps=4)
    by_id = {n["node_id"]: n for n in res.nodes}
    kids = children_of(res.nodes)
    for t in res.trees:
        node = by_id[f"{t['tree_id']}/0"]
        steps = 0
        while kids[node["node_id"]]:
            best = max(kids[node["node_id"]], key=lambda c: (c["value"], c["visits"], -c["candidate_index"]))
            assert best["on_path"] and sum(c["on_path"] for c in kids[node["node_id"]]) == 1
            node, steps = best, steps + 1
        assert t["n_steps"] == steps
        assert t["status"] == ("finished" if node["is_terminal"] else "max_steps")


def test_one_generation_and_one_judge_call_per_round(renderer):
    for n in (2, 12):
        engine = ScriptedEngine(judge=hashed)
        res = run_mcts(renderer, engine, n=n, sims=4, max_steps=6)
        assert len(engine.calls) == 8 == res.stats.engine_calls
        assert [len(c) for c in engine.calls][::2] == [n] * 4  # every tree expands once per round


def test_puct_prefers_unvisited_siblings_at_equal_value():
    parent = Node("t/0", None, 0, 0, None, visits=4)
    a = Node("t/1", parent, 1, 1, 0, visits=3, prior=0.5, backed_sum=1.5)
    b = Node("t/2", parent, 1, 1, 1, visits=0, prior=0.5)
    assert a.value == b.value == 0.5
    assert mcts.puct(b, 4, 2, 1.0) > mcts.puct(a, 4, 2, 1.0)
    assert mcts.puct(b, 4, 2, 1.0) == pytest.approx(0.5 + 0.5 * math.sqrt(4) / 1)


def test_mcts_pairs_have_chosen_value_at_least_rejected(renderer):
    from builder.config import Pairs
    from builder.pairs import extract_pairs

    res = run_mcts(renderer, ScriptedEngine(judge=hashed), n=4, sims=8, max_steps=4)
    problems = {p["problem_id"]: p["problem"] for p in arith_problems(4)}
    rows, gates = extract_pairs(res.trees, res.nodes, problems, lambda p, s: p + "".join(s), Pairs(), 2)
    expanded = [k for k, g in siblings(res.nodes).items() if len(g) >= 2]
    assert gates["candidates"] == len(expanded) > 0
    by_id = {n["node_id"]: n for n in res.nodes}
    for r in rows:
        c, j = by_id[r["chosen_node"]], by_id[r["rejected_node"]]
        assert c["parent_id"] == j["parent_id"] == r["parent_id"] and c["node_id"] != j["node_id"]
        assert c["value"] >= j["value"] and r["margin"] == pytest.approx(c["value"] - j["value"])

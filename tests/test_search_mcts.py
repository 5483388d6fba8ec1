"""MCTS with self-consistency rollouts, driven by the SCRIPTED stand-in engine (tests/scripted_engine.py).

Pins the rules of builder/search/mcts.py: the visits invariant, priors from judged win rates, leaf
evaluation from rollout agreement with the tree's plurality answer blended with the win rate,
solved leaves never re-selected, simulations reaching max_steps, the final path by visits, and
pairs by value with none from an all-tie round.
"""

import math
import re

import pytest

from builder.prompts import ChatRenderer
from builder.search import mcts, run_search
from builder.search.state import Node
from tests.scripted_engine import ScriptedEngine, hashed, prefer_lower
from tests.search_fixtures import arith_problems, search_cfg, siblings, templates


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def hashed_rollout(request, i):
    """Continuations that end in one of three boxed answers, by seed and index."""
    return f"Step 2: so \\boxed{{{(request.seed + i) % 3}}}", "eos"


def run_mcts(renderer, engine, n=3, sims=6, problems=None, checker=None, **cfg):
    mcts_cfg = {"simulations": sims, "c_puct": 1.0, **cfg.pop("mcts", {})}
    cfg = search_cfg(strategy="mcts", mcts=mcts_cfg, **cfg)
    return run_search(engine, renderer, problems or arith_problems(n), cfg, templates(), seed=11, checker=checker,
                      iteration=2)


def children_of(nodes):
    out = {n["node_id"]: [] for n in nodes}
    for n in nodes:
        if n["parent_id"]:
            out[n["parent_id"]].append(n)
    return out


def assert_visits_invariant(res):
    kids = children_of(res.nodes)
    for n in res.nodes:
        if kids[n["node_id"]]:
            assert n["visits"] == 1 + sum(c["visits"] for c in kids[n["node_id"]]), n["node_id"]
        elif n["parent_id"]:
            assert n["visits"] == 0
    for t in res.trees:
        root = next(n for n in res.nodes if n["node_id"] == f"{t['tree_id']}/0")
        assert root["visits"] == t["n_rounds"] and t["n_rollbacks"] == 0


def test_visits_invariant(renderer):
    """visits(n) = sum of children's visits + 1 for an expanded node; root visits = simulations."""
    res = run_mcts(renderer, ScriptedEngine(judge=hashed, rollout=hashed_rollout), n=4, sims=7, width=3, max_steps=3)
    assert_visits_invariant(res)
    assert {t["n_rounds"] for t in res.trees} == {7}


def test_leaf_evaluation_blends_rollout_agreement_and_win_rate(renderer):
    res = run_mcts(renderer, ScriptedEngine(judge=hashed, rollout=hashed_rollout), n=2, sims=5,
                   mcts={"rollouts": 3, "rollout_weight": 0.25})
    fresh = [n for n in res.nodes if n["parent_id"] and n["visits"] == 0 and n["judged"]]
    assert fresh
    for n in fresh:
        assert n["rollout_score"] in (0.0, 1 / 3, 2 / 3, 1.0)
        # width 3, both orders: 4 judgments each
        assert n["value"] == pytest.approx(0.25 * n["rollout_score"] + 0.75 * n["wins"] / 4)
    assert all(0.0 <= n["value"] <= 1.0 for n in res.nodes if n["value"] is not None)
    no_rollouts = run_mcts(renderer, ScriptedEngine(judge=hashed), n=2, sims=5, mcts={"rollouts": 0})
    for n in no_rollouts.nodes:
        if n["parent_id"] and n["visits"] == 0 and n["judged"]:
            assert n["rollout_score"] is None and n["value"] == pytest.approx(n["wins"] / 4)


def test_solved_leaves_are_not_reselected(renderer):
    """Every candidate boxes an answer: one expansion solves the tree, no simulation is wasted."""
    engine = ScriptedEngine(step=lambda r, i: (f"cand {i} \\boxed{{{i}}}", "stop"), judge=prefer_lower,
                            rollout=hashed_rollout)
    res = run_mcts(renderer, engine, n=3, sims=5)
    assert len(engine.calls) == 2  # generation, judging; terminal candidates need no rollout
    assert all((t["status"], t["n_steps"], t["n_rounds"]) == ("finished", 1, 1) for t in res.trees)
    assert_visits_invariant(res)


def test_simulations_reach_max_steps(renderer):
    res = run_mcts(renderer, ScriptedEngine(judge=prefer_lower, rollout=hashed_rollout), n=2, sims=2, max_steps=5)
    assert {t["n_rounds"] for t in res.trees} == {5}
    assert_visits_invariant(res)


def test_final_path_follows_visits(renderer):
    res = run_mcts(renderer, ScriptedEngine(judge=hashed, rollout=hashed_rollout), n=3, sims=8, max_steps=4)
    by_id = {n["node_id"]: n for n in res.nodes}
    kids = children_of(res.nodes)
    for t in res.trees:
        node = by_id[f"{t['tree_id']}/0"]
        steps = 0
        while [c for c in kids[node["node_id"]] if c["value"] is not None]:
            evaluated = [c for c in kids[node["node_id"]] if c["value"] is not None]
            best = max(evaluated, key=lambda c: (c["visits"], c["value"], -c["candidate_index"]))
            assert best["on_path"] and sum(c["on_path"] for c in kids[node["node_id"]]) == 1
            node, steps = best, steps + 1
        assert t["n_steps"] == steps
        assert t["status"] == ("finished" if node["is_terminal"] else "max_steps")


def test_one_call_per_phase_per_round_whatever_the_number_of_problems(renderer):
    for n in (2, 12):
        engine = ScriptedEngine(judge=hashed, rollout=hashed_rollout)
        res = run_mcts(renderer, engine, n=n, sims=4, max_steps=4)
        assert len(engine.calls) == 12 == res.stats.engine_calls  # generation, judging, rollouts
        assert [len(c) for c in engine.calls][::3] == [n] * 4  # every tree expands once per round
        assert [len(c) for c in engine.calls][2::3] == [3 * n] * 4  # one rollout request per candidate


def test_puct_uses_the_judged_prior():
    parent = Node("t/0", None, 0, 0, None, visits=4)
    a = Node("t/1", parent, 1, 1, 0, visits=0, prior=0.2, evaluation=0.5)
    b = Node("t/2", parent, 1, 1, 1, visits=0, prior=0.8, evaluation=0.5)
    assert a.value == b.value == 0.5
    assert mcts.puct(b, 4, 1.0) > mcts.puct(a, 4, 1.0)
    assert mcts.puct(b, 4, 1.0) == pytest.approx(0.5 + 0.8 * math.sqrt(4) / 1)
    b.visits, b.backed_sum = 3, 0.5
    assert b.value == pytest.approx((0.5 + 0.5) / 4)


def consistency_engine():
    """Step 1 candidates: 'cand 0 bad', 'cand 1 good', 'cand 2 bad'. Every rollout below 'good' ends
    in \\boxed{42}; every other rollout ends in an answer of its own. The judge prefers the lower
    index at step 1 (so it ranks 'bad' 0 above 'good') and ties everything deeper (always [[A]])."""
    def step(r, i):
        if "Step 1:" not in r.prompt:
            return f"cand {i} {'good' if i == 1 else 'bad'}", "stop"
        return f"cand {i} s{r.seed % 1000}", "stop"

    def judge(r):
        return "[[A]]" if "Step 1:" in r.prompt.split("A: ")[0] else prefer_lower(r)

    def rollout(r, i):
        if "good" in r.prompt:
            return "Step 9: \\boxed{42}", "eos"
        return f"Step 9: \\boxed{{{r.seed % 100000 * 10 + i}}}", "eos"

    return ScriptedEngine(step=step, judge=judge, rollout=rollout)


def test_self_consistent_first_step_wins_the_path_and_the_pair(renderer):
    from builder.config import Pairs
    from builder.pairs import extract_pairs
    from builder.tasks import get_task

    problems = arith_problems(3)
    res = run_mcts(renderer, consistency_engine(), problems=problems, sims=8, max_steps=3,
                   checker=get_task("arithmetic"))
    by_id = {n["node_id"]: n for n in res.nodes}
    for t in res.trees:
        first = next(n for n in res.nodes if n["tree_id"] == t["tree_id"] and n["on_path"] and n["depth"] == 1)
        assert "good" in first["text"]
    rows, gates = extract_pairs(res.trees, res.nodes, res.judgments, {p["problem_id"]: p["problem"] for p in problems},
                                lambda p, s: p + "".join(s), Pairs(), 2)
    assert len(rows) == 3 and all(r["depth"] == 1 and "good" in r["chosen"] for r in rows)
    for r in rows:
        assert by_id[r["chosen_node"]]["value"] > by_id[r["rejected_node"]]["value"]
    tied = [g for g in siblings(res.nodes).values() if g[0]["depth"] > 1 and len(g) > 1]
    assert tied and gates["candidates"] == 3  # the all-tie rounds below step 1 give no candidate at all
    assert_visits_invariant(res)
    # No gold answer is read: other gold answers give the same search.
    other = [dict(p, answer="42") for p in problems]
    again = run_mcts(renderer, consistency_engine(), problems=other, sims=8, max_steps=3, checker=get_task("arithmetic"))
    strip = lambda res: [(n["node_id"], n["visits"], n["value"], n["on_path"]) for n in res.nodes]  # noqa: E731
    assert strip(again) == strip(res)
    assert re.search(r"\d", problems[0]["answer"]) and problems[0]["answer"] != "42"

"""The policy's greedy step in the tournament: `search.greedy_candidate` (it is candidate 0 of every
round) and `search.record_greedy` (it is recorded on the round's parent, nodes.greedy_step and
greedy_step_correct, without changing the search).

Scripted engine for the rules (tests/scripted_engine.py: the model's outputs are scripted, the
renderer, config, search and the arithmetic task's step checker are real); the real tiny model
(hf engine) for "the measurement leaves the search alone" and "identical on rerun".
"""

import re

import pytest

from builder.config import Search
from builder.prompts import ChatRenderer
from builder.search import run_search
from builder.tasks import get_task
from tests.scripted_engine import ScriptedEngine, always_a, candidate_step, hashed
from tests.search_fixtures import arith_problems, row_hashes, search_cfg, siblings, templates

GREEDY_COLS = ("greedy_step", "greedy_step_correct")


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def greedy_or_sampled(request, i):
    """A temperature-0 request answers 'greedy' plus the prompt's length (one step per prefix);
    sampled ones are the default 'cand i' steps."""
    if request.temperature == 0:
        return f"greedy {len(request.prompt)}", "stop"
    return candidate_step(request, i)


def search(renderer, engine, checker=None, n=6, **cfg):
    return run_search(engine, renderer, arith_problems(n), search_cfg(**cfg), templates(), seed=5,
                      checker=checker, iteration=1)


def test_greedy_candidate_is_candidate_zero_of_every_round(renderer):
    engine = ScriptedEngine(step=greedy_or_sampled, judge=always_a)  # both orders: every round ties, rolls back
    res = search(renderer, engine, width=3, max_rollbacks=2, greedy_candidate=True)
    by_id = {n["node_id"]: n for n in res.nodes}
    rounds = siblings(res.nodes)
    for (parent, _), group in rounds.items():
        assert [n["candidate_index"] for n in group] == [0, 1, 2]
        assert [n["is_greedy"] for n in group] == [True, False, False]
        assert group[0]["text"] == by_id[parent]["greedy_step"] and group[0]["text"].startswith("Step ")
        assert "greedy" in group[0]["text"] and not any("greedy" in n["text"] for n in group[1:])
    sampling = [r for c in engine.calls for r in c if r.stop and r.temperature > 0]
    greedy = [r for c in engine.calls for r in c if r.stop and r.temperature == 0]
    assert sampling and {r.n for r in sampling} == {2}  # w - 1 samples beside the greedy step
    # one greedy request per parent: a rollback re-samples the same prefix and reuses its step
    parents = {parent for parent, _ in rounds}
    assert len(rounds) > len(parents) and len(greedy) == len(parents) == res.stats.greedy_requests
    assert all(r.n == 1 for r in greedy)
    # the greedy requests travel in the round's generation call: no extra engine calls
    assert engine.gen_calls == res.stats.rounds


def test_greedy_candidate_never_counts_as_a_duplicate_and_samples_equal_to_it_are(renderer):
    def step(request, i):  # the first sample writes the greedy step again (same prompt, same text)
        return greedy_or_sampled(request, i) if i else (f"greedy {len(request.prompt)}", "stop")

    res = search(renderer, ScriptedEngine(step=step, judge=hashed), width=3, greedy_candidate=True)
    for group in siblings(res.nodes).values():
        greedy, dup, other = group
        assert greedy["is_greedy"] and greedy["duplicate_of"] is None and greedy["judged"]
        assert dup["duplicate_of"] == greedy["node_id"] and not dup["judged"]
        assert other["duplicate_of"] is None


def test_record_greedy_records_every_parent_and_leaves_the_search_unchanged(renderer):
    off = search(renderer, ScriptedEngine(step=greedy_or_sampled, judge=hashed), width=3)
    engine = ScriptedEngine(step=greedy_or_sampled, judge=hashed)
    on = search(renderer, engine, width=3, record_greedy=True)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in GREEDY_COLS} for r in rows]  # noqa: E731
    assert row_hashes(strip(on.nodes)) == row_hashes(strip(off.nodes))
    assert row_hashes(on.judgments) == row_hashes(off.judgments) and row_hashes(on.trees) != []
    parents = {n["parent_id"] for n in on.nodes if n["parent_id"] is not None}
    recorded = {n["node_id"] for n in on.nodes if n["greedy_step"] is not None}
    assert recorded == parents and on.stats.greedy_requests == len(parents)
    assert not any(n["is_greedy"] for n in on.nodes)
    assert all(n["greedy_step"] is None and not n["is_greedy"] for n in off.nodes)
    assert {r.n for c in engine.calls for r in c if r.stop and r.temperature > 0} == {3}


def test_greedy_step_is_checked_by_the_step_checker(renderer):
    """Greedy writes the right step 1 (a + b = a+b), samples a wrong one; the checker labels both
    the parent's greedy_step_correct and the greedy candidate's step_correct."""

    def step(request, i):
        a, b = map(int, re.search(r"(\d+) \+ (\d+) - 1", request.prompt).groups())
        if "Step 1:" in request.prompt:
            return f"cand {i} junk", "stop"
        return (f"{a} + {b} = {a + b}", "stop") if request.temperature == 0 else (f"{a} + {b} = {a + b + 1 + i}", "stop")

    res = search(renderer, ScriptedEngine(step=step, judge=hashed), checker=get_task("arithmetic"), n=4, width=3,
                 greedy_candidate=True)
    roots = [n for n in res.nodes if n["parent_id"] is None]
    assert {n["greedy_step_correct"] for n in roots} == {True}
    first = [n for n in res.nodes if n["depth"] == 1]
    assert first and all(n["step_correct"] == n["is_greedy"] for n in first)
    by_id = {n["node_id"]: n for n in res.nodes}
    for n in res.nodes:
        if n["is_greedy"]:
            assert n["step_correct"] == by_id[n["parent_id"]]["greedy_step_correct"]


def test_greedy_options_belong_to_the_tournament():
    for key in ("greedy_candidate", "record_greedy"):
        with pytest.raises(ValueError, match="tournament only"):
            Search(strategy="mcts", **{key: True})
    assert Search(greedy_candidate=True).greedy_steps and not Search().greedy_steps


def test_eval_greedy_mode_turns_them_off_and_search_mode_keeps_the_candidate(tmp_path):
    from builder.analysis.eval import search_config
    from tests.helpers import make_run

    run = make_run(tmp_path, "demo", "search.greedy_candidate=true", "search.record_greedy=true")
    greedy, searched = search_config(run, "greedy"), search_config(run, "search")
    assert (greedy.greedy_candidate, greedy.record_greedy, greedy.width) == (False, False, 1)
    assert (searched.greedy_candidate, searched.record_greedy) == (True, False)


# --- the real tiny model --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hf_engine(tiny_model_dir):
    import torch

    from builder.engines import load_engine

    before = torch.get_num_threads()
    yield load_engine("hf", str(tiny_model_dir), {"device": "cpu", "threads": 1})
    torch.set_num_threads(before)


def tiny(renderer, engine, **cfg):
    base = dict(width=3, max_steps=2, max_rollbacks=1, temperature=1.0, max_step_tokens=6, judge_max_tokens=4)
    return run_search(engine, renderer, arith_problems(4), Search(**{**base, **cfg}), templates(), seed=11,
                      checker=get_task("arithmetic"), iteration=1)


def test_tiny_model_record_greedy_changes_nothing_else_and_reruns_identically(renderer, hf_engine):
    off = tiny(renderer, hf_engine)
    on = tiny(renderer, hf_engine, record_greedy=True)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in GREEDY_COLS} for r in rows]  # noqa: E731
    assert row_hashes(strip(on.nodes)) == row_hashes(strip(off.nodes))
    assert row_hashes(on.judgments) == row_hashes(off.judgments)
    assert all(n["greedy_step"] is not None for n in on.nodes if n["parent_id"] is None)
    cand = tiny(renderer, hf_engine, greedy_candidate=True)
    again = tiny(renderer, hf_engine, greedy_candidate=True)
    for table in ("nodes", "judgments", "trees"):
        assert row_hashes(getattr(cand, table)) == row_hashes(getattr(again, table))
    by_id = {n["node_id"]: n for n in cand.nodes}
    greedy = [n for n in cand.nodes if n["is_greedy"]]
    assert greedy and all(n["candidate_index"] == 0 and n["text"] == by_id[n["parent_id"]]["greedy_step"]
                          for n in greedy)
    # the greedy step at the root is the one record_greedy saw: greedy decoding of the same prefix
    assert {n["node_id"]: n["greedy_step"] for n in cand.nodes if n["parent_id"] is None} == \
        {n["node_id"]: n["greedy_step"] for n in on.nodes if n["parent_id"] is None}

"""Solution-level self-rewarding (strategy "solution", the SRLM baseline), driven by the SCRIPTED
stand-in engine (tests/scripted_engine.py): the renderer, templates, config and pair extraction
are real; only the model's solutions and scores are scripted, so the rules (score parsing, means
over judge_samples, out-of-range scores, ties, batching) can be pinned.
"""

import re

import pytest

from builder.config import Pairs
from builder.pairs import extract_pairs
from builder.prompts import ChatRenderer, load_template
from builder.search import AnswerChecker, Templates, run_search
from builder.search.judging import best_worst
from builder.search.solution import mean_score, parse_score, solution_stop
from tests.scripted_engine import ScriptedEngine
from tests.search_fixtures import arith_problems, search_cfg

SCORE_TMPL = "Rate: {problem}\n<response>{solution}</response>"
_CAND = re.compile(r"cand (\d+)")


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def templates() -> Templates:
    return Templates(load_template("reasoning_arith"), SCORE_TMPL, "\nStep ")


def solution_text(request, i):
    """Candidate i: a two-step solution that boxes i (so only some are right); ends with EOS."""
    return f"Step 1: cand {i}\nStep 2: so \\boxed{{{i}}}", "eos"


def scorer(table):
    """A judge that answers table[candidate index] (cycling over calls when it is a list)."""
    calls = {}

    def judge(request):
        i = int(_CAND.search(request.prompt)[1])
        out = table[i]
        if isinstance(out, list):
            k = calls.get(i, 0)
            calls[i] = k + 1
            out = out[k % len(out)]
        return out
    return judge


def search(renderer, engine, n=2, **cfg):
    cfg = search_cfg(strategy="solution", **cfg)
    return run_search(engine, renderer, arith_problems(n), cfg, templates(), seed=7, checker=AnswerChecker(), iteration=1)


# --- pure rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,score", [
    ("Looks fine. Score: 4", 4.0), ("Score: 4/5", 4.0), ("**Score:** 3", 3.0), ("score : 2.5 points", 2.5),
    ("Score: 1 ... on reflection Score: 5", 5.0), ("Score: 7", 7.0),
    ("I give it four points.", None), ("Score: <total points>", None), ("", None), (None, None),
])
def test_parse_score(text, score):
    assert parse_score(text) == score


def test_mean_ignores_unparseable_and_out_of_range_scores():
    assert mean_score([4.0, None, 2.0]) == 3.0
    assert mean_score([7.0, 5.0]) == 5.0  # 7 is left out, not clipped to 5 (which would give 5 too: see next)
    assert mean_score([7.0, 1.0]) == 1.0  # clipped it would be 3.0
    assert mean_score([None, 7.0, -0.0 - 1]) is None


def test_best_worst_ties_and_missing_scores():
    assert best_worst([(0, 3.0), (1, 5.0), (2, 1.0), (3, 5.0)]) == (1, 2)
    assert best_worst([(0, 2.0), (1, 4.0), (2, 2.0)]) == (1, 0)  # worst tie -> lowest index
    assert best_worst([(0, 3.0), (1, 3.0), (2, None)]) is None  # tie: no pair
    assert best_worst([(0, None), (1, 4.0)]) is None  # one scored solution: nothing to compare
    assert solution_stop(6) == "\nStep 7:"


# --- the search ---------------------------------------------------------------------------------

def test_one_generation_call_and_one_scoring_call_for_all_problems(renderer):
    engine = ScriptedEngine(step=solution_text, judge=scorer(["Score: 1", "Score: 5", "Score: 3"]))
    res = search(renderer, engine, n=3, width=3, judge_samples=2)
    assert len(engine.calls) == 2
    gen, score = engine.calls
    assert len(gen) == 3 and all(r.n == 3 and r.stop == ("\nStep 4:",) for r in gen)
    assert len(score) == 3 * 3 * 2 and all(r.n == 1 and not r.stop for r in score)
    assert len({r.seed for r in score}) == len(score)  # every scoring sample has its own seed
    assert res.stats.engine_calls == 2 and res.stats.judge_calls == 18


def test_tables_nodes_judgments_and_accepted_solution(renderer):
    table = ["Score: 2", "Score: 7", "no score here", "**Score:** 4/5"]
    res = search(renderer, ScriptedEngine(step=solution_text, judge=scorer(table)), n=1, width=4)
    (tree,) = res.trees
    sols = sorted((n for n in res.nodes if n["parent_id"]), key=lambda n: n["candidate_index"])
    assert [n["depth"] for n in sols] == [1] * 4 and all(n["n_steps"] == 2 for n in sols)
    assert [n["score"] for n in sols] == [2.0, None, None, 4.0]  # 7: out of range, ignored
    assert sols[0]["text"] == "Step 1: cand 0\nStep 2: so \\boxed{0}"
    judg = sorted(res.judgments, key=lambda j: j["node_a"])
    assert [j["score"] for j in judg] == [2.0, 7.0, None, 4.0]  # 7 recorded as written
    assert all(j["node_b"] is None and j["verdict"] is None and j["winner"] is None for j in judg)
    assert [j["raw"] for j in judg] == table
    assert [n["on_path"] for n in sols] == [False, False, False, True] and all(n["judged"] for n in sols)
    assert tree["status"] == "finished" and tree["n_steps"] == 2 and tree["final_answer"] == "3"
    # gold of problem 0 is "2": only the solution that boxes 2 would be right
    assert [n["step_correct"] for n in sols] == [False, False, True, False]
    assert tree["correct"] is False and tree["judge_calls"] == 4


def test_best_and_worst_by_mean_over_judge_samples(renderer):
    # candidate 0 scores 5 then 0 (mean 2.5); candidate 1 scores 3 twice (3); candidate 2: 2 and 4 (3)
    table = [["Score: 5", "Score: 0"], ["Score: 3"], ["Score: 2", "Score: 4"]]
    res = search(renderer, ScriptedEngine(step=solution_text, judge=scorer(table)), n=1, width=3, judge_samples=2)
    sols = sorted((n for n in res.nodes if n["parent_id"]), key=lambda n: n["candidate_index"])
    assert [n["score"] for n in sols] == [2.5, 3.0, 3.0]
    rows, gates = extract_pairs(res.trees, res.nodes, res.judgments, {p["problem_id"]: p["problem"] for p in arith_problems(1)},
                                lambda p, s: f"<{p}>" + "".join(s), Pairs(), 1)
    (row,) = rows  # best = candidate 1 (3.0, lowest index among the tie), worst = candidate 0 (2.5)
    assert row["chosen"] == sols[1]["text"] and row["rejected"] == sols[0]["text"]
    assert row["margin"] == 0.5 and row["prompt"] == f"<{arith_problems(1)[0]['problem']}>"
    assert row["is_final_step"] and row["rejected_terminal"] and row["depth"] == 1
    assert gates == {"candidates": 1, "kept": 1, "dropped": {g: 0 for g in gates["dropped"]}}  # head_to_head: n/a


def test_ties_give_no_pair(renderer):
    table = ["Score: 4", "Score: 4", "**Score:** 4", "Score: 9"]
    res = search(renderer, ScriptedEngine(step=solution_text, judge=scorer(table)), n=2, width=4)
    rows, gates = extract_pairs(res.trees, res.nodes, res.judgments, {p["problem_id"]: p["problem"] for p in arith_problems(2)},
                                lambda p, s: p, Pairs(), 1)
    assert rows == [] and gates["candidates"] == 0
    assert all(t["status"] == "finished" for t in res.trees)


def test_a_solution_cut_at_max_steps_is_not_terminal(renderer):
    def unfinished(request, i):
        return f"Step 1: cand {i}\nStep 2: more", "stop"
    res = search(renderer, ScriptedEngine(step=unfinished, judge=scorer(["Score: 1", "Score: 2"])), n=1, width=2)
    (tree,) = res.trees
    assert tree["status"] == "max_steps" and tree["final_answer"] is None and tree["correct"] is None
    assert all(not n["is_terminal"] for n in res.nodes if n["parent_id"])


def test_verdict_modes_do_not_apply_to_solution_scoring(tiny_model_dir):
    """search.verdict is about A/B verdicts; solution scores are parsed as always, with no scoring call."""
    from builder.config import Search
    from builder.prompts import ChatRenderer
    from builder.search import run_search
    from tests.scripted_engine import ScriptedEngine
    from tests.search_fixtures import arith_problems, templates

    engine = ScriptedEngine(judge=lambda r: "Score: 3")
    res = run_search(engine, ChatRenderer(tiny_model_dir), arith_problems(1), Search(strategy="solution", width=2,
                     verdict="logprob"), templates(), seed=0)
    assert engine.score_calls == [] and res.judgments and all(j["verdict_source"] is None for j in res.judgments)

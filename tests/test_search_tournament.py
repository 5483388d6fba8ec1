"""Tournament search logic, driven by the SCRIPTED stand-in engine (tests/scripted_engine.py).

The renderer, templates, config and checker are real; only the model's outputs are scripted, so
the rules (round robin, wins, best/worst, rollback, batching across problems) can be pinned.
"""

from collections import Counter

import pytest

from builder.prompts import ChatRenderer
from builder.search import judging, run_search
from tests.scripted_engine import ScriptedEngine, always_a, hashed, prefer_lower
from tests.search_fixtures import arith_problems, search_cfg, siblings, templates


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def search(renderer, engine, n=4, **cfg):
    return run_search(engine, renderer, arith_problems(n), search_cfg(**cfg), templates(), seed=7, iteration=1)


# --- pure rules ---------------------------------------------------------------------------------

def test_round_robin_plans_both_or_one_order():
    both, one = judging.plan_pairs(4, "both"), judging.plan_pairs(4, "one")
    assert len(both) == 12 and len(one) == 6
    assert {(a, b) for a, b, _ in both} == {(a, b) for a in range(4) for b in range(4) if a != b}
    assert all(a < b and not s for a, b, s in one)
    assert all(s == (a > b) for a, b, s in both)
    flipped = judging.plan_pairs(4, "one", flip=lambda i, j: j == 3)
    assert {(min(a, b), max(a, b)) for a, b, _ in flipped} == {(a, b) for a, b, _ in one}
    assert all(s == (a > b) == (3 in (a, b)) for a, b, s in flipped)


def test_coin_flip_is_seeded_and_not_constant():
    flips = [judging.coin_flip(7, "1-p", r, 0, 1) for r in range(200)]
    assert flips == [judging.coin_flip(7, "1-p", r, 0, 1) for r in range(200)]
    assert 60 < sum(flips) < 140  # a fair-looking coin, not a fixed side
    assert [judging.coin_flip(8, "1-p", r, 0, 1) for r in range(200)] != flips


def test_scores_count_wins_and_ignore_unparseable():
    pairs = judging.plan_pairs(3, "both")  # (0,1),(1,0),(0,2),(2,0),(1,2),(2,1)
    wins = judging.scores(3, pairs, ["A", "B", None, "A", "B", "A"])
    # (0,1)A -> 0; (1,0)B -> 0; (0,2) none; (2,0)A -> 2; (1,2)B -> 2; (2,1)A -> 2
    assert wins == [2, 0, 3]
    assert judging.games(3, pairs) == [4, 4, 4]


def test_best_worst_tie_breaks_to_lowest_index_and_all_tie():
    assert judging.best_index([2, 5, 5, 1]) == 1
    assert judging.worst_index([2, 1, 5, 1]) == 1
    assert judging.all_tie([3, 3, 3]) and judging.all_tie([0, 0])
    assert not judging.all_tie([3, 2, 3]) and not judging.all_tie([4])


# --- the search ---------------------------------------------------------------------------------

def test_each_round_has_w_times_w_minus_1_judgments_with_both_orders(renderer):
    res = search(renderer, ScriptedEngine(judge=hashed), width=4, judge_orders="both")
    per_round = Counter((j["tree_id"], j["parent_id"], j["round"]) for j in res.judgments)
    assert per_round and set(per_round.values()) == {12}
    res1 = search(renderer, ScriptedEngine(judge=hashed), width=4, judge_orders="one")
    assert set(Counter((j["parent_id"], j["round"]) for j in res1.judgments).values()) == {6}
    index = {n["node_id"]: n["candidate_index"] for n in res1.nodes}
    assert all(j["swapped"] == (index[j["node_a"]] > index[j["node_b"]]) for j in res1.judgments)
    assert {j["swapped"] for j in res1.judgments} == {True, False}  # the coin shows either side as A


def test_accepted_node_has_the_most_wins_among_its_siblings(renderer):
    res = search(renderer, ScriptedEngine(judge=hashed), n=8, width=4, max_rollbacks=3)
    accepted = 0
    for group in siblings(res.nodes).values():
        wins = [n["wins"] for n in group]
        for n in group:
            if n["on_path"]:
                accepted += 1
                assert n["wins"] == max(wins)
                assert n["candidate_index"] == judging.best_index(wins)
    assert accepted > 0


def test_judgment_rows_agree_with_wins(renderer):
    res = search(renderer, ScriptedEngine(judge=hashed), width=3)
    won = Counter(j["winner"] for j in res.judgments if j["winner"])
    for n in res.nodes:
        if n["parent_id"] is not None:
            assert n["wins"] == won.get(n["node_id"], 0)
    for j in res.judgments:
        assert j["winner"] == {"A": j["node_a"], "B": j["node_b"], None: None}[j["verdict"]]


def pairs_of(res, n):
    """Pairs of a search result through the real extraction (prompt rendering stubbed)."""
    from builder.config import Pairs
    from builder.pairs import extract_pairs

    problems = {p["problem_id"]: p["problem"] for p in arith_problems(n)}
    return extract_pairs(res.trees, res.nodes, res.judgments, problems, lambda p, s: p + "".join(s), Pairs(), 1)


def test_identical_samples_are_accepted_without_judge_calls_pairs_or_rollbacks(renderer):
    engine = ScriptedEngine(step=lambda r, i: ("Step 1:  3 + 4 = 7", "stop"))
    res = search(renderer, engine, n=3, width=6, max_steps=2, max_rollbacks=3)
    assert res.judgments == [] and res.stats.judge_calls == 0 and len(engine.calls) == 2  # generation only
    for t in res.trees:
        assert (t["status"], t["n_steps"], t["n_rollbacks"], t["judge_calls"]) == ("max_steps", 2, 0, 0)
    for group in siblings(res.nodes).values():
        assert len(group) == 6 and group[0]["on_path"] and group[0]["duplicate_of"] is None
        assert all(n["duplicate_of"] == group[0]["node_id"] and not n["on_path"] for n in group[1:])
        assert not any(n["judged"] for n in group)
    assert pairs_of(res, 3)[1]["candidates"] == 0
    assert (res.stats.samples, res.stats.distinct, res.stats.single_rounds, res.stats.judged_rounds) == (36, 6, 6, 0)


def test_three_distinct_bodies_among_six_samples_cost_six_judge_calls(renderer):
    bodies = ["cand 1", "cand 2", " cand  1 ", "cand 3", "cand 2", "cand 1"]  # prefer_lower: decisive
    res = search(renderer, ScriptedEngine(step=lambda r, i: (bodies[i], "stop")), n=2, width=6, max_steps=1)
    per_round = Counter((j["parent_id"], j["round"]) for j in res.judgments)
    assert set(per_round.values()) == {6} and len(per_round) == 2
    judged_pairs = {frozenset((j["node_a"], j["node_b"])) for j in res.judgments}
    for group in siblings(res.nodes).values():
        ids = [n["node_id"] for n in group]
        assert [n["duplicate_of"] for n in group] == [None, None, ids[0], None, ids[1], ids[0]]
        assert [n["judged"] for n in group] == [True, True, False, True, False, False]
        assert [n["wins"] for n in group][2] == group[0]["wins"]  # a duplicate's wins are its representative's
        assert {frozenset(p) for p in judged_pairs if set(p) <= set(ids)} == \
            {frozenset((ids[a], ids[b])) for a, b in ((0, 1), (0, 3), (1, 3))}
    assert res.stats.distinct_hist == {"3": 2} and res.stats.samples == 12


def test_samples_beyond_width_keep_the_first_w_distinct_in_sampling_order(renderer):
    bodies = ["cand 1", "cand 1", "cand 2", "cand 3", "cand 4"]  # prefer_lower: decisive
    engine = ScriptedEngine(step=lambda r, i: (bodies[i], "stop"))
    res = search(renderer, engine, n=1, width=3, samples=5, max_steps=1)
    (group,) = siblings(res.nodes).values()
    assert [n["judged"] for n in group] == [True, False, True, True, False]
    assert group[4]["duplicate_of"] is None and group[4]["wins"] is None  # distinct, but beyond width
    assert group[1]["duplicate_of"] == group[0]["node_id"]
    assert len(res.judgments) == 6 and [r.n for r in engine.calls[0]] == [5]
    judged = {n["node_id"] for n in group if n["judged"]}
    assert all({j["node_a"], j["node_b"]} <= judged for j in res.judgments)


def test_always_a_judge_with_both_orders_ties_and_rolls_back(renderer):
    """Both orders: an always-[[A]] judge gives every distinct candidate the same wins."""
    res = search(renderer, ScriptedEngine(judge=always_a), width=3, max_rollbacks=2, max_steps=2)
    for group in siblings(res.nodes).values():
        assert len({n["wins"] for n in group}) == 1  # every round an all-tie
    for t in res.trees:
        # rounds: step 1 tie, tie (2 rollbacks at step 1), spent: accept; step 2 tie: roll back step 1;
        # step 1 spent: accept; step 2 tie: roll back; accept step 1; step 2 spent: accept
        assert (t["status"], t["n_rollbacks"], t["n_steps"], t["n_rounds"]) == ("max_steps", 4, 2, 8)
    assert pairs_of(res, 4)[1]["candidates"] == 0  # accepted by the spent budget: never a pair
    assert res.stats.all_tie_rounds == res.stats.judged_rounds == 32 and res.stats.rollbacks == 16


def test_rollback_budget_per_tree(renderer):
    res = search(renderer, ScriptedEngine(judge=always_a), n=2, width=3, max_rollbacks=2, max_steps=3,
                 rollback_scope="tree")
    for t in res.trees:
        assert (t["status"], t["n_rollbacks"], t["n_steps"], t["n_rounds"]) == ("max_steps", 2, 3, 5)


def test_rollback_discards_the_previous_accepted_step(renderer):
    """Round 1 decisive (step 1 accepted), then all ties: step 1 is rolled back, then abandoned."""
    engine = ScriptedEngine()
    engine.judge = lambda r: prefer_lower(r) if engine.gen_calls == 1 else "[[A]]"
    res = search(renderer, engine, n=2, width=3, max_rollbacks=1, rollback_scope="tree", on_rollbacks_spent="abandon")
    for t in res.trees:
        assert (t["status"], t["n_rollbacks"], t["n_rounds"], t["n_steps"]) == ("abandoned", 2, 3, 0)
    discarded = [n for n in res.nodes if n["round"] == 1 and n["candidate_index"] == 0]
    assert len(discarded) == 2 and not any(n["on_path"] for n in discarded)
    assert all(n["wins"] == 4 for n in discarded)  # it won its round, then was discarded
    # round 2 sampled step 2 after it; round 3 re-sampled step 1 from the root
    assert {(n["round"], n["depth"]) for n in res.nodes if n["parent_id"]} == {(1, 1), (2, 2), (3, 1)}
    assert pairs_of(res, 2)[1]["candidates"] == 0


def test_spent_budget_accept_goes_on_and_abandon_leaves_no_pair_of_the_popped_step(renderer):
    """Round 1 decisive, round 2 all-tie with no budget: accept continues, abandon pops step 1."""
    def engine():
        e = ScriptedEngine()
        e.judge = lambda r: prefer_lower(r) if e.gen_calls == 1 else "[[A]]"
        return e

    acc = search(renderer, engine(), n=2, width=3, max_rollbacks=0, max_steps=3)
    for t in acc.trees:
        assert (t["status"], t["n_rollbacks"], t["n_steps"]) == ("max_steps", 0, 3)
    rows, gates = pairs_of(acc, 2)
    assert gates["candidates"] == 2 and {r["depth"] for r in rows} <= {1}  # only the decisive round pairs
    ab = search(renderer, engine(), n=2, width=3, max_rollbacks=0, max_steps=3, on_rollbacks_spent="abandon")
    for t in ab.trees:
        assert (t["status"], t["n_rollbacks"], t["n_steps"], t["n_rounds"]) == ("abandoned", 1, 0, 2)
    assert not [n for n in ab.nodes if n["on_path"] and n["parent_id"]]
    assert pairs_of(ab, 2)[1]["candidates"] == 0  # the popped step 1 gives no pair


def test_one_order_with_a_position_biased_judge_does_not_rank_by_index(renderer):
    """judge_orders one + always-[[A]]: the seeded coin decides A, so accepted indices vary."""
    res = search(renderer, ScriptedEngine(judge=always_a), n=100, width=3, max_steps=1, judge_orders="one",
                 max_rollbacks=0)
    accepted = Counter(n["candidate_index"] for n in res.nodes if n["on_path"] and n["parent_id"])
    assert sum(accepted.values()) == 100 and accepted[0] < 100 and len(accepted) == 3


def test_engine_calls_do_not_grow_with_problems(renderer):
    """Fixed rounds (decisive judge, never terminal): 2 calls per round for 4 or 32 problems."""
    calls = {}
    for n in (4, 32):
        engine = ScriptedEngine(judge=prefer_lower)
        res = search(renderer, engine, n=n, width=3, max_steps=3)
        assert all(t["status"] == "max_steps" and t["n_steps"] == 3 for t in res.trees)
        calls[n] = (len(engine.calls), res.stats.engine_calls)
        assert [len(c) for c in engine.calls] == [n, 6 * n] * 3
    assert calls[4] == calls[32] == (6, 6)


def test_requests_of_a_problem_do_not_depend_on_its_batch_mates(renderer):
    problems = arith_problems(6)
    a, b = ScriptedEngine(judge=hashed), ScriptedEngine(judge=hashed)
    ra = run_search(a, renderer, problems[:2], search_cfg(), templates(), seed=7, iteration=1)
    rb = run_search(b, renderer, problems[1:], search_cfg(), templates(), seed=7, iteration=1)
    mine = lambda res: [n for n in res.nodes if n["tree_id"].endswith(problems[1]["problem_id"])]  # noqa: E731
    assert mine(ra) == mine(rb)
    assert {r for c in a.calls for r in c if problems[1]["problem"] in r.prompt} == \
        {r for c in b.calls for r in c if problems[1]["problem"] in r.prompt}


def test_terminal_step_finishes_and_is_graded_by_the_checker(renderer):
    """Candidate 0 writes the right step 1, then boxes the gold answer at step 2 (one op early)."""
    import re

    from builder.tasks import get_task

    def step(request, i):
        a, b = map(int, re.search(r"(\d+) \+ (\d+) - 1", request.prompt).groups())
        if i == 0:
            return (f"{a} + {b} = {a + b}", "stop") if "Step 1:" not in request.prompt else \
                (f"The answer is \\boxed{{{a + b - 1}}}", "stop")
        return f"cand {i}", "stop"

    problems = arith_problems(3)
    engine = ScriptedEngine(step=step, judge=prefer_lower)
    res = run_search(engine, renderer, problems, search_cfg(max_steps=5), templates(), seed=1,
                     checker=get_task("arithmetic"), iteration=1)
    for t, p in zip(res.trees, problems):
        assert (t["status"], t["n_steps"], t["final_answer"], t["correct"]) == ("finished", 2, p["answer"], True)
    by_key = {(n["depth"], n["candidate_index"]): n["step_correct"] for n in res.nodes if n["parent_id"]}
    assert by_key == {(1, 0): True, (1, 1): False, (1, 2): False, (2, 0): False, (2, 1): False, (2, 2): False}
    assert [n["is_terminal"] for n in res.nodes if n["on_path"] and n["depth"] == 2] == [True] * 3
    assert run_search(ScriptedEngine(step=step), renderer, problems, search_cfg(max_steps=5), templates(),
                      seed=1, iteration=1).trees[0]["correct"] is None  # no checker: not graded


def test_width_one_is_greedy_solving_without_judge_calls(renderer):
    engine = ScriptedEngine()
    cfg = search_cfg(max_steps=4).model_copy(update={"width": 1, "temperature": 0.0})
    res = run_search(engine, renderer, arith_problems(5), cfg, templates(), seed=3)
    assert res.judgments == [] and res.stats.judge_calls == 0
    assert len(engine.calls) == 4 and all(r.n == 1 for c in engine.calls for r in c)
    assert all(t["status"] == "max_steps" and t["n_steps"] == 4 and t["judge_calls"] == 0 for t in res.trees)
    assert all(n["on_path"] for n in res.nodes)


def test_rows_match_the_table_schemas(renderer):
    from builder import schemas

    res = search(renderer, ScriptedEngine(judge=hashed))
    for table, rows in (("trees", res.trees), ("nodes", res.nodes), ("judgments", res.judgments)):
        schemas.conform(table, [dict(r, iteration=1) for r in rows], origin=table)
    ids = [n["node_id"] for n in res.nodes]
    assert len(ids) == len(set(ids)) and all(i.startswith("1-") for i in ids)
    roots = [n for n in res.nodes if n["parent_id"] is None]
    assert all(r["node_id"].endswith("/0") and r["depth"] == 0 and r["on_path"] and r["text"] == "" for r in roots)


def test_probability_scores_sum_p_a_and_fall_back_to_wins():
    from builder.search.judging import probability_scores
    from builder.verdicts import Verdict

    pairs = [(0, 1, False), (1, 0, True), (0, 2, False), (1, 2, False)]
    vs = [Verdict("A", "logprob", 0.75, "", 0), Verdict("B", "forced", 0.25, "x", 3),
          Verdict("B", "parsed", None, "[[B]]", 2), Verdict(None, None, None, "?", 2)]
    # 0: 0.75 + 0.75 + 0; 1: 0.25 + 0.25 + 0 (undecided); 2: 1 (parsed B) + 0
    assert probability_scores(3, pairs, vs) == [1.5, 0.5, 1.0]


# --- verdict modes (builder/verdicts.py) through the search --------------------------------------

def _verdict_templates(tmp_path):
    from dataclasses import replace

    from tests.search_fixtures import JUDGE

    path = tmp_path / "judge_hdr.txt"
    path.write_text('---\nverdict_prefix: " [["\nverdicts: [A, B]\n---\n' + JUDGE)
    return replace(templates(), judge_source=str(path))


def test_forced_search_scores_exactly_the_outputs_without_a_verdict_once_per_round(renderer, tmp_path):
    engine = ScriptedEngine(judge=hashed)  # A, B or no verdict by prompt hash
    res = run_search(engine, renderer, arith_problems(3), search_cfg(verdict="forced"), _verdict_templates(tmp_path),
                     seed=7, iteration=1)
    judge_batches = [c for c in engine.calls if not any(r.stop for r in c)]
    no_verdict = [[r.prompt for r in c if hashed(r) == "no verdict"] for c in judge_batches]
    # one scoring call per judging round that had outputs without a verdict, with exactly those
    assert engine.score_calls == [[p + "no verdict [[" for p in batch] for batch in no_verdict if batch]
    assert engine.score_calls and all(j["verdict"] in ("A", "B") for j in res.judgments)
    forced = [j for j in res.judgments if j["verdict_source"] == "forced"]
    assert forced and all(j["raw"] == "no verdict" and j["p_a"] is not None for j in forced)
    assert all(j["p_a"] is None for j in res.judgments if j["verdict_source"] == "parsed")


def test_logprob_search_generates_no_judge_tokens(renderer, tmp_path):
    engine = ScriptedEngine(judge=hashed)
    res = run_search(engine, renderer, arith_problems(3), search_cfg(verdict="logprob"), _verdict_templates(tmp_path),
                     seed=7, iteration=1)
    assert all(any(r.stop for r in c) for c in engine.calls)  # only generation requests
    assert res.judgments and all(j["verdict_source"] == "logprob" and j["n_tokens"] == 0 for j in res.judgments)
    judged_rounds = len({(j["tree_id"], j["round"]) for j in res.judgments})
    assert res.stats.judge_tokens == 0 and 1 <= len(engine.score_calls) <= judged_rounds  # one call per round


def _narrow_zero(prompt: str) -> tuple[float, float]:
    """0 beats 1 and 2 narrowly (0.51), 1 beats 2 by far (0.99): wins rank 0 first, summed
    probabilities rank 1 first (0: 2.04, 1: 2.96, 2: 1.0 over both orders)."""
    import math
    import re

    side = {s: int(re.search(r"cand (\d+)", t)[1]) for s, t in re.findall(r"(?m)^([AB]): (.*)$", prompt)}
    beats = {(0, 1): 0.51, (0, 2): 0.51, (1, 2): 0.99}
    a, b = side["A"], side["B"]
    p = beats[(a, b)] if (a, b) in beats else 1 - beats[(b, a)]
    return math.log(p), math.log(1 - p)


@pytest.mark.parametrize("score, winner", [("wins", 0), ("probability", 1)])
def test_probability_score_ranks_by_summed_p_not_by_wins(renderer, tmp_path, score, winner):
    res = run_search(ScriptedEngine(score=_narrow_zero), renderer, arith_problems(2),
                     search_cfg(verdict="logprob", score=score, max_steps=1), _verdict_templates(tmp_path),
                     seed=7, iteration=1)
    accepted = [n for n in res.nodes if n["on_path"] and n["parent_id"] is not None]
    assert len(accepted) == 2 and all(n["candidate_index"] == winner for n in accepted)


def test_forced_with_a_template_given_as_text_is_an_input_error(renderer):
    from builder.errors import InputError

    with pytest.raises(InputError, match="search.verdict=forced"):
        search(renderer, ScriptedEngine(), verdict="forced")

"""Judge schedules (builder/search/schedules.py): pure rules with scripted judges, and the search
driven by the SCRIPTED stand-in engine (tests/scripted_engine.py; only the model's outputs are
scripted: renderer, templates, config, Parquet-shaped rows are real)."""

import itertools
import re
from collections import Counter

import pytest

from builder.pairs import candidate_pairs, head_to_head
from builder.prompts import ChatRenderer
from builder.search import run_search, schedules
from tests.helpers import invoke
from tests.scripted_engine import ScriptedEngine, always_a
from tests.search_fixtures import arith_problems, search_cfg, siblings, templates

PERMS6 = list(itertools.permutations(range(6)))


def by_rank(rank, wrong=frozenset()):
    """Judge (a, b) -> verdict: the better rank (0 = best) wins, except the ordered pairs in `wrong`."""
    def judge(a, b):
        right = "A" if rank[a] < rank[b] else "B"
        return ("B" if right == "A" else "A") if (a, b) in wrong else right
    return judge


def test_noiseless_knockout_finds_best_and_worst_of_6_in_at_most_14_calls_both_orders():
    for rank in PERMS6:
        sched = schedules.make("knockout", 6, "both")
        decision, calls = schedules.run(sched, by_rank(rank))
        assert (rank[decision.best], rank[decision.worst]) == (0, 5), rank
        assert calls <= 2 * 7
        asked = Counter((a, b) for a, b, _ in sched.calls)
        assert all(asked[(b, a)] == n for (a, b), n in asked.items())  # every match in both orders


def test_schedule_call_counts_for_d_candidates():
    for d in range(2, 9):
        rank = list(range(d))
        got = {name: schedules.run(schedules.make(name, d, "both", lambda i, j: (i + j) % 2 == 1), by_rank(rank))[1]
               for name in schedules.NAMES}
        pohl = -(-3 * d // 2) - 2
        assert got == {"round_robin": d * (d - 1), "knockout": 2 * pohl, "adaptive": pohl + (1 if d == 2 else 2)}, d


@pytest.mark.parametrize("name", schedules.NAMES)
def test_always_a_judge_leaves_every_schedule_undecided(name):
    for d in range(2, 8):
        decision, _ = schedules.run(schedules.make(name, d, "both", lambda i, j: i % 2 == 0), lambda a, b: "A")
        assert decision.undecided, (name, d)


@pytest.mark.parametrize("name", schedules.NAMES)
def test_a_judge_wrong_on_one_close_pair_still_finds_best_and_worst(name):
    for rank in PERMS6:
        at = {r: i for i, r in enumerate(rank)}
        for r in (1, 2, 3):  # a middle pair of neighbours: wrong in one order (a split) or in both
            x, y = at[r], at[r + 1]
            for wrong in ({(x, y)}, {(y, x)}, {(x, y), (y, x)}):
                decision, _ = schedules.run(schedules.make(name, 6, "both", lambda i, j: (i * 7 + j) % 3 == 0),
                                            by_rank(rank, frozenset(wrong)))
                assert (rank[decision.best], rank[decision.worst]) == (0, 5), (name, rank, wrong)


def test_a_split_match_goes_to_more_round_wins_then_the_lower_index():
    # 0 vs 1 split (the judge prefers A), 2 beats 3 twice; final 0 vs 2: 2 wins; losers' final 1 vs 3: 1 wins.
    verdicts = {(0, 1): "A", (1, 0): "A", (2, 3): "A", (3, 2): "B", (0, 2): "B", (2, 0): "A",
                (1, 3): "A", (3, 1): "B"}
    sched = schedules.make("knockout", 4, "both")
    decision, calls = schedules.run(sched, lambda a, b: verdicts[a, b])
    assert (decision.best, decision.worst, calls) == (2, 3, 8)
    # 5 candidates, 4 has the bye: it beats 0 in the winners' final and splits the losers' final with
    # 3; having more round wins than 3 it "wins" that split, so 3 is the worst (by the lower index
    # alone 3 would advance and 4 would be both best and worst: undecided).
    verdicts = {(0, 1): "A", (1, 0): "B", (2, 3): "A", (3, 2): "B", (0, 2): "A", (2, 0): "B",
                (1, 3): "A", (3, 1): "B", (0, 4): "B", (4, 0): "A", (3, 4): "A", (4, 3): "A"}
    decision, calls = schedules.run(schedules.make("knockout", 5, "both"), lambda a, b: verdicts[a, b])
    assert (decision.best, decision.worst, calls) == (4, 3, 12)


# --- the search ---------------------------------------------------------------------------------

_SIDE = re.compile(r"^([AB]): .*cand (\d+)", re.M)


def scrambled(request):
    """Noiseless judge over a fixed quality order that is not the sampling order."""
    quality = {0: 3, 1: 5, 2: 0, 3: 4, 4: 1, 5: 2}  # candidate index -> rank (0 best)
    idx = dict(_SIDE.findall(request.prompt))
    return "[[A]]" if quality[int(idx["A"])] < quality[int(idx["B"])] else "[[B]]"


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(str(tiny_model_dir))


def search(renderer, engine, n=4, **cfg):
    return run_search(engine, renderer, arith_problems(n), search_cfg(**cfg), templates(), seed=7, iteration=1)


@pytest.mark.parametrize("name", ["knockout", "adaptive"])
def test_search_accepts_the_named_best_and_records_best_worst_stages_and_schedule(renderer, name):
    res = search(renderer, ScriptedEngine(judge=scrambled), width=6, judge_schedule=name)
    assert {t["judge_schedule"] for t in res.trees} == {name}
    rounds = [g for g in siblings(res.nodes).values() if any(n["judged"] for n in g)]
    assert rounds
    for group in rounds:
        sel = {n["selection"]: n["candidate_index"] for n in group if n["selection"]}
        assert sel == {"best": 2, "worst": 1}
        assert [n["candidate_index"] for n in group if n["on_path"]] == [2]
    per_round = Counter((j["parent_id"], j["round"]) for j in res.judgments)
    assert set(per_round.values()) == {14 if name == "knockout" else 9}
    assert {j["stage"] for j in res.judgments} == {1, 2, 3}
    strategy = {t["tree_id"]: t["strategy"] for t in res.trees}
    schedule = {t["tree_id"]: t["judge_schedule"] for t in res.trees}
    by_id = {n["node_id"]: n for n in res.nodes}
    pairs = candidate_pairs(res.nodes, strategy, schedule)
    assert len(pairs) == len(rounds)
    for chosen, rejected in pairs:
        assert (chosen["selection"], rejected["selection"]) == ("best", "worst")
        mine = [j for j in res.judgments if j["parent_id"] == chosen["parent_id"] and j["round"] == chosen["round"]]
        assert head_to_head(mine, chosen["node_id"], rejected["node_id"])  # a chain of direct wins
        assert by_id[chosen["node_id"]]["candidate_index"] == 2


@pytest.mark.parametrize("name", schedules.NAMES)
def test_always_a_judge_rolls_back_with_every_schedule(renderer, name):
    res = search(renderer, ScriptedEngine(judge=always_a), n=2, width=4, judge_schedule=name, max_rollbacks=1)
    assert all(t["n_rollbacks"] >= 1 for t in res.trees)
    assert not any(n["selection"] for n in res.nodes)
    strategy = {t["tree_id"]: t["strategy"] for t in res.trees}
    assert candidate_pairs(res.nodes, strategy, {t["tree_id"]: name for t in res.trees}) == []


@pytest.mark.parametrize("name", ["knockout", "adaptive"])
def test_engine_calls_do_not_grow_with_problems(renderer, name):
    calls = []
    for n in (4, 32):
        engine = ScriptedEngine(judge=scrambled)
        res = search(renderer, engine, n=n, width=6, judge_schedule=name)
        calls.append((len(engine.calls), res.stats.engine_calls, res.stats.judge_stages))
    assert calls[0] == calls[1]
    rounds = calls[0][1] - calls[0][2]
    assert calls[0][2] == 3 * rounds  # three stages per round: several judge calls per round, not per problem


def test_a_bad_judge_schedule_is_an_exit_2_error_naming_the_key_and_the_values(tmp_path):
    res = invoke("init", tmp_path / "r", "--preset", "demo", "--set", "search.judge_schedule=swiss")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "search.judge_schedule" in res.output
    assert all(v in res.output for v in ("'round_robin'", "'knockout'", "'adaptive'")), res.output
    for strategy in ("mcts", "solution"):  # they need every candidate scored: the round robin only
        res = invoke("init", tmp_path / strategy, "--preset", "demo", "--set", f"search.strategy={strategy}",
                     "--set", "search.judge_schedule=knockout")
        assert res.exit_code == 2 and "search.judge_schedule" in res.output and "round_robin" in res.output


def test_head_to_head_needs_a_chain_of_direct_wins_where_the_two_never_met():
    def j(a, b, verdict):
        return {"node_a": a, "node_b": b, "winner": {"A": a, "B": b}.get(verdict)}

    chain = [j("x", "y", "A"), j("y", "x", "B"), j("y", "z", "A"), j("z", "y", "B")]
    assert head_to_head(chain, "x", "z") and not head_to_head(chain, "z", "x")
    split = [j("x", "y", "A"), j("y", "x", "A"), j("y", "z", "A"), j("z", "y", "B")]  # x-y split: no link
    assert not head_to_head(split, "x", "z")
    met = chain + [j("x", "z", None), j("z", "x", "A")]  # they met: the direct rule, and z won there
    assert not head_to_head(met, "x", "z")


def test_replay_bench_scores_every_schedule_on_the_same_recorded_verdicts(renderer):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("replay", Path(__file__).parent.parent / "bench" / "replay.py")
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    res = search(renderer, ScriptedEngine(judge=scrambled), width=6)  # round robin, both orders
    for n in res.nodes:  # the scrambled judge ranks candidate 2 best and 1 worst: label them so
        n["step_correct"] = None if n["parent_id"] is None else n["candidate_index"] != 1
    out = replay.replay(7, res.trees, res.nodes, res.judgments)
    rounds = len({(j["parent_id"], j["round"]) for j in res.judgments})
    assert (out["judged"], out["scored"], out["skipped"], out["rr_checked"], out["rr_disagree"]) == \
        (rounds, rounds, 0, rounds, 0)
    calls = {name: s["calls"] for name, s in out["schedules"].items()}
    assert calls == {"round_robin": 30 * rounds, "knockout": 14 * rounds, "adaptive": 9 * rounds}
    for s in out["schedules"].values():
        assert s["acc"] == s["rej"] == s["row"] == [True] * rounds  # best (2) right, worst (1) wrong

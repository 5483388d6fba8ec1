"""`pairs.per_round: ranked` on a round written here by hand (builder/pairs/judge.py ranked_pairs).

Round 1 (root, round robin, both orders) judges four distinct candidates c0..c3 (nodes 1-4) and
has a duplicate of c1 (node 5, never judged). Verdicts:
  c0 vs c1: c0 both orders   c0 vs c2: c0 both orders   c0 vs c3: each wins as A (split)
  c1 vs c2: each wins as A    c1 vs c3: c1 both orders   c2 vs c3: c2 both orders
Wins: c0 5, c1 3, c2 3, c3 1 -> ranks 1, 2, 2, 4. Every winner over every loser with a lower score:
c0>c1 (margin 2), c0>c2 (2), c0>c3 (4), c1>c3 (2), c2>c3 (2); c1 and c2 tie: no pair. The
head-to-head gate drops c0>c3 (split). Round 2 (below c0) ties 1:1: no pair at all.
"""

import pytest

from builder.config import Pairs
from builder.pairs import extract_pairs

T = "1-h"


def node(k, parent, rnd, idx, wins, on_path=False, judged=True, selection=None, dup=None):
    return {"node_id": f"{T}/{k}", "tree_id": T, "parent_id": None if parent is None else f"{T}/{parent}",
            "depth": 0 if parent is None else (1 if parent == 0 else 2), "round": rnd, "candidate_index": idx,
            "text": "" if parent is None else f"Step 1: {k} + {k} = {2 * k}\n", "wins": wins, "on_path": on_path,
            "is_terminal": False, "visits": None, "value": None, "score": None, "step_correct": None,
            "judged": judged and parent is not None, "selection": selection,
            "duplicate_of": None if dup is None else f"{T}/{dup}"}


def judgment(parent, rnd, a, b, verdict):
    na, nb = f"{T}/{a}", f"{T}/{b}"
    return {"parent_id": f"{T}/{parent}", "round": rnd, "node_a": na, "node_b": nb, "verdict": verdict,
            "winner": {"A": na, "B": nb}[verdict]}


NODES = [node(0, None, 0, None, None, on_path=True),
         node(1, 0, 1, 0, 5, on_path=True, selection="best"), node(2, 0, 1, 1, 3), node(3, 0, 1, 2, 3),
         node(4, 0, 1, 3, 1, selection="worst"), node(5, 0, 1, 4, 3, judged=False, dup=2),
         node(6, 1, 2, 0, 1), node(7, 1, 2, 1, 1)]
ORDERS = [(1, 2, "A"), (2, 1, "B"), (1, 3, "A"), (3, 1, "B"), (1, 4, "A"), (4, 1, "A"),
          (2, 3, "A"), (3, 2, "A"), (2, 4, "A"), (4, 2, "B"), (3, 4, "A"), (4, 3, "B")]
JUDGMENTS = [judgment(0, 1, a, b, v) for a, b, v in ORDERS] + [judgment(1, 2, 6, 7, "A"), judgment(1, 2, 7, 6, "A")]
TREES = [{"tree_id": T, "problem_id": "p", "strategy": "tournament", "judge_schedule": "round_robin"}]

# (chosen node, rejected node, margin, chosen_rank, rejected_rank), written out from the docstring
RANKED = {(1, 2, 2.0, 1, 2), (1, 3, 2.0, 1, 2), (1, 4, 4.0, 1, 4), (2, 4, 2.0, 2, 4), (3, 4, 2.0, 2, 4)}


def pairs(**cfg):
    rows, gates = extract_pairs(TREES, NODES, JUDGMENTS, {"p": "1 + 1"}, lambda problem, prefix: "PROMPT",
                                Pairs(**cfg), iteration=1)
    got = {(int(r["chosen_node"].rsplit("/", 1)[1]), int(r["rejected_node"].rsplit("/", 1)[1]), r["margin"],
            r["chosen_rank"], r["rejected_rank"]) for r in rows}
    assert len(got) == len(rows) == len({r["pair_id"] for r in rows})  # no pair twice, ids unique
    return rows, got, gates


def test_wins_written_above_are_the_verdicts_counted():
    wins = {}
    for j in JUDGMENTS[:12]:
        wins[j["winner"]] = wins.get(j["winner"], 0) + 1
    assert {k: wins[f"{T}/{k}"] for k in (1, 2, 3, 4)} == {1: 5, 2: 3, 3: 3, 4: 1}


def test_ranked_gives_every_winner_over_every_loser_of_the_round():
    rows, got, gates = pairs(per_round="ranked", require_head_to_head=False)
    assert got == RANKED
    assert gates["candidates"] == 5 and gates["kept"] == 5
    assert {r["round"] for r in rows} == {1} and {r["parent_id"] for r in rows} == {f"{T}/0"}
    assert {r["pair_id"] for r in rows} == {f"{T}/0#1:{c - 1}>{r - 1}" for c, r, *_ in RANKED}


def test_ranked_pairs_pass_the_same_gates():
    _, got, gates = pairs(per_round="ranked")
    assert got == RANKED - {(1, 4, 4.0, 1, 4)}  # c0 and c3 split their direct judgments
    assert gates["dropped"]["head_to_head"] == 1 and gates["kept"] == 4
    _, got, _ = pairs(per_round="ranked", require_head_to_head=False, min_margin=3)
    assert got == {(1, 4, 4.0, 1, 4)}


def test_best_worst_stays_the_papers_single_pair_with_its_ranks():
    rows, got, gates = pairs(require_head_to_head=False)
    assert got == {(1, 4, 4.0, 1, 4)} and gates["candidates"] == 1
    assert rows[0]["pair_id"] == f"{T}/0#1" and rows[0]["round"] == 1


def test_unknown_per_round_is_refused():
    with pytest.raises(ValueError, match="best_worst"):
        Pairs(per_round="all")

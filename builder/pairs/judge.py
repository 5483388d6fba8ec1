"""The judge's step pairs (`psr pairs`): best vs worst step of a sealed iteration's search rounds.

Candidates come only from rounds with >= 2 judged distinct candidates (nodes.judged; duplicates
and unjudged samples never pair) whose judgments were not all ties (equal wins for all):
- tournament: one per accepted (on_path) step: that step (chosen, the best its round's judge
  schedule named) vs the worst it named (nodes.selection; older rows without it: lowest wins, ties
  to the lowest candidate index). A round the schedule left undecided names none. A step that a rollback
  discarded is not on the path (in any tree status: an abandoned tree's last step is rolled back
  too), so it gives no pair.
- mcts: one per expanded node: best vs worst judged child by value (ties by visits, then the
  lowest candidate index).
- solution (the SRLM baseline; every solution is scored, not compared, so wins are null): one per
  tree whose solutions' scores differ: the highest- vs the lowest-scored complete solution
  (builder.search.judging.best_worst; ties give no pair). Both are whole responses, so both are
  marked terminal (is_final_step, rejected_terminal) and the export ends each with exactly one
  EOS; chosen_wins/rejected_wins are 0, margin = score difference; the head_to_head gate does
  not apply (no direct judgments).
`prompt` is exactly the generation prompt the step was sampled from (chat template + accepted
prefix), `prefix` the accepted steps before it.

The gates (builder/pairs/gates.py) apply in full: head_to_head (with pairs.require_head_to_head)
asks that the chosen step won every parseable direct judgment against the rejected one, both
orders where both were asked (the paper's swap-consistency filter applied to self-made pairs);
where a knockout/adaptive schedule never matched the two, a chain of such direct wins is needed.
"""

from __future__ import annotations

from collections import defaultdict

from builder.pairs.gates import GATES, gate
from builder.pairs.rows import judge_margin, pair_row, path_texts, rounds_of


def candidate_pairs(nodes: list[dict], strategy_of: dict[str, str],
                    schedule_of: dict[str, str | None] | None = None, per_round: str = "best_worst") -> list[tuple[dict, dict]]:
    """(chosen node row, rejected node row) candidates from all trees' node rows. `schedule_of`:
    tree_id -> trees.judge_schedule; trees without one (older rows) pair by the round robin's wins.
    `per_round` (pairs.per_round): best_worst, or ranked (`ranked_pairs` of every decided round)."""
    schedule_of = schedule_of or {}
    out = []
    for group in rounds_of(nodes, keep=lambda n: n["judged"]):  # the judged distinct candidates
        if strategy_of[group[0]["tree_id"]] == "solution":  # scored, not compared: ties are by score
            out.extend(ranked_pairs(group, "solution") if per_round == "ranked" else _solution_pair(group))
            continue
        named = schedule_of.get(group[0]["tree_id"]) is not None  # best/worst recorded in nodes.selection
        if len(group) < 2 or (not named and len({n["wins"] for n in group}) == 1):
            continue  # nothing judged, or an all-tie round: no preference was expressed
        if named and not any(n["selection"] == "worst" for n in group):
            continue  # the schedule left the round undecided
        if per_round == "ranked":
            out.extend(ranked_pairs(group, strategy_of[group[0]["tree_id"]]))
            continue
        if strategy_of[group[0]["tree_id"]] == "mcts":
            key = lambda n: (n["value"], n["visits"], -n["candidate_index"])  # noqa: E731
            out.append((max(group, key=key), min(group, key=key)))
            continue
        chosen = next((n for n in group if n["on_path"]), None)
        if chosen is None:
            continue
        if named:  # the worst as the schedule named it
            out.append((chosen, next(n for n in group if n["selection"] == "worst")))
        else:  # older rows: fewest wins, ties to the lowest candidate index
            others = [n for n in group if n is not chosen]
            out.append((chosen, min(others, key=lambda n: (n["wins"], n["candidate_index"]))))
    return out


# --- pairs.per_round: ranked (self-contained: judge scores, ranks, every winner over every loser) ---

def judge_score(node: dict, strategy: str) -> float | None:
    """The score a round's judging gave a candidate: wins (tournament), value (mcts), mean
    self-score (solution); None when it has none."""
    value = node["value"] if strategy == "mcts" else node["score"] if strategy == "solution" else node["wins"]
    return None if value is None else float(value)


def judge_ranks(group: list[dict], strategy: str) -> dict[str, int | None]:
    """node_id -> rank among the round's judged candidates by judge score: 1 + the candidates
    scored strictly higher (equal scores share a rank); None for a candidate without a score."""
    scores = {n["node_id"]: judge_score(n, strategy) for n in group}
    known = [v for v in scores.values() if v is not None]
    return {k: None if v is None else 1 + sum(o > v for o in known) for k, v in scores.items()}


def ranked_pairs(group: list[dict], strategy: str) -> list[tuple[dict, dict]]:
    """Every (winner, loser) of one round's judged candidates whose judge scores differ, the higher
    score chosen; in candidate order of the winner, then of the loser. Nothing when all scores tie."""
    scored = [(n, judge_score(n, strategy)) for n in group]
    scored = [(n, v) for n, v in scored if v is not None]
    return [(a, b) for a, va in scored for b, vb in scored if va > vb]


def _solution_pair(group: list[dict]) -> list[tuple[dict, dict]]:
    from builder.search.judging import best_worst

    found = best_worst([(n["candidate_index"], n["score"]) for n in group])
    return [] if found is None else [(group[found[0]], group[found[1]])]


def head_to_head(judgments: list[dict], chosen_id: str, rejected_id: str) -> bool:
    """The chosen node beat the rejected one in the round's judgments.

    When the two were judged against each other (always so in the round robin): the chosen won
    every parseable direct judgment (and there was at least one). When a schedule never matched
    them (knockout, adaptive): a chain chosen > x > ... > rejected of such direct wins."""
    if any({j["node_a"], j["node_b"]} == {chosen_id, rejected_id} for j in judgments):
        return _beats(judgments, chosen_id, rejected_id)
    edges: dict[str, set[str]] = defaultdict(set)
    for j in judgments:
        x, y = j["node_a"], j["node_b"]
        for a, b in ((x, y), (y, x)):
            if b not in edges[a] and _beats(judgments, a, b):
                edges[a].add(b)
    seen, todo = {chosen_id}, [chosen_id]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            if nxt == rejected_id:
                return True
            seen.add(nxt)
            todo.append(nxt)
    return False


def _beats(judgments: list[dict], a: str, b: str) -> bool:
    """a won every parseable direct judgment against b (at least one)."""
    direct = [j["winner"] for j in judgments if {j["node_a"], j["node_b"]} == {a, b} and j["winner"] is not None]
    return bool(direct) and all(w == a for w in direct)


def extract_pairs(trees: list[dict], nodes: list[dict], judgments: list[dict], problems: dict[str, str], prompt_for,
                  cfg, iteration: int) -> tuple[list[dict], dict]:
    """Pair rows and gate counts. `problems`: problem_id -> text; `prompt_for(problem, prefix_steps)`."""
    by_id = {n["node_id"]: n for n in nodes}
    judged = defaultdict(list)  # (parent_id, round) -> judgment rows of that round
    for j in judgments:
        judged[(j["parent_id"], j["round"])].append(j)
    tree_of = {t["tree_id"]: t for t in trees}
    strategy_of = {t["tree_id"]: t["strategy"] for t in trees}
    rows, dropped = [], dict.fromkeys(GATES, 0)
    per_round = getattr(cfg, "per_round", "best_worst")
    candidates = candidate_pairs(nodes, strategy_of, {t["tree_id"]: t.get("judge_schedule") for t in trees}, per_round)
    ranks = {k: v for group in rounds_of(nodes, keep=lambda n: n["judged"])
             for k, v in judge_ranks(group, strategy_of[group[0]["tree_id"]]).items()}
    for chosen, rejected in candidates:
        tree = tree_of[chosen["tree_id"]]
        prefix = path_texts(by_id, chosen["parent_id"])
        prompt = prompt_for(problems[tree["problem_id"]], prefix)
        margin = judge_margin(chosen, rejected, tree["strategy"])
        # solution pairs were scored one by one, never compared: the head-to-head gate does not apply
        won = tree["strategy"] == "solution" or head_to_head(
            judged[(chosen["parent_id"], chosen["round"])], chosen["node_id"], rejected["node_id"])
        failed = gate(chosen["text"], rejected["text"], margin, prompt, cfg, won)
        if failed:
            dropped[failed] += 1
            continue
        row = pair_row(iteration, tree, chosen, rejected, prompt, prefix, margin,
                       ranks.get(chosen["node_id"]), ranks.get(rejected["node_id"]), ranked=per_round == "ranked")
        if tree["strategy"] == "solution":  # whole responses: both end with EOS
            row.update(is_final_step=True, chosen_terminal=True, rejected_terminal=True)
        rows.append(row)
    return rows, {"candidates": len(candidates), "kept": len(rows), "dropped": dropped}

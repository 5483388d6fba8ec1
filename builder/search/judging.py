"""Pure decision rules of self-judging: which pairs to judge, scores, best/worst, all-tie, seeds.

Every function takes and returns plain values so tests call them directly.

Round robin over the d distinct candidates of a round, numbered 0..d-1 in sampling order: every
unordered pair {i, j} (i < j) is judged. `swapped` is true when the candidate shown as A was
sampled later than B. With `judge_orders: both` each pair is judged in both orders (i as A, then
j as A): d(d-1) calls. With `one` each pair is judged once, d(d-1)/2 calls, and which candidate
is A is a seeded coin flip per pair (`coin_flip`), so a judge that prefers a position adds noise
instead of ranking candidates by sampling index. A candidate's score is the number of judgments
it won; an unparseable verdict is a win for neither side.

Tie-breaks: best = the highest score, among equals the lowest candidate index; worst = the lowest
score, among equals the lowest candidate index. All-tie (max == min, which includes "every verdict
unparseable") is the rollback trigger of the tournament.
"""

from __future__ import annotations

from builder.ids import derive_seed


def plan_pairs(width: int, orders: str = "both", flip=None) -> list[tuple[int, int, bool]]:
    """(index shown as A, index shown as B, swapped) for every judge call of one round.

    `flip(i, j) -> bool` decides, for `one`, whether j (the later sample) is shown as A; without
    it the lower index is A (callers in the search always pass the seeded coin)."""
    if orders not in ("both", "one"):
        raise ValueError(f"judge_orders must be 'both' or 'one', got {orders!r}")
    out = []
    for i in range(width):
        for j in range(i + 1, width):
            if orders == "both":
                out += [(i, j, False), (j, i, True)]
            elif flip is not None and flip(i, j):
                out.append((j, i, True))
            else:
                out.append((i, j, False))
    return out


def coin_flip(seed: int, tree_id: str, round_: int, index_i: int, index_j: int) -> bool:
    """The seeded coin of `judge_orders: one` for the pair of candidate indices (i, j), i < j:
    true shows j as A. Derived from the run seed, tree, round and pair, so it is reproducible."""
    return derive_seed(seed, tree_id, round_, "order", index_i, index_j) % 2 == 1


def scores(width: int, pairs: list[tuple[int, int, bool]], verdicts: list[str | None]) -> list[int]:
    """Wins per candidate: the A side wins on "A", the B side on "B", nobody on None."""
    wins = [0] * width
    for (a, b, _), verdict in zip(pairs, verdicts, strict=True):
        if verdict == "A":
            wins[a] += 1
        elif verdict == "B":
            wins[b] += 1
    return wins


def games(width: int, pairs: list[tuple[int, int, bool]]) -> list[int]:
    """Judgments each candidate took part in (the denominator of its win rate)."""
    out = [0] * width
    for a, b, _ in pairs:
        out[a] += 1
        out[b] += 1
    return out


def best_index(wins: list[int]) -> int:
    """argmax; ties go to the lowest candidate index."""
    return max(range(len(wins)), key=lambda i: (wins[i], -i))


def worst_index(wins: list[int]) -> int:
    """argmin; ties go to the lowest candidate index."""
    return min(range(len(wins)), key=lambda i: (wins[i], i))


def all_tie(wins: list[int]) -> bool:
    """No candidate stands out: the tournament rolls back (never true for a single candidate)."""
    return len(wins) > 1 and max(wins) == min(wins)


def best_worst(scored: list[tuple[int, float | None]]) -> tuple[int, int] | None:
    """Solution strategy: (best, worst) candidate index by mean self-score, ties to the lowest
    index; None when no two scores differ (no preference: no pair).

    `scored` is (candidate_index, score) per solution; solutions with score None are left out.
    """
    valid = [(i, s) for i, s in scored if s is not None]
    if len(valid) < 2:
        return None
    best = max(valid, key=lambda p: (p[1], -p[0]))
    worst = min(valid, key=lambda p: (p[1], p[0]))
    return None if best[1] == worst[1] else (best[0], worst[0])


def probability_scores(width: int, pairs: list[tuple[int, int, bool]], verdicts: list) -> list[float]:
    """`search.score: probability`: summed probability of winning per candidate. The A side gets
    p_a and the B side 1 - p_a (builder.verdicts.Verdict); a parsed verdict without p_a counts
    1 or 0 like a win, no verdict 0 for both."""
    out = [0.0] * width
    for (a, b, _), v in zip(pairs, verdicts, strict=True):
        p = v.p_a if v.p_a is not None else {"A": 1.0, "B": 0.0}.get(v.verdict)
        if p is not None:
            out[a] += p
            out[b] += 1.0 - p
    return out

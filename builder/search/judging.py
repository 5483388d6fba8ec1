"""Pure decision rules of self-judging: which pairs to judge, scores, best/worst, all-tie, seeds.

Every function takes and returns plain values so tests call them directly.

Round robin: for candidates 0..w-1 every unordered pair {i, j} (i < j) is judged with the lower
index shown as A (`swapped` False); with `judge_orders: both` it is judged again with the order
reversed (`swapped` True): w(w-1) calls; with `one`, w(w-1)/2. A candidate's score is the number
of judgments it won; an unparseable verdict is a win for neither side.

Tie-breaks: best = the highest score, among equals the lowest candidate index; worst = the lowest
score, among equals the lowest candidate index. All-tie (max == min, which includes "every verdict
unparseable") is the rollback trigger of the tournament.
"""

from __future__ import annotations

import hashlib


def plan_pairs(width: int, orders: str = "both") -> list[tuple[int, int, bool]]:
    """(index shown as A, index shown as B, swapped) for every judge call of one round."""
    if orders not in ("both", "one"):
        raise ValueError(f"judge_orders must be 'both' or 'one', got {orders!r}")
    out = []
    for i in range(width):
        for j in range(i + 1, width):
            out.append((i, j, False))
            if orders == "both":
                out.append((j, i, True))
    return out


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


def derive_seed(*parts) -> int:
    """A request seed from named parts (run seed, tree id, round, kind, k): stable across processes."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**63)

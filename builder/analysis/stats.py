"""Statistics for comparing models on the same held-out problems: Wilson intervals, exact McNemar.

Plain functions of counts, so the report, `bench/` scripts and tests share one definition.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default); (0, 1) when total is 0."""
    if total <= 0:
        return (0.0, 1.0)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lo = 0.0 if correct <= 0 else max(0.0, centre - half)  # exact at the edges, not 1 - 1e-16
    hi = 1.0 if correct >= total else min(1.0, centre + half)
    return (lo, hi)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (A right/B wrong, B right/A wrong).

    Under the null each discordant problem goes either way with probability 1/2, so the p-value is
    the two-sided binomial tail: min(1, 2 * P(X <= min(b, c))) for X ~ Bin(b + c, 1/2).
    """
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_difference_interval(only_a: int, only_b: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wald interval (95 % by default) of a paired difference of proportions, p_a - p_b, over n
    units each scored for both: (only_a - only_b) / n +- z * sqrt(only_a + only_b - (only_a -
    only_b)^2 / n) / n, clipped to [-1, 1]; (-1, 1) when n is 0. Rough for few discordant units."""
    if n <= 0:
        return (-1.0, 1.0)
    diff = (only_a - only_b) / n
    half = z * math.sqrt(max(0.0, only_a + only_b - (only_a - only_b) ** 2 / n)) / n
    return (max(-1.0, diff - half), min(1.0, diff + half))


def paired_counts(a: dict[str, bool], b: dict[str, bool]) -> dict[str, int]:
    """Discordance of two models' correctness on the problems both were scored on (keyed by id)."""
    shared = a.keys() & b.keys()
    only_a = sum(1 for k in shared if a[k] and not b[k])
    only_b = sum(1 for k in shared if b[k] and not a[k])
    both = sum(1 for k in shared if a[k] and b[k])
    return {"problems": len(shared), "only_a": only_a, "only_b": only_b, "both": both,
            "neither": len(shared) - only_a - only_b - both}

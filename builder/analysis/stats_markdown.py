"""The statistics section in Markdown: one row per model, intervals and p-values written out.

Cells come out as strings; builder/analysis/markdown.py lays them out (this module imports nothing
of it, so the two never import each other).
"""

from __future__ import annotations


def fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)

HEADER = ["model", "benchmark", "greedy [95 % CI] (n)", "vs previous: diff (only prev / only this)", "McNemar p",
          "search [95 % CI] (n)", "judge on labeled pairs", "judge on own candidates (n)",
          "right-over-wrong pairs (n known)", "first-position rate", "steps/solution greedy", "steps/solution search"]

NOTES = [
    "Intervals: Wilson score, 95 %. Difference and p: the same problems scored for both models; the",
    "exact two-sided McNemar test on the discordant counts (builder/sql/evals_paired.sql). Judge on",
    "labeled pairs: `psr eval-judge --save` (EFT test split when saved, both orders). Judge on own",
    "candidates, right-over-wrong pairs, first-position rate, search steps: iteration N's search by M(N).",
]


def _acc(row: dict, prefix: str) -> str:
    if row[f"{prefix}_accuracy"] is None:
        return "-"
    return (f"{row[f'{prefix}_accuracy']:.3f} [{row[f'{prefix}_ci_low']:.3f}, {row[f'{prefix}_ci_high']:.3f}]"
            f" ({row[f'{prefix}_problems']})")


def _diff(row: dict) -> str:
    if row["difference"] is None:
        return "-"
    return f"{row['difference']:+.3f} vs {row['prev_model']} ({row['only_prev']} / {row['only_this']})"


def _with_n(value, n) -> str:
    return "-" if value is None else f"{fmt(value)} ({fmt(n)})"


def _p(value) -> str:
    return "-" if value is None else (f"{value:.2e}" if value < 0.001 else f"{value:.3f}")


def statistics_body(rows: list[dict]) -> list[list[str]]:
    """One row of cells per model and benchmark, under HEADER."""
    return [[r["model"], r["benchmark"], _acc(r, "greedy"), _diff(r), _p(r["mcnemar_p"]), _acc(r, "search"),
             fmt(r["judge_labeled_accuracy"]), _with_n(r["judge_own_accuracy"], r["judge_own_judgments"]),
             _with_n(r["right_over_wrong_rate"], r["pairs_known"]), fmt(r["first_position_rate"]),
             fmt(r["eval_steps_mean"]), fmt(r["search_steps_mean"])] for r in rows]

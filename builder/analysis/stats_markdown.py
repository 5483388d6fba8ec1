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


GAP_HEADER = ["model", "benchmark", "judge on own mixed rounds (n)", "greedy step at those rounds",
              "gap [95 % CI] (McNemar p)", "judge tokens/decision, calls/step (search of iteration N)",
              "search vs greedy: diff (only search / only greedy) (n)", "McNemar p",
              "judge tokens/decision, calls/step (eval search)"]

GAP_NOTES = [
    "Mixed rounds: iteration N's rounds whose judged candidates include a checker-correct and a wrong step,",
    "at parents with the policy's greedy step recorded (search.record_greedy or greedy_candidate). The",
    "judge is right when the step it named best is correct (an undecided round is a miss); the gap is",
    "judge minus greedy, paired over rounds (Wald interval, exact McNemar; builder/sql/gap.sql). Search vs",
    "greedy: `psr eval` in both modes on the same problems (builder/sql/search_vs_greedy.sql).",
]


def _gap(row: dict) -> str:
    if row["gap"] is None:
        return "-"
    return f"{row['gap']:+.3f} [{row['gap_ci_low']:+.3f}, {row['gap_ci_high']:+.3f}] ({_p(row['gap_p'])})"


def _svg(row: dict) -> str:
    if row["svg_difference"] is None:
        return "-"
    return f"{row['svg_difference']:+.3f} ({row['svg_only_search']} / {row['svg_only_greedy']}) ({row['svg_problems']})"


def _cost(tokens, calls) -> str:
    return "-" if tokens is None and calls is None else f"{fmt(tokens)}, {fmt(calls)}"


def gap_body(rows: list[dict]) -> list[list[str]]:
    """One row of cells per model and benchmark, under GAP_HEADER."""
    return [[r["model"], r["benchmark"], _with_n(r["judge_round_accuracy"], r["gap_rounds"]),
             fmt(r["greedy_step_accuracy"]), _gap(r),
             _cost(r["search_judge_tokens_per_decision"], r["search_judge_calls_per_step"]),
             _svg(r), _p(r["svg_mcnemar_p"]),
             _cost(r["eval_judge_tokens_per_decision"], r["eval_judge_calls_per_step"])] for r in rows]

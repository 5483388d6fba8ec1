"""The report's statistics: one row per model M(N) and benchmark, from sections already queried.

Greedy (and search, where evaluated) accuracy with a 95 % Wilson interval, the paired difference
to the previous evaluated model with an exact McNemar p-value (counts from builder/sql/evals_paired.sql),
and beside them the judge and drift figures of the same model: judge accuracy on labeled EFT pairs
(`psr eval-judge --save`), on its own candidates (judge_truth), the share of right-over-wrong pairs
(pairs_truth), the first-position rate (judge_consistency) and steps per solution (evals, drift);
the generation-verification gap at the model's mixed rounds (gap) and its test-time search against
greedy on the same problems (search_vs_greedy), each with its judge tokens per decision and judge
calls per accepted step.
Iteration N's search, pairs and judgments are M(N)'s, so they sit on M(N)'s row.
"""

from __future__ import annotations

from builder.analysis.stats import mcnemar_exact, wilson_interval

MODES = ("greedy", "search")


def _by_iteration(rows: list[dict], **where) -> dict[int, dict]:
    return {r["iteration"]: r for r in rows if all(r.get(k) == v for k, v in where.items())}


def _judge_eval(rows: list[dict]) -> dict[int, dict]:
    """One labeled-pairs figure per model; the run's EFT test split wins over other sources."""
    out: dict[int, dict] = {}
    for r in sorted(rows, key=lambda r: str(r["pairs_source"]) == "eft:test"):  # eft:test last: it wins
        if isinstance(r["iteration"], int):
            out[r["iteration"]] = r
    return out


def accuracy_cells(row: dict | None, prefix: str) -> dict:
    if not row:
        return {f"{prefix}_problems": None, f"{prefix}_correct": None, f"{prefix}_accuracy": None,
                f"{prefix}_ci_low": None, f"{prefix}_ci_high": None}
    lo, hi = wilson_interval(row["correct"], row["problems"])
    return {f"{prefix}_problems": row["problems"], f"{prefix}_correct": row["correct"],
            f"{prefix}_accuracy": row["accuracy"], f"{prefix}_ci_low": lo, f"{prefix}_ci_high": hi}


def paired_cells(row: dict | None) -> dict:
    if not row:
        return {"prev_model": None, "problems_shared": None, "only_prev": None, "only_this": None,
                "difference": None, "mcnemar_p": None}
    return {"prev_model": f"M{row['prev_iteration']}", "problems_shared": row["problems_shared"],
            "only_prev": row["only_prev"], "only_this": row["only_this"], "difference": row["difference"],
            "mcnemar_p": mcnemar_exact(row["only_prev"], row["only_this"])}


def gap_cells(gap: dict | None, svg: dict | None) -> dict:
    """The generation-verification gap of the model's own search (report section gap) and its
    test-time search vs greedy on the benchmark (section search_vs_greedy), with their costs."""
    gap, svg = gap or {}, svg or {}
    return {
        "gap_rounds": gap.get("mixed_rounds"), "gap_judge_only": gap.get("judge_only"),
        "gap_greedy_only": gap.get("greedy_only"), "judge_round_accuracy": gap.get("judge_accuracy"),
        "greedy_step_accuracy": gap.get("greedy_accuracy"), "gap": gap.get("gap"),
        "gap_ci_low": gap.get("gap_ci_low"), "gap_ci_high": gap.get("gap_ci_high"), "gap_p": gap.get("gap_p"),
        "search_judge_tokens_per_decision": gap.get("judge_tokens_per_decision"),
        "search_judge_calls_per_step": gap.get("judge_calls_per_step"),
        "svg_problems": svg.get("problems_shared"), "svg_only_search": svg.get("only_search"),
        "svg_only_greedy": svg.get("only_greedy"), "svg_difference": svg.get("difference"),
        "svg_mcnemar_p": svg.get("mcnemar_p"), "eval_judge_tokens_per_decision": svg.get("judge_tokens_per_decision"),
        "eval_judge_calls_per_step": svg.get("judge_calls_per_step"),
    }


def statistics_rows(sections: dict) -> list[dict]:
    evals, paired = sections.get("evals", []), [r for r in sections.get("evals_paired", []) if r["mode"] == "greedy"]
    judge_eval = _judge_eval(sections.get("judge_eval", []))
    truth, pairs = _by_iteration(sections.get("judge_truth", [])), _by_iteration(sections.get("pairs_truth", []))
    consistency, drift = _by_iteration(sections.get("judge_consistency", [])), _by_iteration(sections.get("drift", []))
    gap, svg = _by_iteration(sections.get("gap", [])), sections.get("search_vs_greedy", [])
    out = []
    for bench, n in sorted({(r["benchmark"], r["iteration"]) for r in evals}):
        greedy = _by_iteration(evals, benchmark=bench, mode="greedy").get(n)
        search = _by_iteration(evals, benchmark=bench, mode="search").get(n)
        je, jt, pt = judge_eval.get(n, {}), truth.get(n, {}), pairs.get(n, {})
        out.append({
            "model": f"M{n}", "iteration": n, "benchmark": bench,
            **accuracy_cells(greedy, "greedy"),
            **paired_cells(_by_iteration(paired, benchmark=bench).get(n)),
            **accuracy_cells(search, "search"),
            "judge_labeled_accuracy": je.get("accuracy"), "judge_labeled_source": je.get("pairs_source"),
            "judge_own_accuracy": jt.get("judge_accuracy"), "judge_own_judgments": jt.get("judgments_mixed"),
            "right_over_wrong_rate": pt.get("right_order_rate"), "pairs_known": pt.get("pairs_known"),
            "first_position_rate": consistency.get(n, {}).get("first_position_rate"),
            "eval_steps_mean": (greedy or {}).get("steps_mean"),
            "search_steps_mean": drift.get(n, {}).get("steps_mean"),
            **gap_cells(gap.get(n), _by_iteration(svg, benchmark=bench).get(n)),
        })
    return out

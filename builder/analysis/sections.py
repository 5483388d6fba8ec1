"""The report's sections, in report order: what `build_report` computes and the renderers print.

Its own module so the report builder and the Markdown renderer both read it without importing
each other.
"""

from __future__ import annotations

# (section, SQL file in builder/sql/, title) in report order.
SECTIONS = (
    ("volume", "volume", "Volume"),
    ("search", "search", "What the search did: samples, distinct candidates, ties, rollbacks, pairs"),
    ("judge_consistency", "judge_consistency", "Judge consistency"),
    ("judge_truth", "judge_truth", "Judge vs step correctness"),
    ("gap", "gap", "Generation-verification gap: the judge's pick vs the policy's greedy step at its mixed rounds"),
    ("debiased_preference", "debiased_preference", "Verdict sources and position-debiased preference"),
    ("verdict_calibration", "verdict_calibration", "Calibration of P(A) against step correctness"),
    ("pairs_truth", "pairs_truth", "Training pairs vs step correctness"),
    ("outcome", "outcome", "Outcome of the search (accepted path vs gold)"),
    ("drift", "drift", "Drift: steps per solution and step length"),
    ("evals", "evals", "Held-out evaluation (psr eval)"),
    ("search_vs_greedy", "search_vs_greedy", "Test-time search vs greedy, same model and problems (exact McNemar)"),
    ("evals_paired", "evals_paired", "Held-out evaluation, each model against the previous one (same problems)"),
    ("ceiling", "ceiling", "Oracle ceiling: judge-trained vs checker-trained (ORACLE-labelled pairs) M(N+1) against M(N)"),
)
# Not SQL: the figures `psr eval-judge --save` wrote to RUN/eval/judge-M<N>-*.json.
JUDGE_EVAL = ("judge_eval", "Judge accuracy on labeled pairs (psr eval-judge --save)")
# Not SQL: per model, accuracy with Wilson intervals and McNemar p beside the judge figures
# (builder/analysis/significance.py).
STATISTICS = ("statistics", "Statistics per model (95 % Wilson intervals, exact McNemar vs the previous model)")
JUDGE_EVAL_KEYS = ("iteration", "pairs_source", "verdict", "pairs", "accuracy", "both_orders_accuracy",
                   "swap_consistency", "first_position_rate", "unparseable_rate", "brier", "ece")

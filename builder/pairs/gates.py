"""The pairs' quality gates, shared by both labellers, and how their counts are told to the user.

Gates, in order (a candidate is counted under the first gate it fails): empty (chosen or rejected
has an empty body), identical (same body after whitespace normalization), head_to_head (with
pairs.require_head_to_head: the chosen step did not win its direct judgments against the rejected
one, builder/pairs/judge.py), margin (below pairs.min_margin, when > 0), prompt_too_long,
step_too_long. candidates = kept + sum(dropped).
"""

from __future__ import annotations

from builder.steps import norm_body, step_body

GATES = ("empty", "identical", "head_to_head", "margin", "prompt_too_long", "step_too_long")


def gate(chosen: str, rejected: str, margin: float, prompt: str, cfg, won_head_to_head: bool = True) -> str | None:
    """The first gate a candidate pair fails, or None when it is kept."""
    if not step_body(chosen) or not step_body(rejected):
        return "empty"
    if norm_body(chosen) == norm_body(rejected):
        return "identical"
    if cfg.require_head_to_head and not won_head_to_head:
        return "head_to_head"
    if cfg.min_margin > 0 and margin < cfg.min_margin:
        return "margin"
    if cfg.max_prompt_chars is not None and len(prompt) > cfg.max_prompt_chars:
        return "prompt_too_long"
    if cfg.max_step_chars is not None and max(len(chosen), len(rejected)) > cfg.max_step_chars:
        return "step_too_long"
    return None


def gates_text(g: dict) -> str:
    """The gate counts in one phrase (psr pairs, psr export)."""
    if not g:
        return "no gate counts"
    drops = ", ".join(f"{name} {n}" for name, n in g["dropped"].items())
    return f"{g['candidates']} candidates, kept {g['kept']}, dropped: {drops}"


def no_pairs_hint(g: dict, strategy: str, run_root, iteration: int) -> str:
    """Why iteration N has no pairs and what to change; an iteration with 0 pairs cannot train M(N+1)."""
    if g.get("candidates"):
        worst = max(g["dropped"], key=g["dropped"].get)
        why = f"all {g['candidates']} candidates failed a quality gate (most: {worst})"
    elif strategy == "solution":
        why = "no tree had two solutions with different scores (every score null or equal)"
    else:  # e.g. a position-biased judge with judge_orders: both ties every round
        why = "no round expressed a preference (every judged round was an all-tie, or had one distinct candidate)"
    remedies = ("a judge that answers `Score: <points>` (docs/baseline.md), search.judge_samples > 1, more "
                "problems (problems.per_iteration) or a larger search.width" if strategy == "solution" else
                "search.judge_orders: one, more problems (problems.per_iteration), search.samples > search.width")
    return (f"{why}; see the search section of `psr report`. Remedies in run.yaml: {remedies}; then redo the "
            f"iteration with `psr generate --run {run_root} --iter {iteration} --force`")

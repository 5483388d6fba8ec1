"""Solution-level self-rewarding (strategy "solution"): the SRLM baseline of Yuan et al. 2024.

The baseline PSRLM (arXiv 2503.03746, Table 1) compares against, run with the same loop and tables
as the step-wise strategies. One round per tree:
1. Generation: `width` complete solutions from the reasoning prompt (one request, n = width),
   stopping at EOS or after `max_steps` steps (the stop string "\\nStep <max_steps + 1>:").
   Each is a depth-1 child of the root (`judged`: all are scored, identical ones too): its raw
   text, `n_steps` (builder.steps.split_steps), terminal flag, and the correctness of its boxed
   answer (step_correct) where a gold answer exists.
2. Scoring: each solution is scored by the same model with the judge template (`judge_srlm`:
   the additive 0-5 rubric of Yuan et al. 2024, Figure 2), `judge_samples` calls per solution at
   `judge_temperature`. A judgment row per call keeps the raw output and the parsed points
   (`parse_score`: the last "Score: <points>", null when there is none). Points outside 0-5 are
   recorded in that row but left out of the solution's mean (not clipped); a solution with no
   in-range score has score null and takes no part in best/worst.
3. The best-scored solution (ties to the lowest candidate index) is the accepted path: the tree
   is "finished" when it is terminal, else "max_steps".
Pairs (builder.pairs): highest vs lowest mean score, none when they tie (judging.best_worst).
"""

from __future__ import annotations

import re

from builder.engines.base import Request
from builder.ids import derive_seed
from builder.search import judging
from builder.search.context import SearchContext
from builder.search.state import FINISHED, MAX_STEPS, Judgment, Node, SampledRound, Tree

SCORE_RANGE = (0.0, 5.0)
# "Score: 4", "Score: 4/5", "**Score:** 3", "score : 3.5"; the number after the last such label counts.
_SCORE = re.compile(r"score\s*\**\s*:\s*\**\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_score(text) -> float | None:
    """The points of the last "Score: <points>" in a judge output (any range), else None."""
    if not isinstance(text, str):
        return None
    found = _SCORE.findall(text)
    return float(found[-1]) if found else None


def in_range(score: float | None) -> bool:
    return score is not None and SCORE_RANGE[0] <= score <= SCORE_RANGE[1]


def mean_score(scores: list[float | None]) -> float | None:
    """Mean of the in-range scores; None when there is none (unparseable or out of range)."""
    valid = [s for s in scores if in_range(s)]
    return sum(valid) / len(valid) if valid else None


def solution_stop(max_steps: int) -> str:
    """The stop string that ends a solution after `max_steps` steps (the engine drops it)."""
    return f"\nStep {max_steps + 1}:"


def plan_generation(ctx: SearchContext, tree: Tree, round_: int):
    if tree.root.children:
        return None
    prompt = ctx.renderer.generation_prompt(ctx.templates.reasoning, tree.problem, [])
    return Request(
        prompt=prompt, n=ctx.cfg.width, temperature=ctx.cfg.temperature, top_p=ctx.cfg.top_p,
        max_tokens=ctx.cfg.max_steps * ctx.cfg.max_step_tokens, stop=(solution_stop(ctx.cfg.max_steps),),
        seed=derive_seed(ctx.seed, tree.tree_id, round_, "solution"),
    )


def on_generated(ctx: SearchContext, tree: Tree, round_: int, completions) -> None:
    from builder.steps import extract_boxed, is_terminal, split_steps

    tree.pending = []
    for i, c in enumerate(completions):
        node = tree.add_node(tree.root, round_, i)
        node.text = c.text
        node.n_steps = len(split_steps(c.text))
        node.is_terminal = is_terminal(c.text, c.finish_reason)
        node.finish_reason, node.n_tokens, node.logprob = c.finish_reason, c.n_tokens, c.logprob
        node.judged = True  # every solution is scored, identical ones too (as in Yuan et al.)
        if ctx.checker is not None and tree.answer is not None:
            answer = extract_boxed(c.text)
            node.step_correct = None if answer is None else bool(ctx.checker.check_answer(answer, tree.answer))
        tree.gen_tokens += c.n_tokens
        tree.pending.append(node)
    distinct = len({" ".join(n.text.split()) for n in tree.pending})
    tree.sampled.append(SampledRound(len(tree.pending), distinct, len(tree.pending)))


def plan_judging(ctx: SearchContext, tree: Tree, round_: int):
    """`judge_samples` scoring calls per pending solution, solution-major."""
    k = ctx.cfg.judge_samples
    return [
        Request(
            prompt=ctx.renderer.score_prompt(ctx.templates.judge, tree.problem, node.text), n=1,
            temperature=ctx.cfg.judge_temperature, top_p=1.0, max_tokens=ctx.cfg.judge_max_tokens, stop=(),
            seed=derive_seed(ctx.seed, tree.tree_id, round_, "score", node.candidate_index, s),
        )
        for node in tree.pending for s in range(k)
    ]


def on_judged(ctx: SearchContext, tree: Tree, round_: int, outputs) -> None:
    k = ctx.cfg.judge_samples
    for at, node in enumerate(tree.pending):
        mine = outputs[at * k:(at + 1) * k]
        scores = [parse_score(o.text) for o in mine]
        for out, score in zip(mine, scores, strict=True):
            tree.judgments.append(Judgment(tree.next_judgment_id(), tree.root.node_id, round_, node.node_id, None,
                                           False, None, out.text, out.n_tokens, score))
            tree.judge_tokens += out.n_tokens
        tree.judge_calls += len(mine)
        node.score = mean_score(scores)
    if tree.sampled:  # no two different scores: no preference (the stats' all-tie rounds)
        tree.sampled[-1].all_tie = judging.best_worst([(n.candidate_index, n.score) for n in tree.pending]) is None


def end_round(ctx: SearchContext, tree: Tree) -> None:
    finalize(ctx, tree)


def accepted(nodes: list[Node]) -> Node:
    """The best-scored solution (unscored ones rank last), ties to the lowest candidate index."""
    return max(nodes, key=lambda n: (n.score is not None, n.score or 0.0, -n.candidate_index))


def finalize(ctx: SearchContext, tree: Tree) -> None:
    tree.pending = []
    solutions = tree.root.children
    if not solutions:  # the engine returned no completion: nothing to accept
        tree.status = MAX_STEPS
        return
    best = accepted(solutions)
    best.on_path = True
    tree.path = [best]
    tree.status = FINISHED if best.is_terminal else MAX_STEPS

"""The paper's tournament search (PSRLM Sec. 3.3), one round at a time for one tree.

A round: sample w candidate next steps after the accepted path (one request, n = w), judge them
round robin, then
- all tie (max wins == min wins): roll back - the last accepted step leaves the path (on_path
  false, so its pair disappears) and the next round re-samples from its parent; with no accepted
  step yet, the next round simply re-samples step 1. Each counts against `max_rollbacks`; an
  all-tie with the budget spent ends the tree as "abandoned" (the rollback is not done).
- else accept the best candidate (argmax wins, ties to the lowest candidate index); the tree is
  "finished" when that step is terminal, "max_steps" when it is step `max_steps`.
Width 1 is greedy solving: the single candidate is accepted with no judge call.
"""

from __future__ import annotations

from builder.search import judging
from builder.search.context import SearchContext
from builder.search.state import ABANDONED, FINISHED, MAX_STEPS, Node, Tree


def current_parent(tree: Tree) -> Node:
    return tree.path[-1] if tree.path else tree.root


def plan_generation(ctx: SearchContext, tree: Tree, round_: int):
    return ctx.generation_request(tree, current_parent(tree), round_)


def on_generated(ctx: SearchContext, tree: Tree, round_: int, completions) -> None:
    candidates = ctx.add_candidates(tree, current_parent(tree), round_, completions)
    tree.pending = candidates
    if len(candidates) == 1:
        accept(ctx, tree, candidates[0])


def plan_judging(ctx: SearchContext, tree: Tree, round_: int):
    if len(tree.pending) < 2:
        return []
    return ctx.judge_requests(tree, tree.pending, round_)


def on_judged(ctx: SearchContext, tree: Tree, round_: int, outputs) -> None:
    wins = ctx.record_verdicts(tree, round_, outputs)
    candidates, tree.pending = tree.pending, []
    if judging.all_tie(wins):
        rollback(ctx, tree)
    else:
        accept(ctx, tree, candidates[judging.best_index(wins)])


def accept(ctx: SearchContext, tree: Tree, node: Node) -> None:
    node.on_path = True
    tree.path.append(node)
    if node.is_terminal:
        tree.status = FINISHED
    elif node.depth >= ctx.cfg.max_steps:
        tree.status = MAX_STEPS


def rollback(ctx: SearchContext, tree: Tree) -> None:
    if tree.n_rollbacks >= ctx.cfg.max_rollbacks:
        tree.status = ABANDONED
        return
    tree.n_rollbacks += 1
    if tree.path:
        tree.path.pop().on_path = False


def end_round(ctx: SearchContext, tree: Tree) -> None:
    """Nothing to do: the tournament decides inside the round."""


def finalize(ctx: SearchContext, tree: Tree) -> None:
    """Nothing to do: the path is already marked."""

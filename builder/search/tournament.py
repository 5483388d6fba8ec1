"""The paper's tournament search (PSRLM Sec. 3.3), one round at a time for one tree.

A round: sample `samples` (default w) candidate next steps after the accepted path (one request),
group them by normalized step body (context.mark_distinct: duplicates point at their first
occurrence) and keep up to w distinct candidates in sampling order. Then:
- one distinct candidate: accept it, with no judge call, no pair and no rollback (the model is
  sure; there is nothing to compare);
- two or more: judge them with `search.judge_schedule` (schedules.py: round_robin, the paper's,
  knockout or adaptive), which names the best and the worst or leaves the round undecided, then
  - undecided (the round robin's all tie, max wins == min wins; see schedules.py for the others): roll back - the last accepted step leaves the path (on_path
    false, so it gives no pair) and the next round re-samples from its parent; with no accepted
    step yet, the next round simply re-samples step 1. The rollback is charged to the step being
    decided (`rollback_scope: step`, the depth of the tied candidates) or to the tree (`tree`),
    against `max_rollbacks`. With the budget spent, `on_rollbacks_spent` decides: `accept` takes
    the first distinct candidate (no pair: the round is an all-tie) and goes on; `abandon` does
    this last rollback too (so no pair of the popped step survives) and ends the tree "abandoned";
  - else accept the best the schedule named (round robin: argmax wins, ties to the lowest index).
The tree is "finished" when the accepted step is terminal, "max_steps" when it is step `max_steps`.
Width 1 is greedy solving: the single candidate is accepted with no judge call.

The greedy step (search.greedy_candidate, record_greedy): the round's generation call also asks
for the policy's greedy step at the parent, once per parent (plan_greedy / on_greedy); it is
recorded on the parent and, with greedy_candidate, is the round's first candidate.

Invariants (tested): with the round robin a round's judge calls are d(d-1) (both orders) or
d(d-1)/2 (one) for its d judged distinct candidates, and 0 when d = 1, and every accepted step of
a decisive round has the most wins among its distinct siblings; with every schedule the accepted
step is the one it named best (nodes.selection); no step a rollback discarded is on the path.
"""

from __future__ import annotations

from builder.search.context import SearchContext
from builder.search.state import ABANDONED, FINISHED, MAX_STEPS, Node, Tree


def current_parent(tree: Tree) -> Node:
    return tree.path[-1] if tree.path else tree.root


def plan_generation(ctx: SearchContext, tree: Tree, round_: int):
    return ctx.generation_request(tree, current_parent(tree), round_)


def plan_greedy(ctx: SearchContext, tree: Tree, round_: int):
    """The greedy step at the round's parent (search.greedy_candidate / record_greedy), or None."""
    return ctx.greedy_request(tree, current_parent(tree), round_)


def on_greedy(ctx: SearchContext, tree: Tree, round_: int, completion) -> None:
    ctx.record_greedy(tree, current_parent(tree), completion)


def on_generated(ctx: SearchContext, tree: Tree, round_: int, completions) -> None:
    candidates = ctx.add_candidates(tree, current_parent(tree), round_, completions)
    tree.pending = candidates
    if len(candidates) == 1:
        tree.pending = []
        accept(ctx, tree, candidates[0])


def plan_judging(ctx: SearchContext, tree: Tree, round_: int):
    """The judge schedule's first stage (no requests with fewer than two distinct candidates)."""
    if len(tree.pending) < 2:
        return []
    ctx.start_judging(tree, tree.pending, round_)
    return ctx.judge_requests(tree, round_)


def on_judged(ctx: SearchContext, tree: Tree, round_: int, outputs):
    """Record a stage; return the schedule's next stage, or, when it is done, accept the best it
    named or apply the all-tie rule when it left the round undecided."""
    ctx.record_verdicts(tree, round_, outputs)
    following = ctx.judge_requests(tree, round_)
    if following:
        return following
    decision = ctx.finish_judging(tree)
    candidates, tree.pending = tree.pending, []
    if decision.undecided:
        all_tie(ctx, tree, candidates)
    else:
        accept(ctx, tree, candidates[decision.best])
    return []


def accept(ctx: SearchContext, tree: Tree, node: Node) -> None:
    node.on_path = True
    tree.path.append(node)
    if node.is_terminal:
        tree.status = FINISHED
    elif node.depth >= ctx.cfg.max_steps:
        tree.status = MAX_STEPS


def rollbacks_charged(ctx: SearchContext, tree: Tree, depth: int) -> int:
    """Rollbacks already charged against the budget of this step (scope step) or tree (scope tree)."""
    return tree.n_rollbacks if ctx.cfg.rollback_scope == "tree" else tree.rollbacks_at.get(depth, 0)


def all_tie(ctx: SearchContext, tree: Tree, candidates: list[Node]) -> None:
    """The all-tie rule among >= 2 distinct candidates: roll back, or act on a spent budget."""
    depth = candidates[0].depth
    if rollbacks_charged(ctx, tree, depth) < ctx.cfg.max_rollbacks:
        rollback(tree, depth)
    elif ctx.cfg.on_rollbacks_spent == "accept":
        accept(ctx, tree, candidates[0])
    else:
        rollback(tree, depth)
        tree.status = ABANDONED


def rollback(tree: Tree, depth: int) -> None:
    tree.n_rollbacks += 1
    tree.rollbacks_at[depth] = tree.rollbacks_at.get(depth, 0) + 1
    if tree.path:
        tree.path.pop().on_path = False


def round_cap(cfg) -> int:
    """Most rounds a tree can need: one per step plus two per possible rollback (the tied round and
    re-deciding the popped step), plus the last rollback of an abandoned tree."""
    budget = cfg.max_rollbacks * (cfg.max_steps if cfg.rollback_scope == "step" else 1)
    return cfg.max_steps + 2 * budget + 2


def end_round(ctx: SearchContext, tree: Tree) -> None:
    """Nothing to do: the tournament decides inside the round."""


def finalize(ctx: SearchContext, tree: Tree) -> None:
    """Nothing to do: the path is already marked."""

"""Monte Carlo tree search guided by the model's own pairwise judgments (strategy "mcts").

One simulation per tree per round (so a round is still one generation call and one judge call
for all trees):
1. Selection: from the root, while the node has children, go to the child with the highest
   PUCT score  Q(c) + c_puct * P(c) * sqrt(N(parent)) / (1 + N(c)),  Q = the child's value,
   P = 1 / number of siblings (uniform: the judged win rate already enters Q as its prior),
   ties to the lowest candidate index.
2. Expansion: a non-terminal node above depth `max_steps` gets w children (one request, n = w);
   the siblings are judged round robin exactly as in the tournament. A child's prior is its win
   rate, wins / judgments it took part in (0.5 with width 1: nobody judged it). The simulation's
   value v is the best new child's win rate.
   A terminal node, or one at depth `max_steps`, is not expanded: v is its own win rate.
3. Backup: every node on the selected path (root to the expanded/evaluated node) gets
   visits += 1 and v added to its backed-up values; value = mean of the prior and the backed-up
   values, (prior + sum v) / (1 + visits); the root has no prior: sum v / visits. New children
   start with visits 0 and value = prior.

Invariant (tested): visits(n) = sum of its children's visits + the simulations that ended at n.
A node is expanded at most once, so an expanded node has visits = 1 + sum over its children and
the root's visits equal the simulations run.

After `simulations` rounds the accepted path follows the best child by value (ties: more
visits, then the lowest candidate index) from the root until a node without children; the tree
is "finished" if that node is terminal, else "max_steps" (the step or simulation budget ran out).
"""

from __future__ import annotations

import math

from builder.search.context import SearchContext
from builder.search.state import FINISHED, MAX_STEPS, Node, Tree


def puct(node: Node, parent_visits: int, siblings: int, c_puct: float) -> float:
    return node.value + c_puct * (1.0 / siblings) * math.sqrt(parent_visits) / (1 + node.visits)


def select(ctx: SearchContext, tree: Tree) -> list[Node]:
    path = [tree.root]
    node = tree.root
    while node.children:
        k, n = len(node.children), node.visits
        node = max(node.children, key=lambda c: (puct(c, n, k, ctx.cfg.mcts.c_puct), -c.candidate_index))
        path.append(node)
    return path


def backup(path: list[Node], v: float) -> None:
    for node in path:
        node.visits += 1
        node.backed_sum += v
    path[-1].ended += 1


def expandable(ctx: SearchContext, node: Node) -> bool:
    return not node.is_terminal and node.depth < ctx.cfg.max_steps


def plan_generation(ctx: SearchContext, tree: Tree, round_: int):
    if tree.root.visits is None:
        tree.root.visits = 0
    tree.sim_path = select(ctx, tree)
    leaf = tree.sim_path[-1]
    if not expandable(ctx, leaf):
        backup(tree.sim_path, leaf.win_rate)
        return None
    return ctx.generation_request(tree, leaf, round_)


def on_generated(ctx: SearchContext, tree: Tree, round_: int, completions) -> None:
    children = ctx.add_candidates(tree, tree.sim_path[-1], round_, completions)
    for child in children:
        child.visits = 0
    tree.pending = children
    if len(children) == 1:
        _set_priors_and_backup(tree)


def plan_judging(ctx: SearchContext, tree: Tree, round_: int):
    if len(tree.pending) < 2:
        return []
    return ctx.judge_requests(tree, tree.pending, round_)


def on_judged(ctx: SearchContext, tree: Tree, round_: int, outputs) -> None:
    ctx.record_verdicts(tree, round_, outputs)
    _set_priors_and_backup(tree)


def _set_priors_and_backup(tree: Tree) -> None:
    for child in tree.pending:
        child.prior = child.win_rate
    backup(tree.sim_path, max(c.prior for c in tree.pending))
    tree.pending = []


def end_round(ctx: SearchContext, tree: Tree) -> None:
    if tree.n_rounds >= ctx.cfg.mcts.simulations:
        finalize(ctx, tree)


def rank_key(node: Node) -> tuple:
    """Best child first: higher value, then more visits, then the lower candidate index."""
    return (node.value, node.visits, -node.candidate_index)


def finalize(ctx: SearchContext, tree: Tree) -> None:
    node = tree.root
    while node.children:
        node = max(node.children, key=rank_key)
        node.on_path = True
        tree.path.append(node)
    tree.status = FINISHED if tree.path and tree.path[-1].is_terminal else MAX_STEPS

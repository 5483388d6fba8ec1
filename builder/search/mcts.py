"""Monte Carlo tree search that uses only the model itself: its samples, its judgments, its rollouts.

One simulation per tree per round, in three batched phases shared by all trees of a chunk
(generation, judging, rollouts: at most three engine calls per round):
1. Selection: from the root, while the node is expanded, go to the child with the highest PUCT
   score  Q(c) + c_puct * P(c) * sqrt(N(parent)) / (1 + N(c)),  ties to the lowest candidate
   index. Only evaluated children (the round's distinct candidates) that are not exhausted are
   eligible. A node is exhausted when it is terminal, at depth `max_steps`, or all its eligible
   children are exhausted: a solved leaf is never selected again. When the root is exhausted the
   search of that tree ends early.
2. Expansion: the selected leaf gets `samples` children (one request); duplicates point at their
   first occurrence and up to w distinct ones are the candidates (context.mark_distinct), judged
   round robin as in the tournament (none when there is one). Prior P(c) = c's judged win rate /
   the sum of its distinct siblings' (uniform when all are 0; 1 for a single candidate).
3. Evaluation: every candidate c gets `mcts.rollouts` sampled continuations to a terminal step
   (one request each, no step stop; a terminal candidate is its own continuation). The tree keeps
   the final answers of all its rollouts so far; agree(c) = the share of c's continuations whose
   boxed answer equals the plurality answer of that pool (ties: the answer seen first; no boxed
   answer never agrees). The gold answer is never read. Leaf evaluation
       E(c) = rollout_weight * agree(c) + (1 - rollout_weight) * win_rate(c)
   (E(c) = win_rate(c) with 0 rollouts; win_rate 0.5 for an unjudged single candidate).
4. Backup: v = max E(c) over the new candidates; every node on the selected path gets visits += 1
   and v added to its backed-up values. Value Q(n) = (E(n) + sum v) / (1 + visits(n)); the root's
   is sum v / visits. New candidates start with visits 0, so Q = E.

Simulations: max(`mcts.simulations`, `max_steps`), so a path can reach the step limit.

Invariants (tested): visits(n) = sum of its children's visits + the simulations that ended at n;
every simulation ends with one expansion, so an expanded node has visits = 1 + sum over its
children and the root's visits equal the simulations run. Duplicates and unjudged distinct
extras are never selected (visits 0, value null).

Final path: from the root follow the evaluated child with the most visits (ties: higher value,
then the lowest candidate index) until a node with no evaluated children; "finished" if it is
terminal, else "max_steps". Pairs (builder/pairs/judge.py): per expanded node whose judgments were not
all ties, best vs worst judged candidate by (value, visits, lowest index).
"""

from __future__ import annotations

import math
from collections import Counter

from builder.engines.base import Request
from builder.ids import derive_seed
from builder.search.context import SearchContext
from builder.search.state import FINISHED, MAX_STEPS, Node, Tree


def simulations(cfg) -> int:
    return max(cfg.mcts.simulations, cfg.max_steps)


def puct(node: Node, parent_visits: int, c_puct: float) -> float:
    return node.value + c_puct * node.prior * math.sqrt(parent_visits) / (1 + node.visits)


def eligible(node: Node) -> list[Node]:
    """Children selection may enter: evaluated (distinct candidates) and not exhausted."""
    return [c for c in node.children if c.evaluation is not None and not c.exhausted]


def select(ctx: SearchContext, tree: Tree) -> list[Node] | None:
    """Root-to-leaf path of this simulation, or None when the root is exhausted."""
    if tree.root.exhausted:
        return None
    path = [tree.root]
    node = tree.root
    while node.children:
        n = node.visits
        node = max(eligible(node), key=lambda c: (puct(c, n, ctx.cfg.mcts.c_puct), -c.candidate_index))
        path.append(node)
    return path


def backup(path: list[Node], v: float) -> None:
    for node in path:
        node.visits += 1
        node.backed_sum += v
    path[-1].ended += 1


def plan_generation(ctx: SearchContext, tree: Tree, round_: int):
    if tree.root.visits is None:
        tree.root.visits = 0
    tree.sim_path = select(ctx, tree) or []
    if not tree.sim_path:
        return None
    return ctx.generation_request(tree, tree.sim_path[-1], round_)


def on_generated(ctx: SearchContext, tree: Tree, round_: int, completions) -> None:
    distinct = ctx.add_candidates(tree, tree.sim_path[-1], round_, completions)
    for child in tree.sim_path[-1].children:
        child.visits = 0
    tree.pending = distinct


def plan_judging(ctx: SearchContext, tree: Tree, round_: int):
    if len(tree.pending) < 2:
        return []
    ctx.start_judging(tree, tree.pending, round_)  # config: MCTS judges round robin (win-rate priors)
    return ctx.judge_requests(tree, round_)


def on_judged(ctx: SearchContext, tree: Tree, round_: int, outputs):
    """Record the verdicts; the priors come from the recorded wins (on_rollouts)."""
    ctx.record_verdicts(tree, round_, outputs)
    following = ctx.judge_requests(tree, round_)
    if not following:
        ctx.finish_judging(tree)
    return following


def plan_rollouts(ctx: SearchContext, tree: Tree, round_: int) -> list[Request]:
    """One request of `mcts.rollouts` continuations per new non-terminal candidate."""
    k = ctx.cfg.mcts.rollouts
    if not tree.pending or k == 0:
        return []
    out = []
    for c in tree.pending:
        if c.is_terminal:
            continue
        prompt = ctx.renderer.generation_prompt(ctx.templates.reasoning, tree.problem, c.path_texts())
        out.append(Request(
            prompt=prompt, n=k, temperature=ctx.cfg.temperature, top_p=ctx.cfg.top_p,
            max_tokens=ctx.cfg.max_step_tokens * max(1, ctx.cfg.max_steps - c.depth), stop=(),
            seed=derive_seed(ctx.seed, tree.tree_id, round_, "rollout", c.candidate_index),
        ))
    return out


def on_rollouts(ctx: SearchContext, tree: Tree, round_: int, outputs) -> None:
    """Score the new candidates, set priors and evaluations, back up, update exhaustion."""
    from builder.steps import extract_boxed

    if not tree.pending:
        return
    cands, tree.pending = tree.pending, []
    answers = {}
    if ctx.cfg.mcts.rollouts > 0:
        rolled = iter(outputs)
        for c in cands:
            done = [] if c.is_terminal else next(rolled)
            tree.gen_tokens += sum(o.n_tokens for o in done)
            answers[c.node_id] = [extract_boxed(t) for t in ([c.text] if c.is_terminal else [o.text for o in done])]
            tree.answers.extend(a for a in answers[c.node_id] if a is not None)
    plurality = Counter(tree.answers).most_common(1)[0][0] if tree.answers else None
    rates = [c.win_rate for c in cands]
    total = sum(rates)
    w = ctx.cfg.mcts.rollout_weight
    for c, rate in zip(cands, rates):
        c.prior = rate / total if total else 1.0 / len(cands)
        if c.node_id in answers:
            got = answers[c.node_id]
            c.rollout_score = sum(a is not None and a == plurality for a in got) / len(got)
            c.evaluation = w * c.rollout_score + (1 - w) * rate
        else:
            c.evaluation = rate
        c.exhausted = c.is_terminal or c.depth >= ctx.cfg.max_steps
    backup(tree.sim_path, max(c.evaluation for c in cands))
    for node in reversed(tree.sim_path):
        node.exhausted = node.exhausted or not eligible(node)


def end_round(ctx: SearchContext, tree: Tree) -> None:
    if tree.n_rounds >= simulations(ctx.cfg) or tree.root.exhausted:
        finalize(ctx, tree)


def rank_key(node: Node) -> tuple:
    """The final path's order: more visits, then higher value, then the lower candidate index."""
    return (node.visits, node.value, -node.candidate_index)


def finalize(ctx: SearchContext, tree: Tree) -> None:
    node = tree.root
    while any(c.evaluation is not None for c in node.children):
        node = max((c for c in node.children if c.evaluation is not None), key=rank_key)
        node.on_path = True
        tree.path.append(node)
    tree.status = FINISHED if tree.path and tree.path[-1].is_terminal else MAX_STEPS

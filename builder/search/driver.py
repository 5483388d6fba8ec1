"""The round loop: all active trees advance together, at most three engine calls per round.

Each round: one `engine.generate` call with every active tree's generation request (n =
`search.samples` each), then one call per judge schedule stage with the stage's judge requests of
every tree (the round robin has one stage; knockout and adaptive ceil(log2 d) for d candidates), then (strategies
with `plan_rollouts`, i.e. MCTS) one call with every rollout request. The number of engine calls
therefore grows with rounds x stages, never with the number of problems. A phase in which no
tree needs the engine (one distinct candidate everywhere, width 1, no rollouts) skips its call.

Strategy interface (tournament.py, mcts.py): plan_generation / on_generated / plan_judging /
on_judged / end_round / finalize, and optionally plan_rollouts / on_rollouts (on_rollouts is
called for every active tree, with an empty list when it planned none) and plan_greedy /
on_greedy (the tournament's greedy step at the parent, asked in the same generation call and
recorded before on_generated).

`run_search` needs no store: `psr generate` calls it per chunk, `psr eval` calls it with width 1
(greedy solving, no judge calls) or width w (test-time search).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from builder.search import mcts, solution, tournament
from builder.search.context import Checker, SearchContext, Templates
from builder.search.state import ACTIVE, MAX_STEPS, Tree, tree_id

STRATEGIES = {"tournament": tournament, "mcts": mcts, "solution": solution}


@dataclass(slots=True)
class SearchStats:
    rounds: int = 0
    engine_calls: int = 0
    engine_seconds: float = 0.0
    wall_seconds: float = 0.0
    gen_requests: int = 0
    judge_calls: int = 0
    judge_stages: int = 0  # engine calls of judge schedule stages (round robin: one per round that judged)
    gen_tokens: int = 0
    judge_tokens: int = 0
    rollout_requests: int = 0
    greedy_requests: int = 0  # greedy steps asked for (search.greedy_candidate / record_greedy): one per parent
    # What the search did with its samples (summed over trees; see `count_tree`).
    sampling_rounds: int = 0  # rounds that sampled candidates
    samples: int = 0
    distinct: int = 0  # distinct step bodies among the samples
    single_rounds: int = 0  # rounds decided with one distinct candidate (no judge call)
    judged_rounds: int = 0  # rounds with >= 2 distinct candidates judged
    all_tie_rounds: int = 0  # of those, rounds whose judgments were all ties
    rollbacks: int = 0
    accepted_steps: int = 0
    distinct_hist: dict = field(default_factory=dict)  # "d" -> rounds with d distinct samples

    def add(self, other: "SearchStats") -> None:
        for name in self.__slots__:
            if name == "distinct_hist":
                for d, n in other.distinct_hist.items():
                    self.distinct_hist[str(d)] = self.distinct_hist.get(str(d), 0) + n
            elif name != "rounds":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rounds = max(self.rounds, other.rounds)

    def count_tree(self, tree: Tree) -> None:
        for r in tree.sampled:
            self.sampling_rounds += 1
            self.samples += r.samples
            self.distinct += r.distinct
            self.distinct_hist[str(r.distinct)] = self.distinct_hist.get(str(r.distinct), 0) + 1
            self.single_rounds += r.judged == 0
            self.judged_rounds += r.judged > 1
            self.all_tie_rounds += r.all_tie
        self.rollbacks += tree.n_rollbacks
        self.accepted_steps += len(tree.path)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class SearchResult:
    trees: list[dict] = field(default_factory=list)
    nodes: list[dict] = field(default_factory=list)
    judgments: list[dict] = field(default_factory=list)
    stats: SearchStats = field(default_factory=SearchStats)


class NullProgress:
    """The progress interface run_search reports to; does nothing."""

    def on_round(self, round_: int, active: int) -> None: ...

    def on_tokens(self, gen_tokens: int = 0, judge_tokens: int = 0, judge_calls: int = 0) -> None: ...

    def on_trees_done(self, n: int) -> None: ...


def run_search(engine, renderer, problems: list[dict], search_cfg, templates: Templates, seed: int,
               checker: Checker | None = None, *, iteration: int = 0, chunk: int = 0, progress=None) -> SearchResult:
    """Search every problem ({problem_id, problem, answer}) with `search_cfg` (config.Search).

    Returns the rows of trees, nodes and judgments (schema columns minus `iteration`) and stats.
    `checker` (a Task, or context.AnswerChecker) fills step_correct and trees.correct; without it
    both stay null. Request seeds derive from (seed, tree id, round), so the same problems give
    the same requests in any process.
    """
    strategy = STRATEGIES[search_cfg.strategy]
    verdicts = _pairwise_verdicts(search_cfg, templates, engine, renderer)  # before any work
    ctx = SearchContext(renderer, templates, search_cfg, seed, checker, verdicts)
    progress = progress or NullProgress()
    trees = [Tree(tree_id(iteration, p["problem_id"]), p["problem_id"], p["problem"], p.get("answer"),
                  search_cfg.strategy, chunk,
                  judge_schedule=None if search_cfg.strategy == "solution" else search_cfg.judge_schedule) for p in problems]
    stats = SearchStats()
    started = time.perf_counter()
    active = list(trees)
    while active:
        stats.rounds += 1
        progress.on_round(stats.rounds, len(active))
        _generation_phase(engine, strategy, ctx, active, stats, progress)
        _judging_phase(engine, strategy, ctx, active, stats, progress)
        if hasattr(strategy, "plan_rollouts"):
            _rollout_phase(engine, strategy, ctx, active, stats, progress)
        active = _end_round(strategy, ctx, active, stats, progress)
    for tree in trees:
        _grade(tree, checker)
        stats.count_tree(tree)
    stats.wall_seconds = time.perf_counter() - started
    return _result(trees, stats)


def _generation_phase(engine, strategy, ctx, active, stats, progress) -> None:
    """One engine call: every tree's sampling request, plus (strategies with `plan_greedy`, the
    tournament) the greedy requests of parents whose greedy step is not known yet."""
    planned = [(t, strategy.plan_generation(ctx, t, stats.rounds)) for t in active]
    planned = [(t, r) for t, r in planned if r is not None]
    if not planned:
        return
    greedy = [(t, strategy.plan_greedy(ctx, t, stats.rounds)) for t, _ in planned] if hasattr(strategy, "plan_greedy") else []
    greedy = [(t, g) for t, g in greedy if g is not None]
    outputs = _call(engine, [r for _, r in planned] + [g for _, g in greedy], stats)
    tokens = 0
    for (tree, _), completions in zip(greedy, outputs[len(planned):], strict=True):
        strategy.on_greedy(ctx, tree, stats.rounds, completions[0])
        tokens += completions[0].n_tokens
    stats.greedy_requests += len(greedy)
    for (tree, _), completions in zip(planned, outputs[:len(planned)], strict=True):
        strategy.on_generated(ctx, tree, stats.rounds, completions)
        tokens += sum(c.n_tokens for c in completions)
    stats.gen_requests += len(planned)
    stats.gen_tokens += tokens
    progress.on_tokens(gen_tokens=tokens)


def _judging_phase(engine, strategy, ctx, active, stats, progress) -> None:
    """A loop of judge stages: each stage is ONE engine call with the judge requests of every tree
    still judging. `plan_judging` gives a tree's first stage, `on_judged` records a stage and
    returns the tree's next one ([] or None when its judging is done; the round robin and the
    solution strategy have one stage, knockout and adaptive schedules several)."""
    planned = [(t, strategy.plan_judging(ctx, t, stats.rounds)) for t in active if t.active]
    planned = [(t, reqs) for t, reqs in planned if reqs]
    while planned:
        flat = [r for _, reqs in planned for r in reqs]
        outputs = _judge(engine, ctx, flat, stats)
        following, at, tokens = [], 0, 0
        for tree, reqs in planned:
            mine = outputs[at:at + len(reqs)]
            at += len(reqs)
            tokens += sum(o.n_tokens for o in mine)
            more = strategy.on_judged(ctx, tree, stats.rounds, mine)
            if more:
                following.append((tree, more))
        stats.judge_calls += len(flat)
        stats.judge_stages += 1
        stats.judge_tokens += tokens
        progress.on_tokens(judge_tokens=tokens, judge_calls=len(flat))
        planned = following


def _pairwise_verdicts(search_cfg, templates, engine, renderer):
    """builder.verdicts.Verdicts for A/B judging, checked before any work (template header, verdict
    tokens, engine scoring); None for strategy solution, whose judge scores one solution ('Score: N')
    and has no A/B verdict, so search.verdict does not apply to it."""
    from builder.verdicts import Verdicts

    if search_cfg.strategy == "solution":
        return None
    return Verdicts.prepare(search_cfg.verdict, templates.judge_source, engine, getattr(renderer, "tokenizer", None))


def _judge(engine, ctx, requests, stats: SearchStats) -> list:
    """One stage's verdicts (builder.verdicts.Verdict, search.verdict), one per request: parse and
    forced generate, forced adds one scoring call for the outputs without a verdict, logprob only
    scores. Strategy solution (no A/B verdicts) gets the plain completions."""
    if ctx.verdicts is None:
        return [cs[0] for cs in _call(engine, requests, stats)]
    t0 = time.perf_counter()
    calls = ctx.verdicts.calls
    out = ctx.verdicts.judge(engine, requests)
    stats.engine_seconds += time.perf_counter() - t0
    stats.engine_calls += ctx.verdicts.calls - calls
    return out


def _rollout_phase(engine, strategy, ctx, active, stats, progress) -> None:
    planned = [(t, strategy.plan_rollouts(ctx, t, stats.rounds)) for t in active if t.active]
    flat = [r for _, reqs in planned for r in reqs]
    outputs = _call(engine, flat, stats) if flat else []
    at, tokens = 0, 0
    for tree, reqs in planned:
        mine = outputs[at:at + len(reqs)]
        at += len(reqs)
        strategy.on_rollouts(ctx, tree, stats.rounds, mine)
        tokens += sum(c.n_tokens for cs in mine for c in cs)
    stats.rollout_requests += len(flat)
    stats.gen_tokens += tokens
    if tokens:
        progress.on_tokens(gen_tokens=tokens)


def _end_round(strategy, ctx, active, stats, progress) -> list[Tree]:
    still = []
    for tree in active:
        tree.n_rounds += 1
        if tree.active:
            strategy.end_round(ctx, tree)
        if tree.active and tree.n_rounds >= _round_cap(ctx.cfg):
            tree.status = MAX_STEPS  # a safety net; the strategies end trees well before it
        if tree.active:
            still.append(tree)
    progress.on_trees_done(len(active) - len(still))
    return still


def _round_cap(cfg) -> int:
    """Most rounds a tree can need (tournament.round_cap, or the MCTS simulations)."""
    if cfg.strategy == "mcts":
        return mcts.simulations(cfg)
    return tournament.round_cap(cfg)


def _call(engine, requests, stats: SearchStats):
    t0 = time.perf_counter()
    outputs = engine.generate(requests)
    stats.engine_seconds += time.perf_counter() - t0
    stats.engine_calls += 1
    if len(outputs) != len(requests):
        from builder.errors import PsrError

        raise PsrError(f"engine returned {len(outputs)} results for {len(requests)} requests")
    return outputs


def _grade(tree: Tree, checker: Checker | None) -> None:
    answer = tree.final_answer
    if checker is None or tree.answer is None or answer is None:
        tree.correct = None
    else:
        tree.correct = bool(checker.check_answer(answer, tree.answer))


def _result(trees: list[Tree], stats: SearchStats) -> SearchResult:
    res = SearchResult(stats=stats)
    for tree in trees:
        if tree.status == ACTIVE:  # cannot happen; keeps the schema's status domain honest
            tree.status = MAX_STEPS
        res.trees.append(tree.to_row())
        res.nodes.extend(n.to_row(tree.tree_id) for n in tree.nodes)
        res.judgments.extend(j.to_row(tree.tree_id) for j in tree.judgments)
    return res

"""What every strategy needs to build requests and record results: renderer, templates, config, seed.

Also the steps both strategies share: sampling candidate children of a node (one Request with
n = `search.samples`), grouping them into distinct candidates (`mark_distinct`), and judging the
distinct siblings stage by stage with the run's judge schedule (schedules.py; one Request per
judge call). Judge outputs become verdicts in builder/verdicts.py (search.verdict), called by the
driver's judging phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from builder.engines.base import Completion, Request
from builder.ids import derive_seed
from builder.search import judging, schedules
from builder.search.state import Judgment, Node, SampledRound, Tree


class Checker(Protocol):
    """Ground truth used only for bookkeeping columns (step_correct, correct), never by the search."""

    def check_answer(self, prediction: str | None, gold: str) -> bool: ...

    def check_step(self, problem: str, prefix: list[str], step: str) -> bool | None: ...


class AnswerChecker:
    """For problems that do not come from a task: math-verify answer equivalence, no step checker."""

    def check_answer(self, prediction: str | None, gold: str) -> bool:
        from builder.tasks.grading import answers_match

        return answers_match(prediction, gold)

    def check_step(self, problem: str, prefix: list[str], step: str) -> bool | None:
        return None


def make_checker(run, problems: list[dict]):
    """The task's checkers when every problem comes from one task:NAME source, else answer matching."""
    from builder.tasks import run_task

    sources = {p["source"] for p in problems}
    if len(sources) == 1 and next(iter(sources)).startswith("task:"):
        name = next(iter(sources))[5:]
        return run_task(run.config, name)
    return AnswerChecker()


@dataclass(slots=True, frozen=True)
class Templates:
    reasoning: str
    judge: str
    step_stop: str = "\nStep "
    judge_source: str | None = None  # the judge template's name or path: its header declares the verdict

    @classmethod
    def from_config(cls, prompts) -> "Templates":
        """Load the run config's `prompts` section (template names or paths)."""
        from builder.prompts import load_template

        return cls(load_template(prompts.reasoning), load_template(prompts.judge), prompts.step_stop, prompts.judge)


@dataclass(slots=True)
class SearchContext:
    renderer: Any  # builder.prompts.ChatRenderer (or anything with the same two prompt methods)
    templates: Templates
    cfg: Any  # builder.config.Search
    seed: int
    checker: Checker | None = None
    verdicts: Any = None  # builder.verdicts.Verdicts (search.verdict); None: parse

    def generation_request(self, tree: Tree, parent: Node, round_: int) -> Request:
        """The round's sampling request: n = search.samples, one fewer when the greedy step of
        `search.greedy_candidate` takes the first place (add_candidates)."""
        prompt = self.renderer.generation_prompt(self.templates.reasoning, tree.problem, parent.path_texts())
        return Request(
            prompt=prompt, n=self.cfg.n_samples - bool(self.cfg.greedy_candidate), temperature=self.cfg.temperature,
            top_p=self.cfg.top_p, max_tokens=self.cfg.max_step_tokens, stop=(self.templates.step_stop,),
            seed=derive_seed(self.seed, tree.tree_id, round_, "gen"),
        )

    def greedy_request(self, tree: Tree, parent: Node, round_: int) -> Request | None:
        """The greedy step (temperature 0) after `parent`, when `search.greedy_steps` asks for it and
        no earlier round got it: a prefix has one greedy step, so rollbacks reuse it."""
        if not self.cfg.greedy_steps or parent.greedy is not None:
            return None
        prompt = self.renderer.generation_prompt(self.templates.reasoning, tree.problem, parent.path_texts())
        return Request(prompt=prompt, n=1, temperature=0.0, top_p=1.0, max_tokens=self.cfg.max_step_tokens,
                       stop=(self.templates.step_stop,), seed=derive_seed(self.seed, tree.tree_id, round_, "greedy"))

    def record_greedy(self, tree: Tree, parent: Node, completion: Completion) -> None:
        """Keep the greedy step on its parent (nodes.greedy_step, greedy_step_correct)."""
        from builder.steps import normalize_step

        parent.greedy = completion
        parent.greedy_step = normalize_step(completion.text, parent.depth + 1)
        if self.checker is not None:
            parent.greedy_step_correct = self.checker.check_step(tree.problem, parent.path_texts(), parent.greedy_step)
        tree.gen_tokens += completion.n_tokens

    def add_candidates(self, tree: Tree, parent: Node, round_: int, completions: list[Completion]) -> list[Node]:
        """One child of `parent` per completion (normalized text, terminal flag, step_correct), then
        `mark_distinct`; returns the distinct candidates to judge (see there). With
        `search.greedy_candidate` the parent's greedy step comes first (candidate_index 0, is_greedy),
        so it is always among the distinct candidates and samples equal to it are its duplicates."""
        from builder.steps import is_terminal, normalize_step

        prefix = parent.path_texts()
        greedy_first = bool(self.cfg.greedy_candidate) and parent.greedy is not None
        out = []
        for i, c in enumerate(([parent.greedy] if greedy_first else []) + list(completions)):
            node = tree.add_node(parent, round_, i)
            node.text = normalize_step(c.text, node.depth)
            node.is_terminal = is_terminal(c.text, c.finish_reason)
            node.finish_reason, node.n_tokens, node.logprob = c.finish_reason, c.n_tokens, c.logprob
            if self.checker is not None:
                node.step_correct = self.checker.check_step(tree.problem, prefix, node.text)
            node.is_greedy = greedy_first and i == 0
            if not node.is_greedy:  # the greedy step's tokens were counted once, by record_greedy
                tree.gen_tokens += c.n_tokens
            out.append(node)
        distinct = mark_distinct(out, self.cfg.width)
        n_distinct = sum(n.duplicate_of is None for n in out)
        tree.sampled.append(SampledRound(len(out), n_distinct, len(distinct) if len(distinct) > 1 else 0))
        return distinct

    def start_judging(self, tree: Tree, candidates: list[Node], round_: int) -> None:
        """Begin judging `candidates` (siblings) with `search.judge_schedule` (schedules.py)."""
        flip = lambda i, j: judging.coin_flip(  # noqa: E731 - one order: A/B by a seeded coin
            self.seed, tree.tree_id, round_, candidates[i].candidate_index, candidates[j].candidate_index)
        tree.pending, tree.pending_pairs = candidates, []
        tree.schedule = schedules.make(self.cfg.judge_schedule, len(candidates), self.cfg.judge_orders, flip)

    def judge_requests(self, tree: Tree, round_: int) -> list[Request]:
        """The judge calls of the schedule's next stage ([] when it is done); remembers them."""
        if tree.schedule is None:
            return []
        cands, tree.stage_calls = tree.pending, tree.schedule.next_calls()
        prefix = cands[0].parent.path_texts()
        k0 = len(tree.pending_pairs)  # seeds count the round's calls across stages
        return [
            Request(
                prompt=self.renderer.judge_prompt(self.templates.judge, tree.problem, prefix,
                                                  cands[a].text, cands[b].text),
                n=1, temperature=self.cfg.judge_temperature, top_p=1.0, max_tokens=self.cfg.judge_max_tokens,
                stop=(), seed=derive_seed(self.seed, tree.tree_id, round_, "judge", k0 + k),
            )
            for k, (a, b, _) in enumerate(tree.stage_calls)
        ]

    def record_verdicts(self, tree: Tree, round_: int, outputs: list) -> None:
        """Judgment rows of one stage from builder.verdicts.Verdict outputs, fed back to the
        schedule; wins/games of the pending candidates (copied to their duplicates) count every
        judgment of the round so far."""
        cands, calls = tree.pending, tree.stage_calls
        verdicts = [v.verdict for v in outputs]
        stage = tree.schedule.stages + 1
        for (a, b, swapped), v in zip(calls, outputs, strict=True):
            tree.judgments.append(Judgment(
                tree.next_judgment_id(), cands[a].parent.node_id, round_, cands[a].node_id,
                cands[b].node_id, swapped, v.verdict, v.raw, v.n_tokens, stage=stage, source=v.source, p_a=v.p_a,
            ))
            tree.judge_tokens += v.n_tokens
        tree.judge_calls += len(outputs)
        tree.schedule.add(calls, verdicts)
        tree.pending_pairs += calls
        wins = judging.scores(len(cands), tree.pending_pairs, tree.schedule.verdicts)
        for node, w, g in zip(cands, wins, judging.games(len(cands), tree.pending_pairs)):
            node.wins, node.games = w, g
        for node in cands[0].parent.children:
            if node.round == round_ and node.duplicate_of is not None:
                node.wins, node.games = node.duplicate_of.wins, node.duplicate_of.games

    def finish_judging(self, tree: Tree) -> "schedules.Decision":
        """The schedule's decision; marks best and worst (nodes.selection) and whether the round
        was undecided (the all-tie of the stats)."""
        decision, cands = tree.schedule.decision(), tree.pending
        if self.cfg.score == "probability" and self.cfg.judge_schedule == "round_robin":
            decision = probability_decision(cands, tree.pending_pairs, tree.judgments[-len(tree.pending_pairs):])
        tree.schedule = None
        if not decision.undecided:
            cands[decision.best].selection, cands[decision.worst].selection = "best", "worst"
        if tree.sampled:
            tree.sampled[-1].all_tie = decision.undecided
        return decision


def probability_decision(cands: list[Node], pairs: list, judgments: list[Judgment]) -> "schedules.Decision":
    """search.score probability (round robin): best/worst by summed P(win) over the round's
    judgments (judging.probability_scores); equal sums everywhere are the all-tie."""
    scores = judging.probability_scores(len(cands), pairs, judgments)
    if judging.all_tie(scores):
        return schedules.UNDECIDED
    return schedules.Decision(judging.best_index(scores), judging.worst_index(scores))


def mark_distinct(nodes: list[Node], width: int) -> list[Node]:
    """Group one round's samples by normalized step body; returns the candidates to judge.

    Every sample stays a node; a sample whose body equals an earlier one's gets duplicate_of =
    that first occurrence. The first `width` distinct bodies (in sampling order) are the
    candidates. With two or more they are flagged judged; a single one is accepted unjudged.
    """
    from builder.steps import norm_body

    first: dict[str, Node] = {}
    for node in nodes:
        key = norm_body(node.text)
        if key in first:
            node.duplicate_of = first[key]
        else:
            first[key] = node
    distinct = list(first.values())[:width]
    if len(distinct) > 1:
        for node in distinct:
            node.judged = True
    return distinct

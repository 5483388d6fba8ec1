"""Monte Carlo step scores (Math-Shepherd style): the share of rollouts from a step that reach the gold answer.

A rollout continues the whole solution after the step: the policy's generation prompt (reasoning
template, problem, previous steps, the step), no stop string, up to `max_tokens`. All candidates
of a chunk go to the engine in ONE generate call, one request with n = rollouts each. A step that
already ends the solution (complete \\boxed{} or EOS) is scored by its own answer, without rollouts.
With rollouts=1 and temperature 0 the score is the greedy continuation's correctness (0 or 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.engines.base import Request
from builder.ids import derive_seed
from builder.steps import extract_boxed


@dataclass(slots=True, frozen=True)
class RolloutConfig:
    rollouts: int = 4
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 1024


@dataclass(slots=True)
class Candidate:
    key: str  # node id (for seeds and the log)
    problem: str
    gold: str
    prefix: list  # accepted step texts before this step
    text: str  # "Step l: ...\n"
    is_terminal: bool


def rollout_request(renderer, reasoning_tmpl: str, cand: Candidate, cfg: RolloutConfig, seed: int) -> Request:
    prompt = renderer.generation_prompt(reasoning_tmpl, cand.problem, [*cand.prefix, cand.text])
    return Request(prompt=prompt, n=cfg.rollouts, temperature=cfg.temperature, top_p=cfg.top_p,
                   max_tokens=cfg.max_tokens, stop=(), seed=derive_seed(seed, cand.key, "rollout"))


def score_candidates(engine, renderer, reasoning_tmpl: str, cands: list[Candidate], checker,
                     cfg: RolloutConfig, seed: int) -> tuple[list[float], int]:
    """(score in [0, 1] per candidate, number of rollouts generated)."""
    scores: list[float | None] = [None] * len(cands)
    todo = []
    for i, c in enumerate(cands):
        if c.is_terminal:
            scores[i] = float(checker.check_answer(extract_boxed(c.text), c.gold))
        else:
            todo.append(i)
    if todo:
        outs = engine.generate([rollout_request(renderer, reasoning_tmpl, cands[i], cfg, seed) for i in todo])
        for i, completions in zip(todo, outs, strict=True):
            hits = [checker.check_answer(extract_boxed(o.text), cands[i].gold) for o in completions]
            scores[i] = sum(hits) / len(hits)
    return scores, len(todo) * cfg.rollouts

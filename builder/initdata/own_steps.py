"""EFT examples from the policy's own sampled steps, labelled by the task's step checker.

The paper's EFT pairs come from the policy's own search, labelled outside the policy. For the
arithmetic demo the labeller is the task's step checker, and it labels iteration 0 only: an SFT
model (e.g. trained on IFT alone) samples `width` next steps after a gold prefix of a train
problem; a site whose distinct samples hold both a correct and a wrong step gives one pair, in
both A/B orders (so positions are balanced and each order's target names the right step), with
the task's judgment text. These examples then join the synthetic corruptions in the SFT of M1,
so the judge has seen the kind of mistakes it will judge.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Problems are drawn from a stream of their own, so they differ from the IFT / synthetic EFT draws.
SEED_OFFSET = 104_729


@dataclass
class OwnStepCounts:
    sites: int = 0
    samples: int = 0
    distinct: dict[int, int] = field(default_factory=dict)  # distinct samples per site -> sites
    mixed: int = 0  # sites with a correct and a wrong sample: one pair each
    rows: int = 0


def site_chains(task, n_problems: int, seed: int) -> list:
    """The train problems whose steps are sampled: a draw of their own (see SEED_OFFSET)."""
    return task.chains("train", n_problems, seed + SEED_OFFSET)


def own_step_examples(task, engine, renderer, reasoning_tmpl: str, n_problems: int, seed: int, *, width: int = 6,
                      temperature: float = 0.7, top_p: float = 0.95, max_tokens: int = 24,
                      step_stop: str = "\nStep ") -> tuple[list[dict], OwnStepCounts]:
    """EFT rows (problem, prefix, step_a, step_b, label, judgment) from sampled steps; and counts."""
    from builder.engines.base import Request
    from builder.tasks.arithmetic import gold_steps

    rng = random.Random(f"own-steps:{seed}")
    chains = site_chains(task, n_problems, seed)
    sites = []
    for chain in chains:
        gold = gold_steps(chain)
        k = rng.randint(1, len(gold))  # the step to sample, after the gold steps before it
        sites.append((chain, k, gold[: k - 1]))
    requests = [Request(prompt=renderer.generation_prompt(reasoning_tmpl, c.text, prefix), n=width,
                        temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=(step_stop,),
                        seed=seed * 1_000_003 + i) for i, (c, _, prefix) in enumerate(sites)]
    counts, rows = OwnStepCounts(sites=len(sites)), []
    for (chain, k, prefix), completions in zip(sites, engine.generate(requests) if requests else []):
        counts.samples += len(completions)
        right, wrong = _labelled(task, chain.text, prefix, k, completions)
        n = len(right) + len(wrong)
        counts.distinct[n] = counts.distinct.get(n, 0) + 1
        if right and wrong:
            counts.mixed += 1
            rows += pair_rows(task, chain, k, prefix, rng.choice(right), rng.choice(wrong))
    counts.rows = len(rows)
    return rows, counts


def _labelled(task, problem: str, prefix: list[str], k: int, completions) -> tuple[list[str], list[str]]:
    """Distinct sampled steps split by the checker (unlabelled ones dropped), in sampling order."""
    from builder.steps import normalize_step

    right, wrong, seen = [], [], set()
    for c in completions:
        text = normalize_step(c.text, k)
        if text in seen:
            continue
        seen.add(text)
        ok = task.check_step(problem, prefix, text)
        if ok is not None:
            (right if ok else wrong).append(text)
    return right, wrong


def pair_rows(task, chain, k: int, prefix: list[str], right: str, wrong: str) -> list[dict]:
    return [{"problem": chain.text, "prefix": "".join(prefix), "step_a": a, "step_b": b, "label": label,
             "judgment": task.judgment(chain, k, a, b, label)}
            for label, (a, b) in (("A", (right, wrong)), ("B", (wrong, right)))]

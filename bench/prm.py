"""PRM vs Monte Carlo rollouts as the EFT scorer (`psr init-data eft --scorer`), on the same candidate sites.

Sites: test-split chains of the run's task (arithmetic), the gold steps before a random step k,
then --width next steps sampled by the policy at temperature 0.7, as builder/initdata/own_steps.py
samples them; distinct steps only. Each candidate is scored twice:
  rollouts  builder/initdata/rollouts.py: --rollouts continuations by the policy, checked against
            the gold answer (a step that boxes an answer: by that answer);
  prm       builder/initdata/prm.py: the PRM's reward of the step,
and labelled by the task's step checker. One JSON line per scorer with:
  candidates_per_s (wall) and cpu_s (process CPU seconds of the scoring alone),
  pairs: sites the pair rule (eft.py pick_pair, --min-margin) turns into a best/worst pair,
  checker_pairs: those whose best step the checker calls right and worst wrong, i.e. the pairs an
    oracle teacher would keep (the real teacher is not run: it costs the same for both scorers),
  checker_pairs_per_cpu_min: checker_pairs per CPU minute of scoring,
  agree_checker: share of candidates with (score > 0.5) == the checker's label,
then one line with the two scorers' agreement (same side of 0.5; same best/worst on sites both pair).

    .venv/bin/python bench/prm.py --policy runs/demo/models/M0-ift --prm runs/demo/models/PRM --run runs/demo

The machine's load changes the timings: give the ratio of the two scorers, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sample_sites(task, engine, renderer, tmpl: str, n: int, width: int, seed: int):
    """[(chain, prefix, [distinct step texts])] for n test-split chains."""
    from builder.engines.base import Request
    from builder.steps import normalize_step
    from builder.tasks.arithmetic import gold_steps

    rng = random.Random(f"bench-prm:{seed}")
    picks = []
    for chain in task.chains("test", n, seed + 7):
        gold = gold_steps(chain)
        k = rng.randint(1, len(gold))
        picks.append((chain, k, gold[: k - 1]))
    requests = [Request(prompt=renderer.generation_prompt(tmpl, c.text, prefix), n=width, temperature=0.7, top_p=0.95,
                        max_tokens=24, stop=("\nStep ",), seed=seed * 1_000_003 + i)
                for i, (c, _, prefix) in enumerate(picks)]
    out = []
    for (chain, k, prefix), completions in zip(picks, engine.generate(requests)):
        steps = list(dict.fromkeys(normalize_step(c.text, k) for c in completions))
        out.append((chain, prefix, steps))
    return out


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def scorer_figures(name, scores, sites, labels, wall, cpu, min_margin):
    from builder.initdata.eft import pick_pair

    pairs = checker_pairs = hits = 0
    best_worst, at = [], 0
    for _, _, steps in sites:
        s, lab = scores[at:at + len(steps)], labels[at:at + len(steps)]
        hits += sum((x > 0.5) == y for x, y in zip(s, lab))
        kind, b, w = pick_pair(steps, s, min_margin)
        best_worst.append((b, w) if kind == "pair" else None)
        pairs += kind == "pair"
        checker_pairs += kind == "pair" and lab[b] and not lab[w]
        at += len(steps)
    return {"scorer": name, "sites": len(sites), "candidates": len(scores), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "candidates_per_s": round(len(scores) / wall, 2), "pairs": pairs,
            "checker_pairs": int(checker_pairs), "checker_pairs_per_cpu_min": round(60 * checker_pairs / cpu, 2),
            "agree_checker": round(hits / len(scores), 4)}, best_worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", required=True, help="The policy that samples the candidates and the rollouts.")
    ap.add_argument("--prm", required=True, help="A PRM path (e.g. from `psr model tiny-prm`).")
    ap.add_argument("--run", help="Run whose task options, prompts and prm settings apply (default: the demo preset).")
    ap.add_argument("--problems", type=int, default=48)
    ap.add_argument("--width", type=int, default=6)
    ap.add_argument("--rollouts", type=int, default=4)
    ap.add_argument("--rollout-max-tokens", type=int, default=64)
    ap.add_argument("--min-margin", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from builder.engines import load_engine
    from builder.initdata.prm import candidate_scores, open_prm
    from builder.initdata.rollouts import Candidate, RolloutConfig, score_candidates
    from builder.prompts import ChatRenderer, load_template
    from builder.steps import extract_boxed
    from builder.store import Run, init_run
    from builder.tasks import get_task

    if args.run:
        cfg = Run.open(args.run).config
    else:  # a throwaway run of the demo preset, for its config
        cfg = init_run(Path(tempfile.mkdtemp(prefix="bench-prm-")) / "run", "demo", []).config
    cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"threads": args.threads, "device": "cpu"})})
    task = get_task(cfg.task, **cfg.task_options)
    engine = load_engine("hf", args.policy, cfg.engine)
    renderer, tmpl = ChatRenderer(args.policy), load_template(cfg.prompts.reasoning)
    sites = sample_sites(task, engine, renderer, tmpl, args.problems, args.width, args.seed)
    cands = [Candidate(f"s{i}c{j}", c.text, str(c.values[-1]), prefix, text, extract_boxed(text) is not None)
             for i, (c, prefix, steps) in enumerate(sites) for j, text in enumerate(steps)]
    labels = [bool(task.check_step(c.problem, c.prefix, c.text)) for c in cands]
    cfg_r = RolloutConfig(args.rollouts, 0.7, 0.95, args.rollout_max_tokens)
    (r_scores, n_rollouts), r_wall, r_cpu = timed(
        lambda: score_candidates(engine, renderer, tmpl, cands, task, cfg_r, args.seed))
    prm = open_prm(args.prm, cfg)
    p_scores, p_wall, p_cpu = timed(lambda: candidate_scores(prm, cands))
    r_fig, r_bw = scorer_figures(f"rollouts({args.rollouts})", r_scores, sites, labels, r_wall, r_cpu, args.min_margin)
    p_fig, p_bw = scorer_figures(prm.desc, p_scores, sites, labels, p_wall, p_cpu, args.min_margin)
    r_fig["rollouts"] = n_rollouts
    both = [(a, b) for a, b in zip(r_bw, p_bw) if a and b]
    print(json.dumps({"policy": args.policy, "right_candidates": sum(labels), "load_1min": os.getloadavg()[0], **r_fig}))
    print(json.dumps(p_fig))
    print(json.dumps({"agree_prm_rollouts": round(sum((a > 0.5) == (b > 0.5) for a, b in zip(r_scores, p_scores))
                                                  / len(cands), 4),
                      "sites_paired_by_both": len(both), "same_best_and_worst": sum(a == b for a, b in both),
                      "prm_vs_rollouts_cpu_ratio": round(r_cpu / max(p_cpu, 1e-9), 1)}))


if __name__ == "__main__":
    main()

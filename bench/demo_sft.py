"""Iteration 0 of the embedded CPU demo through the `psr` commands, timed, with M1's figures.

On a throwaway run WORK/run (made afresh): `psr init --preset demo` (plus --set overrides),
`psr model tiny`, `psr init-data` (with the preset's IFT stage: M0-ift and its own
checker-labelled steps), `psr export/config/train --iter 0`; then M1's greedy solve rate
(`psr eval --bench task --split S`), its judge on the EFT test pairs (`psr eval-judge --pairs eft`)
and what only this bench measures: the histogram of distinct first steps among 6 samples at
temperature 0.7 (the search's round-1 diversity). Prints one JSON line with wall and CPU seconds
per command and the figures (and appends it to --log).

    .venv/bin/python bench/demo_sft.py --work /tmp/demo                      # the demo preset as it is
    .venv/bin/python bench/demo_sft.py --work /tmp/demo --set task_options.max_operand=15 \
        --set trainer.sft.overrides.max_steps=900 --set init_data.own_steps.ift_steps=0

Until 2026-12-06 this script built its own data, Axolotl config and evaluation (recipe keys data,
model, axolotl, own_steps); the figures below were measured that way, with its defaults then.

Acceptance for the demo: total <= 600 s on 2 CPU cores, solve rate 20-90 %, judge >= 70 %.
Measured with these defaults on a shared 2-core machine (2026-11-26): seed 0 total 588.5 s (another run beside
it), solve 42.5 %, judge 77.25 %; seed 1 total 514.5 s, solve 41.5 %, judge 78 %. `axolotl train` used ~488 CPU
seconds either way. Timings depend on what else runs on the machine: report them with that caveat.

A harder task regime for issue 12 (2026-12-01, seed 0, 900 steps, machine load 10-13): task_options
{min_ops: 2, max_ops: 3, min_operand: 1, max_operand: 15, max_value: 40} gave greedy solve 20.2 % on
1000 validation problems (step accuracy 43 %), judge 78 % on 400 validation pairs (share [[A]] 0.49),
distinct first steps of 6 samples over 200 problems {1: 4, 2: 55, 3: 95, 4: 38, 5: 7, 6: 1};
`axolotl train` 598 CPU s (2365 s wall beside other jobs). Below the 35-65 % target: the preset keeps
1-9 / 0..30 (82-87 %); the target lies between the two.

The preset since 2026-12-01 (1-12 / 0..35, 9000 IFT + 27000 EFT + 3000 solution scores, 1000 steps,
one stage, through `make init`): 26.5 % greedy on 1000 test problems, judge 82.5 % on the EFT test
split, 59.8 % on its own mixed candidates in iteration 1 (seed 1: 28.5 %, 75.5 %, 49.3 %).
With `own_steps: {ift_steps: 300, problems: 2000, width: 6}` and the same 1000 steps in all
(recipe data {n_ift: 9000, n_eft: 27000, n_scores: 3000}, axolotl {max_steps: 1000}, seed 0, load 2-3):
- 1-12 / 0..35: 2368 own-step rows from 1184 mixed sites of 2000; solve 79 % of 200 validation
  problems (71.3 % of 1000 test problems through `psr eval`), judge 85 % on validation pairs, and on
  its own mixed candidates in an iteration-1 search 68.4 % of 512 (the one-stage M1: 59.8 %);
  741 s in all (IFT stage 186 s, sampling 51 s, SFT 496 s).
- 1-15 / 0..40: solve 36.8 % of 1000 validation problems (in the 35-65 % band), but judge 60.5 %
  on validation pairs with [[A]] 70.5 % of the time: the judge did not come out of this training.
At equal steps the two-stage recipe solves far more (71.3 % vs 26.5 % on test); whether the IFT-first
order or the own-step rows do it was not separated (nor this script's data pipeline from `psr
export`'s). The judge's outcome varies between trainings more than between these recipes.

Calibrating the two-stage recipe for the 35-65 % band (2026-12-01, seed 0, same recipe, 500 validation
problems, 400 validation judge pairs, two runs at a time on 2 cores, ~900 s each):
| operands / values | solve | step accuracy | judge (share [[A]]) | mixed own sites of 2000 | distinct first steps of 6 (200 problems) |
|---|---|---|---|---|---|
| 1-12 / 0..40 | 52.4 % | 81.8 % | 53.8 % (0.63) | 1037 | 1:47 2:112 3:40 4:1 |
| 1-13 / 0..35 | 32.2 % | 58.3 % | 69.8 % (0.63) | 693 | 1:6 2:74 3:93 4:24 5:2 6:1 |
| 1-13 / 0..40 | 33.2 % | 60.5 % | 64.5 % (0.51) | 1044 | 1:11 2:85 3:79 4:23 5:2 |
| 1-14 / 0..40 | 38.6 % | 72.2 % | 52.5 % (0.41) | 972 | 1:28 2:112 3:55 4:5 |
Solve rate is not monotone in the task's size (one training each: the spread between trainings is
large), and no in-band setting kept a judge above 70 %: the judge checks a step by redoing its
arithmetic, so a task hard enough to leave M1 room leaves its judge near chance at this model size
and budget. The preset stays 1-12 / 0..35, where the judge is strongest (85 %).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false"}


def psr(log: Path, *args) -> tuple[float, float, str]:
    """One `psr` command: wall seconds, CPU seconds (user + sys of it and its children: the figure
    that survives a shared machine) and its stdout; stderr goes to the log. A failure ends the bench."""
    cmd = [str(ROOT / ".venv" / "bin" / "psr"), *map(str, args)]
    start, before = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=fh, text=True, env={**os.environ, **ENV})
        fh.write(proc.stdout)
    if proc.returncode:
        sys.exit(f"bench/demo_sft.py: `{' '.join(cmd[1:])}` failed ({proc.returncode}); see {log}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return round(time.time() - start, 1), round(cpu, 1), proc.stdout


def last_json(stdout: str) -> dict:
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def train_log(path: Path) -> dict:
    """Loss curve and trainer runtime from the Axolotl log (its printed metric dicts)."""
    import ast
    import re

    losses, runtime = [], None
    for m in re.finditer(r"\{'(?:loss|train_runtime)'[^{}]*\}", path.read_text()):
        d = ast.literal_eval(m.group(0))
        if "loss" in d:
            losses.append(round(float(d["loss"]), 3))
        else:
            runtime = float(d["train_runtime"])
    return {"losses": losses, "train_runtime": runtime}


def distinct_first_steps(run_dir: Path, split: str, n: int, width: int = 6, temperature: float = 0.7) -> dict:
    """Histogram of distinct sampled first steps per problem (the search's round-1 diversity), with
    the run's own engine, templates and step normalisation."""
    import collections

    from builder.engines import load_engine
    from builder.engines.base import Request
    from builder.prompts import ChatRenderer, load_template
    from builder.steps import normalize_step
    from builder.store import Run
    from builder.tasks import get_task

    run = Run.open(run_dir)
    cfg, model = run.config, run.model_path(1)
    task = get_task(cfg.task, **cfg.task_options)
    renderer, tmpl = ChatRenderer(model), load_template(cfg.prompts.reasoning)
    requests = [Request(prompt=renderer.generation_prompt(tmpl, c.text, []), n=width, temperature=temperature,
                        top_p=cfg.search.top_p, max_tokens=cfg.search.max_step_tokens, stop=(cfg.prompts.step_stop,),
                        seed=i) for i, c in enumerate(task.chains(split, n, cfg.seed))]
    hist: collections.Counter = collections.Counter()
    for completions in load_engine(cfg.engine.name, model, cfg.engine).generate(requests):
        hist[len({normalize_step(c.text, 1) for c in completions})] += 1
    return {str(k): hist[k] for k in sorted(hist)}


def iteration0(run: Path, log: Path, sets: list[str]) -> dict:
    """`psr init` .. `psr train --iter 0` on a fresh run: (wall, cpu) seconds per command."""
    times = {"init": psr(log, "init", run, "--preset", "demo", *[x for s in sets for x in ("--set", s)])[:2],
             "model tiny": psr(log, "model", "tiny", run / "models" / "M0", "--run", run)[:2],
             "init-data": psr(log, "init-data", "--run", run)[:2]}
    for step in ("export", "config", "train"):
        times[step] = psr(log, step, "--run", run, "--iter", 0)[:2]
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="run.yaml override (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-solve", type=int, default=200)
    ap.add_argument("--n-judge", type=int, default=200, help="EFT test pairs, each judged in both orders")
    ap.add_argument("--n-distinct", type=int, default=200, help="problems for the distinct-first-steps histogram")
    ap.add_argument("--log", default=None, help="append the result line to this file")
    ap.add_argument("--tag", default="")
    ap.add_argument("--split", default="validation", choices=["validation", "test"],
                    help="where the solve rate comes from: validation for any choice, test only to report")
    args = ap.parse_args()
    work = Path(args.work)
    run, log = work / "run", work / "demo_sft.log"
    if run.exists() and not (run / "run.yaml").exists():
        sys.exit(f"bench/demo_sft.py: {run} exists and is not a run; not removed")
    subprocess.run(["rm", "-rf", str(run)], check=True)
    work.mkdir(parents=True, exist_ok=True)
    sets = [f"seed={args.seed}", *args.set]
    start = time.time()
    times = iteration0(run, log, sets)
    t_iteration0 = round(time.time() - start, 1)
    *t_eval, out = psr(log, "eval", "--run", run, "--iter", 1, "--mode", "greedy", "--bench", "task", "--split",
                       args.split, "--limit", args.n_solve)
    solve, times["eval"] = last_json(out), tuple(t_eval)
    *t_judge, out = psr(log, "eval-judge", "--run", run, "--iter", 1, "--pairs", "eft", "--limit", args.n_judge)
    judge, times["eval-judge"] = last_json(out), tuple(t_judge)
    manifest = json.loads((run / "data" / "manifests" / "iteration=0.json").read_text())
    result = {"tag": args.tag, "seed": args.seed, "sets": args.set, "times": times, "t_iteration0": t_iteration0,
              "own_steps": manifest.get("lineage", {}).get("own_steps"),
              "train_log": train_log(run / "trainer" / "iteration=0" / "train.log"),
              "solve_rate": solve["accuracy"], "n_solve": solve["problems"], "split": args.split,
              "judge_accuracy": judge["accuracy"], "judge_first_position": judge.get("first_position_rate"),
              "judge_unparsed": judge.get("unparseable_rate"), "n_judge": judge.get("pairs"),
              "distinct_first_steps": distinct_first_steps(run, args.split, args.n_distinct)}
    line = json.dumps(result)
    print(line)
    if args.log:
        with open(args.log, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()

"""Iteration 0 of the embedded CPU demo, end to end, timed: M0 -> Axolotl SFT -> M1 -> figures.

Steps: `build_tiny_model` (random weights), IFT + EFT rows from the task, `axolotl train` in its
own venv, then greedy solve rate on held-out problems (the validation split unless --split test),
judge accuracy on synthetic pairs of the same split (both A/B orders) and the histogram of distinct
first steps among 6 samples at temperature 0.7. Prints one JSON line with times and figures (and
appends it to --log). Recipe key own_steps: see docs/evaluation.md.

    .venv/bin/python bench/demo_sft.py --work /tmp/demo            # the measured recipe (defaults below)
    .venv/bin/python bench/demo_sft.py --work /tmp/demo --recipe my.yaml   # keys: task_options, data, model, axolotl

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
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AXOLOTL_ENV = {"AXOLOTL_DO_NOT_TRACK": "1", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}


def load_recipe(path: str | None) -> dict:
    import yaml

    recipe = yaml.safe_load(Path(path).read_text()) if path else {}
    return {"data": {}, "model": {}, "task_options": {}, "axolotl": {}, **recipe}


def build_data(task, renderer, data: dict, seed: int, out: Path, extra_eft: list[dict] | None = None,
               ift_only: bool = False) -> int:
    from builder.prompts import load_template
    from builder.trainer.sft import sft_rows

    ift = task.ift_examples("train", data.get("n_ift", 9000), seed)
    eft = [] if ift_only else task.eft_examples("train", data.get("n_eft", 27000), seed)  # 75 % judge: the judge learns last
    scores = [] if ift_only else task.score_examples("train", data.get("n_scores", 0), seed)
    rows = sft_rows(ift, eft + (extra_eft or []), renderer, reasoning_tmpl=load_template(task.reasoning_template),
                    judge_tmpl=load_template(task.judge_template), score_rows=scores,
                    score_tmpl=load_template("judge_srlm_arith"))
    random.Random(seed).shuffle(rows)
    with out.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return len(rows)


def axolotl_config(model_dir: Path, data_file: Path, work: Path, overrides: dict) -> dict:
    cfg = {
        "base_model": str(model_dir), "datasets": [{"path": str(data_file), "type": "input_output", "ds_type": "json"}],
        "dataset_prepared_path": str(work / "prepared"), "output_dir": str(work / "M1"),
        "sequence_len": 256, "train_on_inputs": False, "val_set_size": 0,
        # packing with sdpa (block-diagonal mask, no cross-sample attention): no padding waste on CPU
        "sample_packing": True, "attn_implementation": "sdpa", "pad_to_sequence_len": True,
        "micro_batch_size": 16, "gradient_accumulation_steps": 1, "num_epochs": 1, "max_steps": 900,
        "optimizer": "adamw_torch", "learning_rate": 2e-3, "lr_scheduler": "cosine", "warmup_steps": 30,
        "weight_decay": 0.0, "bf16": False, "fp16": False, "tf32": False, "logging_steps": 25,
        "save_strategy": "no", "seed": 0, "dataset_num_proc": 1,
    }
    cfg.update(overrides)
    return cfg


def own_steps_stage(task, m0: Path, recipe: dict, seed: int, work: Path) -> tuple[Path, list[dict], dict]:
    """Recipe key own_steps (issue 12 item 2): train on IFT alone for `ift_steps`, sample `width`
    next steps on `problems` train problems with that model, label them with the task's checker
    (builder/initdata/own_steps.py). Returns the IFT model (stage 2 continues from it), the EFT
    rows and figures."""
    from builder.engines import load_engine
    from builder.initdata.own_steps import own_step_examples
    from builder.prompts import ChatRenderer, load_template

    opts = recipe["own_steps"]
    stage = work / "ift_stage"
    stage.mkdir()
    build_data(task, ChatRenderer(str(m0)), recipe["data"], seed, stage / "ift.jsonl", ift_only=True)
    cfg = axolotl_config(m0, stage / "ift.jsonl", stage, {"seed": seed, **recipe["axolotl"],
                                                         "max_steps": opts.get("ift_steps", 300)})
    t_train, cpu = run_axolotl(cfg, stage)
    t0 = time.time()
    engine = load_engine("hf", str(stage / "M1"), {"dtype": "float32", "device": "cpu", "threads": 1})
    rows, counts = own_step_examples(task, engine, ChatRenderer(str(stage / "M1")), load_template(task.reasoning_template),
                                     opts.get("problems", 2000), seed, width=opts.get("width", 6),
                                     temperature=opts.get("temperature", 0.7))
    figures = {"t_ift_stage": round(t_train, 1), "cpu_ift_stage": round(cpu, 1), "t_sampling": round(time.time() - t0, 1),
               "own_sites": counts.sites, "own_mixed": counts.mixed, "own_rows": counts.rows,
               "own_distinct": {str(k): v for k, v in sorted(counts.distinct.items())}}
    return stage / "M1", rows, figures


def run_axolotl(cfg: dict, work: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys) of `axolotl train`: CPU time is the figure that
    survives a shared machine; on an idle 2-core machine wall is about CPU / 2."""
    import resource

    import yaml

    cfg_file = work / "sft.yml"
    cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    venv_bin = ROOT / ".venv-axolotl" / "bin"
    env = {**os.environ, **AXOLOTL_ENV, "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    start, before = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with (work / "axolotl.log").open("w") as log:
        proc = subprocess.run([str(venv_bin / "axolotl"), "train", str(cfg_file)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        sys.exit(f"axolotl train failed ({proc.returncode}); see {work / 'axolotl.log'}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.time() - start, cpu


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


def greedy(model, tok, prompts: list[str], max_new_tokens: int, batch: int = 100) -> list[str]:
    import torch

    tok.padding_side = "left"
    out = []
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i : i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        out += tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return out


def eval_chains(task, split: str, n: int, seed: int) -> list:
    """Chains of the split the figures come from: validation for any choice, test only to report."""
    return task.chains(split, n, seed)


def distinct_first_steps(model, tok, prompts: list[str], width: int = 6, temperature: float = 0.7) -> dict:
    """Histogram of distinct sampled first steps per problem (the search's round-1 diversity)."""
    import collections

    import torch

    from builder.steps import split_steps

    tok.padding_side = "left"
    hist: collections.Counter = collections.Counter()
    torch.manual_seed(0)
    for i in range(0, len(prompts), 50):
        enc = tok(prompts[i : i + 50], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=24, do_sample=True, temperature=temperature, top_p=0.95,
                                 num_return_sequences=width)
        texts = tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for j in range(0, len(texts), width):
            hist[len({(split_steps(t) or [t])[0].strip() for t in texts[j : j + width]})] += 1
    return {str(k): hist[k] for k in sorted(hist)}


def evaluate(task, model_dir: Path, n_solve: int, n_judge: int, seed: int, split: str = "test") -> dict:
    from transformers import AutoModelForCausalLM

    from builder.prompts import ChatRenderer, load_template
    from builder.steps import extract_boxed, parse_verdict, split_steps

    renderer = ChatRenderer(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    chains = eval_chains(task, split, n_solve + n_judge // 2, seed)
    problems = [{"problem": c.text, "answer": str(c.values[-1])} for c in chains[:n_solve]]
    rtmpl, jtmpl = load_template(task.reasoning_template), load_template(task.judge_template)
    texts = greedy(model, renderer.tokenizer, [renderer.generation_prompt(rtmpl, p["problem"], []) for p in problems], 96)
    solved = sum(task.check_answer(extract_boxed(t), p["answer"]) for t, p in zip(texts, problems))
    steps_ok = steps_n = 0
    for t, p in zip(texts, problems):  # greedy step accuracy: steps up to and including the first wrong one
        steps = split_steps(t)
        for k, s in enumerate(steps):
            ok = task.check_step(p["problem"], steps[:k], s)
            steps_n, steps_ok = steps_n + 1, steps_ok + bool(ok)
            if not ok:
                break
    rng = random.Random(seed)  # judge rows on chains of the same split, not shared with the solve problems
    eft = [row for c in chains[n_solve:] for row in task._pair_rows(c, rng)][:n_judge]
    prompts = [renderer.judge_prompt(jtmpl, r["problem"], split_steps(r["prefix"]) if r["prefix"] else [],
                                     r["step_a"], r["step_b"]) for r in eft]
    verdicts = [parse_verdict(t) for t in greedy(model, renderer.tokenizer, prompts, 40)]
    return {
        "solve_rate": solved / len(problems), "step_accuracy": steps_ok / max(steps_n, 1),
        "judge_accuracy": sum(v == r["label"] for v, r in zip(verdicts, eft)) / len(eft),
        "judge_share_A": sum(v == "A" for v in verdicts) / len(eft),
        "judge_unparsed": sum(v is None for v in verdicts) / len(eft),
        "n_solve": len(problems), "n_judge": len(eft), "split": split, "sample": texts[0],
        "distinct_first_steps": distinct_first_steps(
            model, renderer.tokenizer, [renderer.generation_prompt(rtmpl, p["problem"], []) for p in problems[:200]]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--recipe", default=None, help="YAML overriding the defaults (see module docstring)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-solve", type=int, default=200)
    ap.add_argument("--n-judge", type=int, default=400)
    ap.add_argument("--log", default=None, help="append the result line to this file")
    ap.add_argument("--tag", default="")
    ap.add_argument("--split", default="validation", choices=["validation", "test"],
                    help="where the figures come from: validation for any choice, test only to report")
    args = ap.parse_args()
    os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})

    from builder.models.tiny import build_tiny_model
    from builder.prompts import ChatRenderer
    from builder.tasks import get_task

    recipe = load_recipe(args.recipe)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    task = get_task("arithmetic", **recipe["task_options"])
    t0 = time.time()
    m0 = build_tiny_model(work / "M0", seed=args.seed, task_options=recipe["task_options"], **recipe["model"])
    t_model = time.time() - t0
    base, own_rows, own = m0, [], {}
    if recipe.get("own_steps"):
        base, own_rows, own = own_steps_stage(task, m0, recipe, args.seed, work)
    t_stage1 = time.time() - t0 - t_model
    n_rows = build_data(task, ChatRenderer(str(m0)), recipe["data"], args.seed, work / "sft.jsonl", own_rows)
    t_data = time.time() - t0 - t_model - t_stage1
    overrides = {"seed": args.seed, **recipe["axolotl"]}
    if own:  # stage 2 continues from the IFT model: the total step count stays that of one SFT
        overrides["max_steps"] = overrides.get("max_steps", 900) - recipe["own_steps"].get("ift_steps", 300)
    cfg = axolotl_config(base, work / "sft.jsonl", work, overrides)
    t_train, cpu_train = run_axolotl(cfg, work)
    total = time.time() - t0
    figures = evaluate(task, work / "M1", args.n_solve, args.n_judge, args.seed, args.split)
    result = {"tag": args.tag, "seed": args.seed, "rows": n_rows, "t_model": round(t_model, 1),
              "t_data": round(t_data, 1), **own, "t_axolotl": round(t_train, 1), "cpu_axolotl": round(cpu_train, 1),
              "train_log": train_log(work / "axolotl.log"), "t_iteration0": round(total, 1),
              "t_eval": round(time.time() - t0 - total, 1), **figures, "recipe": recipe}
    line = json.dumps(result)
    print(line)
    if args.log:
        with open(args.log, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()

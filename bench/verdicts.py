"""Verdict modes compared (builder/verdicts.py): parse, forced, logprob on one model and judge prompt.

Per mode: generated judge tokens and wall seconds per judgment, decided share, accuracy and swap
consistency on
  eft  labeled step pairs, each judged in both orders: a run's iteration-0 EFT test split (--eft-run)
       or the task's EFT test examples;
  own  the model's own candidates: w sampled first steps per task test problem, every sibling pair
       with one step the task's step checker calls right and one it calls wrong, both orders.
parse and forced share one generation pass (forced = parse + one scoring call for the outputs
without a verdict), so forced's wall is the generation's plus its scoring call's. Prints one JSON
line per (pairs, mode) and a Markdown table at the end.

    nice -n 10 .venv/bin/python bench/verdicts.py --model runs/demo/models/M1 --eft-run runs/demo \\
        --judge judge_arith --reasoning reasoning_arith --judge-max-tokens 40
    nice -n 10 .venv/bin/python bench/verdicts.py --model /tmp/smollm2 --judge judge_paper \\
        --reasoning reasoning_paper --judge-max-tokens 160 --eft-pairs 12 --own-problems 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--judge", default="judge_arith")
    ap.add_argument("--reasoning", default="reasoning_arith")
    ap.add_argument("--task", default="arithmetic")
    ap.add_argument("--task-options", default="{}", help="JSON task options (the demo's: see builder/presets/demo.yaml).")
    ap.add_argument("--eft-run", help="Run dir whose iteration-0 EFT test split gives the labeled pairs (read only).")
    ap.add_argument("--eft-pairs", type=int, default=100)
    ap.add_argument("--own-problems", type=int, default=32)
    ap.add_argument("--width", type=int, default=6)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--max-step-tokens", type=int, default=24)
    ap.add_argument("--judge-max-tokens", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = bench(args)
    print(markdown(rows, args))


def bench(args) -> list[dict]:
    from builder.engines import load_engine
    from builder.prompts import ChatRenderer, load_template
    from builder.tasks import get_task

    task = get_task(args.task, **json.loads(args.task_options))
    renderer = ChatRenderer(args.model)
    engine = load_engine("hf", args.model, {"threads": args.threads, "device": "cpu"})
    judge_tmpl = load_template(args.judge)
    rows = []
    sets = [("eft", eft_pairs(args, task))]
    if args.own_problems:
        sets.append(("own", own_pairs(args, task, engine, renderer, load_template(args.reasoning))))
    for name, pairs in sets:
        for row in compare_modes(engine, renderer, judge_tmpl, args, pairs):
            row = {"pairs_set": name, **row}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def eft_pairs(args, task):
    from builder.analysis.judge_eval import dedupe, to_pairs

    if args.eft_run:
        from builder.store import Run, read_table

        rows = [r for r in read_table(Run.open(args.eft_run), "eft", 0).to_pylist() if r["split"] == "test"]
        return dedupe(to_pairs(rows, f"{args.eft_run} eft"), args.eft_pairs)
    return dedupe(to_pairs(task.eft_examples("test", 2 * args.eft_pairs, args.seed), "task eft"), args.eft_pairs)


def own_pairs(args, task, engine, renderer, reasoning_tmpl):
    """(right, wrong) first-step pairs among the model's own w samples, by the task's step checker."""
    from builder.analysis.judge_eval import LabeledPair
    from builder.engines import Request
    from builder.steps import normalize_step

    problems = task.problems("test", args.own_problems, args.seed)
    reqs = [Request(renderer.generation_prompt(reasoning_tmpl, p["problem"], []), n=args.width,
                    temperature=args.temperature, top_p=0.95, max_tokens=args.max_step_tokens, stop=("\nStep ",),
                    seed=args.seed + 100 * i) for i, p in enumerate(problems)]
    pairs = []
    for p, outs in zip(problems, engine.generate(reqs)):
        steps = sorted({normalize_step(o.text, 1) for o in outs})
        verdicts = {s: task.check_step(p["problem"], [], s) for s in steps}
        right = [s for s in steps if verdicts[s] is True]
        wrong = [s for s in steps if verdicts[s] is False]
        pairs += [LabeledPair(p["problem"], "", r, w) for r in right for w in wrong]
    return pairs


def compare_modes(engine, renderer, judge_tmpl, args, pairs) -> list[dict]:
    from builder.analysis.judge_eval import judge_requests, score
    from builder.verdicts import Verdicts

    if not pairs:
        return [{"mode": m, "pairs": 0} for m in ("parse", "forced", "logprob")]
    reqs = judge_requests(pairs, renderer, judge_tmpl, args.judge_max_tokens, args.seed)
    prompts = [r.prompt for r in reqs]
    t0 = time.perf_counter()
    outputs = [cs[0] for cs in engine.generate(reqs)]
    gen_wall = time.perf_counter() - t0
    out = []
    for mode in ("parse", "forced", "logprob"):
        v = Verdicts.prepare(mode, args.judge, engine, renderer.tokenizer)
        t0 = time.perf_counter()
        got = v.resolve(engine, prompts, None if mode == "logprob" else outputs)
        wall = time.perf_counter() - t0 + (gen_wall if mode != "logprob" else 0.0)
        s = score([x.verdict for x in got], [x.p_a for x in got], [x.source for x in got], [x.n_tokens for x in got], mode)
        out.append({"mode": mode, "pairs": s.pairs, "judgments": s.judgments,
                    "judge_tokens_per_call": s.judge_tokens_mean, "wall_s_per_call": wall / len(reqs),
                    "decided": 1 - s.unparseable_rate, "forced_share": s.forced_rate, "accuracy": s.accuracy,
                    "swap_consistency": s.swap_consistency, "first_position_rate": s.first_position_rate,
                    "brier": s.brier, "ece": s.ece})
    return out


def markdown(rows: list[dict], args) -> str:
    def f(x, d=3):
        return "n/a" if x is None else f"{x:.{d}f}"

    lines = [f"model {args.model}, judge {args.judge}, judge_max_tokens {args.judge_max_tokens}", "",
             "| pairs | mode | pairs (x2 orders) | judge tokens / call | wall s / call | decided | accuracy | swap consistency | ECE |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.get("pairs"):
            lines.append(f"| {r['pairs_set']} | {r['mode']} | 0 | | | | | | |")
            continue
        lines.append(f"| {r['pairs_set']} | {r['mode']} | {r['pairs']} | {f(r['judge_tokens_per_call'], 1)} | "
                     f"{f(r['wall_s_per_call'], 4)} | {f(r['decided'])} | {f(r['accuracy'])} | "
                     f"{f(r['swap_consistency'])} | {f(r['ece'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

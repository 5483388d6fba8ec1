"""Smoke test of the vllm engine on a GPU machine: one search step and one judgment, timed.

vLLM cannot run on the CPU development machines (CUDA builds only), so its engine is unit-tested
against a stand-in module; this script is the real check. It builds the engine, renders the
paper's reasoning prompt for a few problems, samples 6 candidate first steps each (temperature
0.5, top_p 0.95, stop "\\nStep "), normalizes them, renders the paper's judge prompt for one pair
per problem in both A/B orders, judges greedily, parses the verdicts and prints timings.

    pip install 'psr-builder[vllm]'
    python bench/vllm_smoke.py MODEL_PATH [--tp 1] [--max-model-len 4096]

Exit status 0 when every request came back with well-formed completions (a verdict may be
unparseable for a weak model: counted and shown, not an error).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROBLEMS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?",
    "What is the remainder when $2^{10}$ is divided by $7$?",
    "Simplify $\\frac{3}{4} + \\frac{5}{6}$.",
    "A rectangle has perimeter 30 and length 9. What is its area?",
]


def main() -> int:
    args = parse_args()
    from builder.engines import Request, load_engine
    from builder.prompts import ChatRenderer, load_template
    from builder.steps import is_terminal, normalize_step, parse_verdict

    t0 = time.perf_counter()
    engine = load_engine("vllm", args.model, {"dtype": args.dtype, "vllm": {
        "tensor_parallel_size": args.tp, "max_model_len": args.max_model_len,
        "gpu_memory_utilization": args.gpu_memory_utilization}})
    renderer = ChatRenderer(args.model)
    print(f"engine ready in {time.perf_counter() - t0:.1f} s: {engine.info}")

    reasoning, judge = load_template("reasoning_paper"), load_template("judge_paper")
    gen = [Request(renderer.generation_prompt(reasoning, p, []), n=args.width, temperature=0.5, top_p=0.95,
                   max_tokens=args.max_step_tokens, stop=("\nStep ",), seed=1000 * i) for i, p in enumerate(PROBLEMS)]
    steps, seconds = timed(engine.generate, gen)
    tokens = sum(c.n_tokens for cs in steps for c in cs)
    print(f"steps: {len(gen)} prompts x {args.width} samples, {tokens} tokens in {seconds:.2f} s "
          f"({tokens / seconds:.0f} tokens/s)")
    ok = all(len(cs) == args.width for cs in steps)
    candidates = [[normalize_step(c.text, 1) for c in cs] for cs in steps]
    for problem, cs, raw in zip(PROBLEMS, candidates, steps):
        print(f"  {problem[:50]!r}: {cs[0]!r} ({raw[0].finish_reason}, terminal={is_terminal(cs[0], raw[0].finish_reason)})")

    judge_reqs = []
    for problem, cs in zip(PROBLEMS, candidates):
        a, b = cs[0], cs[-1]
        for x, y in ((a, b), (b, a)):  # both orders, as the search does
            judge_reqs.append(Request(renderer.judge_prompt(judge, problem, [], x, y), temperature=0.0,
                                      max_tokens=args.judge_max_tokens))
    judgments, seconds = timed(engine.generate, judge_reqs)
    verdicts = [parse_verdict(cs[0].text) for cs in judgments]
    tokens = sum(cs[0].n_tokens for cs in judgments)
    print(f"judge: {len(judge_reqs)} prompts, {tokens} tokens in {seconds:.2f} s ({tokens / seconds:.0f} tokens/s); "
          f"verdicts {verdicts} ({verdicts.count(None)} unparseable)")
    print(f"  first judgment tail: {judgments[0][0].text[-200:]!r}")
    ok = ok and all(len(cs) == 1 and cs[0].finish_reason in ("stop", "eos", "length") for cs in judgments)
    print("OK" if ok else "FAILED: malformed completions")
    return 0 if ok else 1


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="local model folder (e.g. RUN/models/M1)")
    p.add_argument("--tp", type=int, default=1, help="tensor_parallel_size")
    p.add_argument("--dtype", default=None)
    p.add_argument("--max-model-len", type=int, default=4096)
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--width", type=int, default=6)
    p.add_argument("--max-step-tokens", type=int, default=256)
    p.add_argument("--judge-max-tokens", type=int, default=512)
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(main())

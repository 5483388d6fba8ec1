"""Generated tokens per second of the hf engine at batch sizes 1, 8, 64, 256 (sampling, fixed max_tokens).

Default model: the embedded demo's M0 (random weights; built into --work if no --model is given).
Each batch is one `engine.generate` call over that many distinct prompts with n=1; tokens counted
are what the engine reports as generated (n_tokens: stop/EOS included, padding excluded), so an
early EOS lowers the count instead of inflating the rate. One warm-up call runs first.

    .venv/bin/python bench/engine.py                       # tiny model, CPU
    .venv/bin/python bench/engine.py --model RUN/models/M1 --device cuda --batch-sizes 1,64,256

Timings depend on what else runs on the machine: report them with that caveat.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    args = parse_args()
    from builder.engines import Request, load_engine
    from builder.prompts import ChatRenderer, load_template

    model = args.model or build_tiny(args.work)
    settings = {"device": args.device, "dtype": args.dtype, "max_batch_tokens": args.max_batch_tokens,
                "threads": args.threads}
    t0 = time.perf_counter()
    engine = load_engine("hf", model, settings)
    print(f"model {model} loaded in {time.perf_counter() - t0:.1f} s; {engine.info}", file=sys.stderr)
    renderer = ChatRenderer(model)
    template = load_template(args.template)
    prompts = [renderer.generation_prompt(template, f"{10 + i % 40} + {i % 9} - {i % 7}", []) for i in range(512)]

    def requests(batch: int, seed: int):
        return [Request(prompts[i % len(prompts)], temperature=args.temperature, top_p=0.95,
                        max_tokens=args.max_tokens, seed=seed + i) for i in range(batch)]

    engine.generate(requests(8, 10**6))  # warm-up: allocator, kernels, tokenizer caches
    print(f"{'batch':>6} {'seconds':>8} {'tokens':>7} {'tokens/s':>9} {'generate calls':>15}")
    for batch in args.batch_sizes:
        calls = count_generate_calls(engine)
        t0 = time.perf_counter()
        out = engine.generate(requests(batch, 0))
        seconds = time.perf_counter() - t0
        tokens = sum(c.n_tokens for cs in out for c in cs)
        row = {"batch": batch, "seconds": round(seconds, 3), "tokens": tokens,
               "tokens_per_s": round(tokens / seconds, 1), "generate_calls": len(calls)}
        print(f"{batch:>6} {seconds:>8.2f} {tokens:>7} {tokens / seconds:>9.1f} {len(calls):>15}")
        if args.json:
            print(json.dumps(row), file=sys.stderr)


def count_generate_calls(engine) -> list:
    """Wrap model.generate (fresh list per batch size) so the table shows how many calls ran."""
    calls: list = []
    real = getattr(engine.model.generate, "__wrapped_real__", engine.model.generate)

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    counting.__wrapped_real__ = real
    engine.model.generate = counting
    return calls


def build_tiny(work: str | None) -> str:
    from builder.models.tiny import build_tiny_model

    out = Path(work or tempfile.mkdtemp(prefix="psr-bench-engine-")) / "M0"
    if not (out / "config.json").exists():
        build_tiny_model(out, task="arithmetic", seed=0)
    return str(out)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: build the tiny demo model)")
    p.add_argument("--work", help="where to build the tiny model (default: a temp dir)")
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    p.add_argument("--batch-sizes", default="1,8,64,256", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-batch-tokens", type=int, default=65536)
    p.add_argument("--template", default="reasoning_arith", help="reasoning template (reasoning_paper for real models)")
    p.add_argument("--json", action="store_true", help="also print one JSON line per batch size on stderr")
    return p.parse_args()


if __name__ == "__main__":
    main()

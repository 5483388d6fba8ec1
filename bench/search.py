"""Orchestration overhead of `psr generate`: time inside engine calls vs wall time of the search.

Builds a throwaway run on the demo preset with the tiny model (random weights unless --model
gives a trained one; junk steps are fine for this ratio), adds P task problems and runs the
library path of `psr generate` (chunks, batching, judging bookkeeping, Parquet parts, markers).
Prints one JSON line: wall seconds of generate (after the engine is loaded), seconds inside
`engine.generate`, and their ratio. Target: ratio >= 0.95. --profile prints where the rest goes.

    .venv/bin/python bench/search.py --problems 64
    .venv/bin/python bench/search.py --model runs/demo/models/M1 --set search.width=4 --profile
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=64)
    ap.add_argument("--model", help="A trained model dir (default: a fresh random-weight tiny model).")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="Run config override KEY=VALUE.")
    ap.add_argument("--work", help="Work dir (default: a temp dir).")
    ap.add_argument("--profile", action="store_true", help="cProfile generate; print the top non-engine costs.")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="psr-bench-search-"))
    print(json.dumps(bench(work, args.problems, args.model, args.sets, args.profile)))


def bench(work: Path, n_problems: int, model: str | None, sets: list[str], profile: bool) -> dict:
    import torch

    from builder.engines import load_engine
    from builder.problems import add_problems
    from builder.search.iteration import generate_iteration
    from builder.store import init_run

    if model is None:
        from builder.models.tiny import build_tiny_model

        model = str(build_tiny_model(work / "M0", task="arithmetic", seed=0))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    shutil.rmtree(work / "run", ignore_errors=True)  # a fresh run: no chunk may be skipped
    run = init_run(work / "run", "demo", [f"models.M1={model}", f"engine.device={device}", *sets], force=True)
    add_problems(run, 1, None, None, n_problems, [], force=True)
    engine = load_engine(run.config.engine.name, model, run.config.engine.settings())
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    report = generate_iteration(run, 1, force=True, engine=engine)
    wall = time.perf_counter() - t0
    if prof is not None:
        prof.disable()
        _print_profile(prof)
    s = report.stats
    return {
        "problems": n_problems, "chunks": len(report.computed), "device": device, "model": model,
        "statuses": dict(report.statuses), "max_rounds": s.rounds, "engine_calls": s.engine_calls,
        "gen_requests": s.gen_requests, "judge_calls": s.judge_calls, "gen_tokens": s.gen_tokens,
        "judge_tokens": s.judge_tokens, "wall_s": round(wall, 3), "engine_s": round(s.engine_seconds, 3),
        "search_loop_s": round(s.wall_seconds, 3), "ratio_engine_wall": round(s.engine_seconds / wall, 4),
        "cpu_load_1min": os.getloadavg()[0],
    }


def _print_profile(prof) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
    stats.print_stats(r"builder/(search|store|pairs|prompts|steps|schemas)", 15)
    sys.stderr.write(out.getvalue())


if __name__ == "__main__":
    main()

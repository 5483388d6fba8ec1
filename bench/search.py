"""Orchestration overhead of `psr generate`: time inside engine calls vs wall time of the search.

Builds a throwaway run on the demo preset with the tiny model (random weights unless --model
gives a trained one; junk steps are fine for this ratio), adds P task problems and runs the
library path of `psr generate` (chunks, batching, judging bookkeeping, Parquet parts, markers).
Prints one JSON line: wall seconds of generate (after the engine is loaded), seconds inside
`engine.generate`, and their ratio. Target: ratio >= 0.95. --profile prints where the rest goes.

    .venv/bin/python bench/search.py --problems 64
    .venv/bin/python bench/search.py --model runs/demo/models/M1 --set search.width=4 --profile

With --executor ray --workers K the chunks run on K Ray actors (a local cluster, or --address);
the line then also has the rows per table and a digest of their sorted content hashes (equal
digests for K = 1 and 2 mean identical rows), the per-chunk cost from the markers, and with
--project a GPU-hours projection for the qwen2.5-math-7b preset: the measured calls per problem
times assumed tokens per call and an assumed vLLM throughput, all printed beside the result.

    .venv/bin/python bench/search.py --problems 16 --executor ray --workers 2 --project
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
    ap.add_argument("--executor", choices=["local", "ray"], default="local")
    ap.add_argument("--workers", type=int, default=1, help="Ray actors (with --executor ray).")
    ap.add_argument("--address", help="Ray cluster (default: a local one started here).")
    ap.add_argument("--project", action="store_true", help="Add the 7B-preset GPU-hours projection.")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="psr-bench-search-"))
    sets = args.sets + ([f"executor.ray.workers={args.workers}"] if args.executor == "ray" else [])
    out = bench(work, args.problems, args.model, sets, args.profile, args.executor, args.address)
    if args.project:
        out["projection_7b"] = project_7b(out)
    print(json.dumps(out))


def bench(work: Path, n_problems: int, model: str | None, sets: list[str], profile: bool, executor: str = "local",
          address: str | None = None) -> dict:
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
    # the Ray actors load their own engine; the wall time then includes starting them (and the cluster)
    engine = load_engine(run.config.engine.name, model, run.config.engine) if executor == "local" else None
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    report = generate_iteration(run, 1, force=True, engine=engine, executor=executor, address=address)
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
        "cpu_load_1min": os.getloadavg()[0], "executor": executor,
        "workers": run.config.executor.ray.workers if executor == "ray" else 1, **rows_and_chunks(run),
    }


def rows_and_chunks(run) -> dict:
    """Rows per table, a digest of their sorted content hashes, and per-chunk cost from the markers."""
    import hashlib

    from builder.store import read_table

    rows, digest = {}, hashlib.sha256()
    for table in ("trees", "nodes", "judgments"):
        hashes = sorted(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()
                        for r in read_table(run, table, 1).to_pylist())
        rows[table] = len(hashes)
        digest.update("".join(hashes).encode())
    markers = [json.loads(p.read_text()) for p in sorted(run.work_dir(1).glob("chunk-*.json"))]
    walls = [m["stats"]["chunk_wall_seconds"] for m in markers]
    n = sum(len(m["problem_ids"]) for m in markers)
    return {"rows": rows, "rows_sha256": digest.hexdigest()[:16], "chunk_wall_s_mean": round(sum(walls) / len(walls), 3),
            "chunk_wall_s_sum": round(sum(walls), 3), "workers_seen": len({m["worker"]["pid"] for m in markers}),
            "per_problem": {k: round(sum(m["stats"][k] for m in markers) / n, 2)
                            for k in ("judge_calls", "gen_requests", "gen_tokens", "judge_tokens")}}


# Assumptions of the projection (not measured here): rounds (accepted steps plus rollbacks) per
# problem for a 7B math model, tokens per step, per judgment and per prompt under the qwen2.5-math-7b
# preset, and the throughput of one vLLM engine on one 80 GB GPU for a 7B model under a large batch.
# The paper's iterations have 400 to 1200 problems. Measured here: judge calls and candidates per
# round, which follow from the preset's width and judge orders (width 6, both orders: 30 and 6).
ASSUMED = {"rounds_per_problem": 7, "step_tokens": 120, "judgment_tokens": 250, "prompt_tokens_per_call": 600,
           "vllm_out_tok_s_per_gpu": 2500, "vllm_prefill_tok_s_per_gpu": 20000, "problems_per_iteration": [400, 1200]}


def project_7b(out: dict, width: int = 6) -> dict:
    """GPU hours per iteration = problems x rounds x (GPU seconds of one round), from calls per round."""
    pp, a = out["per_problem"], ASSUMED
    judge_per_round = pp["judge_calls"] / pp["gen_requests"]
    round_s = (width * a["step_tokens"] / a["vllm_out_tok_s_per_gpu"]
               + judge_per_round * a["judgment_tokens"] / a["vllm_out_tok_s_per_gpu"]
               + (1 + judge_per_round) * a["prompt_tokens_per_call"] / a["vllm_prefill_tok_s_per_gpu"])
    per_problem_s = a["rounds_per_problem"] * round_s
    return {"kind": "projection, not a measurement", "assumptions": a,
            "measured_judge_calls_per_round": judge_per_round, "judge_calls_per_problem": judge_per_round * a["rounds_per_problem"],
            "gpu_seconds_per_problem": round(per_problem_s, 1),
            "gpu_hours_per_iteration": {str(n): round(n * per_problem_s / 3600, 1) for n in a["problems_per_iteration"]}}


def _print_profile(prof) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("tottime")
    stats.print_stats(r"builder/(search|store|pairs|prompts|steps|schemas)", 15)
    sys.stderr.write(out.getvalue())


if __name__ == "__main__":
    main()

"""Times the report's judge-consistency queries on a synthetic judgments table of 10 million rows.

The table is written in the store layout (RUN/data/judgments/iteration=N/part-*.parquet, several
part files per iteration) with realistic ids: trees '<N>-<16 hex>', nodes '<tree>/<k>', rounds of
6 candidates judged in both orders (30 judgments per round), 8 rounds per tree, a judge that
prefers position A 60 % of the time and fails to parse 3 % of the time. Generation time is printed
separately from query time. Target: all judge-consistency queries together <= 5 s on 2 cores.

    .venv/bin/python bench/analysis.py --rows 10000000 --work /tmp/psr-bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ("judge_consistency",)
WIDTH = 6
PER_ROUND = WIDTH * (WIDTH - 1)
ROUNDS_PER_TREE = 8

# Judgment i: global round g = i // 30, ordered pair j = i % 30 -> (a, b) with a != b; candidate
# k of round r (1-based) of a tree is node k = 6 (r - 1) + 1 + idx; the parent of round r is the
# candidate 0 of round r - 1 (the root '/0' for round 1). A random draw u decides the verdict.
SELECT = """
WITH base AS (
    SELECT i, i // {per} AS g, i % {per} AS j, hash(i, {seed}) % 1000 AS u
    FROM range({start}, {stop}) t(i)
), ids AS (
    SELECT i, u, j // {w1} AS a, j % {w1} + (j % {w1} >= j // {w1})::INTEGER AS b,
           g % {rpt} + 1 AS r,
           '{it}-' || lpad(printf('%x', (g // {rpt}) * 2654435761 % 4294967296), 8, '0')
                   || lpad(printf('%x', g // {rpt}), 8, '0') AS tree_id
    FROM base
)
SELECT {it}::INTEGER AS iteration,
       tree_id || '/j' || (i % ({per} * {rpt}))::VARCHAR AS judgment_id,
       tree_id,
       tree_id || '/' || CASE WHEN r = 1 THEN 0 ELSE {w} * (r - 2) + 1 END::VARCHAR AS parent_id,
       r::INTEGER AS round,
       tree_id || '/' || ({w} * (r - 1) + 1 + a)::VARCHAR AS node_a,
       tree_id || '/' || ({w} * (r - 1) + 1 + b)::VARCHAR AS node_b,
       a > b AS swapped,
       CASE WHEN u < 600 THEN 'A' WHEN u < 970 THEN 'B' END AS verdict,
       CASE WHEN u < 600 THEN tree_id || '/' || ({w} * (r - 1) + 1 + a)::VARCHAR
            WHEN u < 970 THEN tree_id || '/' || ({w} * (r - 1) + 1 + b)::VARCHAR END AS winner,
       CASE WHEN u < 600 THEN 'Both are fine. [[A]]' WHEN u < 970 THEN 'B is right. [[B]]'
            ELSE 'I cannot tell.' END AS raw,
       (20 + u % 40)::INTEGER AS n_tokens
FROM ids
"""


def generate(run_root: Path, rows: int, iterations: int, parts: int, seed: int) -> None:
    import duckdb

    per_it = -(-rows // iterations)
    per_it -= per_it % (PER_ROUND * ROUNDS_PER_TREE)  # whole trees per iteration
    con = duckdb.connect()
    start = 0
    for it in range(1, iterations + 1):
        stop = rows if it == iterations else start + per_it
        bounds = [start + (stop - start) * k // parts for k in range(parts + 1)]
        bounds = [b - b % PER_ROUND for b in bounds[:-1]] + [stop]  # never split a round
        out = run_root / "data" / "judgments" / f"iteration={it}"
        out.mkdir(parents=True, exist_ok=True)
        for k in range(parts):
            q = SELECT.format(per=PER_ROUND, w=WIDTH, w1=WIDTH - 1, rpt=ROUNDS_PER_TREE, it=it, seed=seed,
                              start=bounds[k], stop=bounds[k + 1])
            con.execute(f"COPY ({q}) TO '{out}/part-chunk{k:03d}.parquet' (FORMAT parquet, COMPRESSION zstd)")
        start = stop
    con.close()


def time_queries(run_root: Path, threads: int | None) -> dict:
    from builder.query import connect, rows as query_rows
    from builder.store import Run

    db = connect(Run.open(run_root), threads=threads)
    times, cpu, results = {}, {}, {}
    for name in QUERIES:
        t0, c0 = time.perf_counter(), _cpu()
        results[name] = query_rows(db, name)
        times[name] = round(time.perf_counter() - t0, 3)
        cpu[name] = round(_cpu() - c0, 3)
    db.close()
    return {"times_s": times, "cpu_s": cpu, "results": results}


def _cpu() -> float:
    """CPU seconds of this process (all DuckDB threads): the machine is shared, wall time is noisy."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _load() -> float:
    import os

    return round(os.getloadavg()[0], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--parts", type=int, default=4, help="part files per iteration")
    ap.add_argument("--work", type=Path, default=Path("/tmp/psr-bench-analysis"))
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    ap.add_argument("--keep", action="store_true", help="reuse existing data in --work")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from builder.store import init_run

    run_root = args.work / "run"
    gen_s = 0.0
    if not (args.keep and (run_root / "data" / "judgments").exists()):
        shutil.rmtree(args.work, ignore_errors=True)
        init_run(run_root, "demo", [])
        t0 = time.perf_counter()
        generate(run_root, args.rows, args.iterations, args.parts, args.seed)
        gen_s = time.perf_counter() - t0
    out = time_queries(run_root, args.threads)
    total = round(sum(out["times_s"].values()), 3)
    summary = {"rows": args.rows, "generate_s": round(gen_s, 2), "queries_s": out["times_s"], "total_query_s": total,
               "query_cpu_s": out["cpu_s"], "cores": os.cpu_count(), "load_avg_1m": _load(),
               "target_s": 5.0, "met": total <= 5.0}
    print(json.dumps(out["results"], default=str))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

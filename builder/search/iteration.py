"""`psr generate` and `psr seal` as library calls: chunked, sharded, resumable search of iteration N.

generate: pin the plan (chunks.py), skip chunks whose marker verifies, compute the others with
M(N) through `run_search` (one batch of trees per chunk), write one part per table, then the
marker. A sealed iteration is left alone ("nothing to do") unless force, which removes its data.
seal: every chunk of the plan must have a verified marker; then the manifest with the lineage.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from builder.errors import PsrError
from builder.search import chunks
from builder.search.context import Templates
from builder.search.driver import SearchStats

SEARCH_TABLES = list(chunks.TABLES)  # one list: the chunk job's tables
SEALED_TABLES = ["problems", *SEARCH_TABLES]


@dataclass(slots=True)
class GenerateReport:
    iteration: int
    sealed: bool = False  # sealed before this call: nothing was done
    removed: list = field(default_factory=list)
    n_chunks: int = 0
    shard: tuple[int, int] = (0, 1)
    computed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    by_others: list[int] = field(default_factory=list)  # computed by a cooperating process meanwhile
    n_problems: int = 0
    statuses: Counter = field(default_factory=Counter)
    stats: SearchStats = field(default_factory=SearchStats)
    wall_seconds: float = 0.0


def load_problems(run, iteration: int) -> list[dict]:
    from builder.store import read_table

    rows = read_table(run, "problems", iteration).to_pylist()
    if not rows:
        raise PsrError(f"iteration {iteration} has no problems; add them with `psr problems add --run {run.root} --iter {iteration}`")
    return rows


def discard(run, iteration: int) -> list:
    """Remove the search tables' parts and the work dir (markers, plan) of an unsealed iteration."""
    import shutil

    from builder.store import clear_tables

    removed = clear_tables(run, iteration, SEARCH_TABLES + ["pairs"])
    work = run.work_dir(iteration)
    if work.exists():
        removed.extend(sorted(work.glob("*.json")))
        shutil.rmtree(work)
    return removed


def prepare(run, iteration: int, limit: int | None, force: bool, report: GenerateReport):
    """(plan, problems by id) after the sealed/force/plan checks; None when sealed and not forced."""
    from builder.store import is_sealed, require_unsealed

    if is_sealed(run, iteration):
        if not force:
            report.sealed = True
            return None
        report.removed = require_unsealed(run, iteration, True, SEARCH_TABLES + ["pairs"]) + discard(run, iteration)
    problems = load_problems(run, iteration)
    plan = chunks.Plan.make([p["problem_id"] for p in problems], run.config.search.chunk_size, limit)
    pinned = chunks.load_plan(run, iteration)
    if force and pinned is not None and pinned != plan.to_json():
        report.removed += discard(run, iteration)
    chunks.pin_plan(run, iteration, plan)
    return plan, {p["problem_id"]: p for p in problems}


def generate_iteration(run, iteration: int, shard: str | None = None, limit: int | None = None,
                       force: bool = False, progress=None, engine=None, executor: str = "local",
                       address: str | None = None) -> GenerateReport:
    """Compute this shard's missing chunks of iteration N in this process or on Ray (builder/executors).

    `engine` overrides loading M(N) (tests, benches; local executor only)."""
    started = time.perf_counter()
    report = GenerateReport(iteration, shard=chunks.parse_shard(shard))
    prepared = prepare(run, iteration, limit, force, report)
    if prepared is None:
        return report
    plan, by_id = prepared
    report.n_chunks = plan.n_chunks
    mine = chunks.shard_chunks(plan.n_chunks, report.shard)
    report.skipped = [c for c in mine if chunks.verify_marker(run, iteration, c, plan)]
    todo = [c for c in mine if c not in report.skipped]
    report.n_problems = sum(len(plan.chunk_ids(c)) for c in todo)
    if progress is not None:
        progress.skip(len(plan.problem_ids) - report.n_problems)
    if todo:
        _compute(run, iteration, plan, by_id, todo, report, progress, engine, executor, address)
    report.wall_seconds = time.perf_counter() - started
    return report


def _compute(run, iteration, plan, by_id, todo, report, progress, engine, executor, address) -> None:
    from builder.executors import run_chunks
    from builder.search.chunk_task import GenerateTask

    run.require_model(iteration)  # a missing M(N) is named here, before any worker starts
    mine = {pid: by_id[pid] for c in todo for pid in plan.chunk_ids(c)}
    task = GenerateTask(str(run.root), iteration, plan, mine, engine)

    def done(c: int, marker: dict) -> None:
        report.computed.append(c)
        report.stats.add(SearchStats(**{k: v for k, v in marker["stats"].items() if k in SearchStats.__slots__}))
        report.statuses.update(marker.get("statuses", {}))
        if progress is not None and executor != "local":
            progress.chunk_done(c, marker, len(plan.chunk_ids(c)))

    def other(c: int, marker: dict) -> None:
        report.by_others.append(c)
        report.n_problems -= len(plan.chunk_ids(c))
        if progress is not None:
            progress.skip(len(plan.chunk_ids(c)))

    run_chunks(task, todo, executor, ray_settings=run.config.executor.ray, address=address,
               progress=progress if executor == "local" else None, on_done=done, on_other=other)


@dataclass(slots=True)
class SealReport:
    iteration: int
    already: bool = False
    rows: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)


def seal_iteration(run, iteration: int) -> SealReport:
    from builder.store import is_sealed, part_paths, seal

    if is_sealed(run, iteration):
        return SealReport(iteration, already=True)
    plan, problems = _sealable_plan(run, iteration)
    markers = [chunks.verify_marker(run, iteration, c, plan) for c in range(plan.n_chunks)]
    totals = _totals(markers)
    # evals of M(N) may already exist (make iter evaluates M(N+1) before iteration N+1 is generated)
    tables = SEALED_TABLES + (["evals"] if part_paths(run, "evals", iteration) else [])
    manifest = seal(run, iteration, tables, _lineage(run, iteration, plan, problems, markers),
                    extra={"search_totals": totals})
    return SealReport(iteration, rows={t: e["rows"] for t, e in manifest["tables"].items()}, totals=totals)


def _sealable_plan(run, iteration: int):
    pinned = chunks.load_plan(run, iteration)
    if pinned is None:
        raise PsrError(f"iteration {iteration} has no search output yet; run `psr generate --run {run.root} --iter {iteration}` first")
    problems = load_problems(run, iteration)
    plan = chunks.Plan.make([p["problem_id"] for p in problems], pinned["chunk_size"], pinned["limit"])
    if plan.to_json() != pinned:
        raise PsrError(f"the problems of iteration {iteration} changed after `psr generate` started "
                       f"({chunks.plan_path(run, iteration)}); rerun `psr generate --force`")
    missing = chunks.missing_chunks(run, iteration, plan)
    if missing:
        names = ", ".join(str(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise PsrError(f"iteration {iteration}: {len(missing)} of {plan.n_chunks} chunks missing or unverified ({names}); "
                       f"chunk c belongs to shard c % K of K: rerun `psr generate --run {run.root} --iter {iteration}` "
                       f"(with that --shard I/K) to compute them")
    _check_stray_parts(run, iteration, plan)
    return plan, problems


def _check_stray_parts(run, iteration: int, plan) -> None:
    from builder.store import part_paths

    expected = {f"part-{chunks.part_name(c)}.parquet" for c in range(plan.n_chunks)}
    stray = [p for t in SEARCH_TABLES for p in part_paths(run, t, iteration) if p.name not in expected]
    if stray:
        raise PsrError(f"{stray[0]}: not a chunk of the current plan ({len(stray)} such file(s)); "
                       "remove them or rerun `psr generate --force`")


TOTAL_KEYS = ("gen_tokens", "judge_tokens", "judge_calls", "gen_requests", "rollout_requests", "greedy_requests", "engine_calls",
              "engine_seconds", "sampling_rounds", "samples", "distinct", "single_rounds", "judged_rounds",
              "all_tie_rounds", "rollbacks", "accepted_steps", "judge_stages")


def _totals(markers: list[dict]) -> dict:
    """The manifest's search_totals: sums over the chunks' stats (see driver.SearchStats), the
    histogram of distinct candidates per round, and trees by status."""
    out = {k: sum(m["stats"].get(k, 0) for m in markers) for k in TOTAL_KEYS}
    out["wall_seconds"] = sum(m["stats"].get("chunk_wall_seconds", 0.0) for m in markers)
    out["chunks"] = len(markers)
    hist, statuses = Counter(), Counter()
    for m in markers:
        hist.update(m["stats"].get("distinct_hist", {}))
        statuses.update(m.get("statuses", {}))
    out["distinct_hist"] = dict(sorted(hist.items(), key=lambda kv: int(kv[0])))
    out["trees_by_status"] = dict(sorted(statuses.items()))
    out["all_tie_rate"] = out["all_tie_rounds"] / out["judged_rounds"] if out["judged_rounds"] else None
    out["judge_calls_per_step"] = out["judge_calls"] / out["accepted_steps"] if out["accepted_steps"] else None
    return out


def _lineage(run, iteration: int, plan, problems: list[dict], markers: list[dict]) -> dict:
    from builder.store.lineage import base_lineage, model_fingerprint, sha256_text

    cfg = run.config
    engines = {json.dumps(m["engine"], sort_keys=True) for m in markers}
    models = sorted({m["model"] for m in markers})
    content = json.dumps(sorted((p["problem_id"], p["problem"], p["answer"]) for p in problems))
    templates = Templates.from_config(cfg.prompts)
    return {
        **base_lineage(run),
        "model": {**model_fingerprint(models[0]), "all_paths": models} if models else {},
        "engine": [json.loads(e) for e in sorted(engines)],
        "problems": {"sources": sorted({p["source"] for p in problems}), "content_sha256": sha256_text(content),
                     "count": len(problems)},
        "seeds": {"run_seed": cfg.seed, "request_seed": "sha256(repr((run seed, tree_id, round, kind[, k])))"},
        "search": cfg.search.model_dump(mode="json"),
        "prompts": {**cfg.prompts.model_dump(mode="json"),
                    "reasoning_sha256": sha256_text(templates.reasoning), "judge_sha256": sha256_text(templates.judge)},
        "plan": plan.to_json(),
    }

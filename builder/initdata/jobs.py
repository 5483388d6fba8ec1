"""Resumable chunked jobs of iteration 0 (`psr init-data ift|eft`), and sealing iteration 0.

Layout under RUN/work/iteration=0/<kind>/ (kind = ift or eft):
  plan.json            what the job is (source, teacher, limit, chunk size, hash of the item ids);
                       a rerun with different arguments is refused until --force
  chunk-00003.jsonl    the chunk's log (IFT: rejections; EFT: every candidate pair and its fate)
  chunk-00003.json     the chunk's marker, written LAST (atomic): its counts and its part file
Plan and markers are store/jobs.py's, the same as `psr generate`'s. Each chunk writes
RUN/data/<kind>/iteration=0/part-<kind>-c00003.parquet (atomic) before its marker, so a killed
job redoes at most the chunk it was in. When every chunk is done the logs are
merged into RUN/work/iteration=0/<kind>_log.jsonl and the counts into <kind>_summary.json.
Iteration 0 is sealed (tables ift + eft, summaries in the manifest under "init_data") as soon as
both summaries exist.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from builder.errors import PsrError, SealedError
from builder.ids import ids_digest
from builder.store import Run, atomic, is_sealed, part_paths, seal
from builder.store.jobs import ChunkJob

LOG_NAMES = {"ift": "ift_rejections.jsonl", "eft": "eft_pairs.jsonl"}


def job_dir(run: Run, kind: str) -> Path:
    return run.work_dir(0) / kind


def summary_path(run: Run, kind: str) -> Path:
    return run.work_dir(0) / f"{kind}_summary.json"


def log_path(run: Run, kind: str) -> Path:
    return run.work_dir(0) / LOG_NAMES[kind]


def part_name(kind: str, c: int) -> str:
    return f"{kind}-c{c:05d}"


def ids_sha256(ids: list[str]) -> str:
    return ids_digest(ids)


write_json, write_jsonl = atomic.write_json, atomic.write_jsonl


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def finished(run: Run, kind: str, plan: dict) -> dict | None:
    """The summary of a sealed iteration 0 whose job ran with this very plan (a rerun: nothing to do)."""
    summary = summary_path(run, kind)
    if is_sealed(run, 0) and summary.exists() and job(run, kind).load_plan() == plan:
        return json.loads(summary.read_text())
    return None


def start(run: Run, kind: str, plan: dict, force: bool) -> list[Path]:
    """Check sealing and the pinned plan; with force, remove this kind's data first. Returns what was removed."""
    removed: list[Path] = []
    if is_sealed(run, 0):
        if not force:
            raise SealedError(f"iteration 0 of {run.root} is sealed; pass --force to redo its {kind} data")
        run.manifest_path(0).unlink()
        removed.append(run.manifest_path(0))
    if force:
        removed += clear(run, kind)
    if job(run, kind).pin(plan) is not None:
        raise PsrError(f"{job(run, kind).plan_path}: a different `psr init-data {kind}` job is in progress (other "
                       f"source, teacher, limit or options); rerun with the same arguments to resume, or pass --force to restart")
    return removed


def clear(run: Run, kind: str) -> list[Path]:
    removed = part_paths(run, kind, 0)
    for p in removed:
        p.unlink()
    for p in (summary_path(run, kind), log_path(run, kind)):
        if p.exists():
            p.unlink()
            removed.append(p)
    if job_dir(run, kind).exists():
        shutil.rmtree(job_dir(run, kind))
    return removed


def job(run: Run, kind: str) -> ChunkJob:
    """This kind's chunked job (store/jobs.py): one table, parts named <kind>-c00003."""
    return ChunkJob(run, 0, job_dir(run, kind), (kind,), f"{kind}-")


def marker(run: Run, kind: str, c: int) -> dict | None:
    """The chunk's marker when the chunk is complete (its part file, if any, verified)."""
    return job(run, kind).verify(c)


def finish_chunk(run: Run, kind: str, c: int, rows: list[dict], log: list[dict], counts: dict) -> dict:
    """Log, then the part (if any rows) and the marker: the order that makes a kill safe."""
    write_jsonl(job_dir(run, kind) / f"chunk-{c:05d}.jsonl", log)
    return job(run, kind).write(c, {kind: rows}, {"rows": len(rows), "counts": counts}, keep_empty=False)


def finish_job(run: Run, kind: str, n_chunks: int, extra: dict) -> dict:
    """Merge the chunks' logs and counts; write the summary (the job's completion mark)."""
    markers = [marker(run, kind, c) for c in range(n_chunks)]
    if any(m is None for m in markers):
        raise PsrError(f"{kind}: chunk(s) {[c for c, m in enumerate(markers) if m is None]} not done")
    counts: dict = {}
    for m in markers:
        for k, v in m["counts"].items():
            counts[k] = counts.get(k, 0) + v
    log = [row for c in range(n_chunks) for row in read_jsonl(job_dir(run, kind) / f"chunk-{c:05d}.jsonl")]
    write_jsonl(log_path(run, kind), log)
    summary = {"kind": kind, "chunks": n_chunks, "rows": sum(m["rows"] for m in markers), "counts": counts, **extra}
    write_json(summary_path(run, kind), summary)
    return summary


def seal_if_complete(run: Run) -> bool:
    """Seal iteration 0 once both the ift and the eft jobs have their summaries."""
    from builder.store.lineage import base_lineage

    paths = {k: summary_path(run, k) for k in ("ift", "eft")}
    if is_sealed(run, 0) or not all(p.exists() for p in paths.values()):
        return False
    summaries = {k: json.loads(p.read_text()) for k, p in paths.items()}
    lineage = {**base_lineage(run), "source": "init-data ift+eft",
               "teachers": {k: s.get("teacher") for k, s in summaries.items()}}
    seal(run, 0, ["ift", "eft"], lineage, extra={"init_data": summaries})
    return True

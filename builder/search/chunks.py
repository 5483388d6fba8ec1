"""Chunks, shards and resumable chunk markers of `psr generate`.

The iteration's problems are sorted by problem_id (a content hash), `--limit K` keeps the first
K, and chunk c holds ranks c*chunk_size .. (c+1)*chunk_size-1. Shard I of K takes the chunks with
c % K == I, so a problem's shard follows from its hash rank, and K processes on any job runner
cover every chunk exactly once.

A chunk is computed as one batch of trees and written as one part per table
(part-c00003.parquet); then, last, RUN/work/iteration=N/chunk-00003.json records the parts'
sha256 and row counts (store/jobs.py, shared with `psr init-data`). A marker whose files verify
means "done"; anything else is recomputed. The plan (limit, chunk size, chunk count, hash of the
problem ids) is pinned in plan.json by the first generate, so every shard, rerun and Ray task
works on the same chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError, PsrError
from builder.ids import ids_digest
from builder.store.jobs import ChunkJob

TABLES = ("trees", "nodes", "judgments")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(slots=True, frozen=True)
class Plan:
    problem_ids: tuple[str, ...]  # sorted, limited
    chunk_size: int
    limit: int | None

    @classmethod
    def make(cls, problem_ids, chunk_size: int, limit: int | None) -> "Plan":
        ids = sorted(problem_ids)
        return cls(tuple(ids[:limit] if limit else ids), chunk_size, limit)

    @property
    def n_chunks(self) -> int:
        return -(-len(self.problem_ids) // self.chunk_size)

    def chunk_ids(self, c: int) -> list[str]:
        return list(self.problem_ids[c * self.chunk_size:(c + 1) * self.chunk_size])

    @property
    def ids_sha256(self) -> str:
        return ids_digest(self.problem_ids)

    def to_json(self) -> dict:
        return {"limit": self.limit, "chunk_size": self.chunk_size, "n_chunks": self.n_chunks,
                "n_problems": len(self.problem_ids), "problem_ids_sha256": self.ids_sha256}


def parse_shard(text: str | None) -> tuple[int, int]:
    """"I/K" -> (I, K) with 0 <= I < K; None -> (0, 1), the whole iteration."""
    if text is None:
        return 0, 1
    m = _SHARD.match(text)
    if not m or not 0 <= int(m[1]) < int(m[2]):
        raise InputError(f"--shard expects I/K with 0 <= I < K (e.g. 0/4), got '{text}'")
    return int(m[1]), int(m[2])


def shard_chunks(n_chunks: int, shard: tuple[int, int]) -> list[int]:
    i, k = shard
    return [c for c in range(n_chunks) if c % k == i]


def job(run, iteration: int) -> ChunkJob:
    """The iteration's chunked job: plan and markers in RUN/work/iteration=N (store/jobs.py)."""
    return ChunkJob(run, iteration, run.work_dir(iteration), TABLES)


def part_name(c: int) -> str:
    return f"c{c:05d}"


def marker_path(run, iteration: int, c: int) -> Path:
    return job(run, iteration).marker_path(c)


def plan_path(run, iteration: int) -> Path:
    return job(run, iteration).plan_path


def pin_plan(run, iteration: int, plan: Plan) -> None:
    """Record the plan on first use; refuse a different one (a changed --limit or problem set)."""
    pinned = job(run, iteration).pin(plan.to_json())
    if pinned is not None:
        diff = ", ".join(f"{k} {pinned.get(k)} -> {v}" for k, v in plan.to_json().items() if pinned.get(k) != v)
        raise PsrError(f"iteration {iteration} was started with another plan ({diff}; see {plan_path(run, iteration)}): "
                       "rerun with the same --limit, or pass --force to discard its chunks")


def verify_marker(run, iteration: int, c: int, plan: Plan) -> dict | None:
    """The chunk's marker if it exists, covers the plan's problems, and every part file matches it."""
    return job(run, iteration).verify(c, {"problem_ids": plan.chunk_ids(c)})


def missing_chunks(run, iteration: int, plan: Plan) -> list[int]:
    return job(run, iteration).missing(plan.n_chunks, lambda c: {"problem_ids": plan.chunk_ids(c)})


def load_plan(run, iteration: int) -> dict | None:
    return job(run, iteration).load_plan()

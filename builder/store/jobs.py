"""Chunked, resumable jobs: the pinned plan and the chunk markers, for `psr generate` and `psr init-data`.

A job lives in one work folder (RUN/work/iteration=N for generate, RUN/work/iteration=0/<kind>
for init-data):
  plan.json          what the job is; pinned by the first run, a rerun with another plan is refused
  chunk-00003.json   the chunk's marker, written LAST (atomic): {chunk, parts: {table: {file,
                     sha256, rows} | null}, ...what the caller adds}
Chunk c writes one Parquet part per table, RUN/data/<table>/iteration=N/part-<prefix>c00003.parquet
(atomic), before its marker. A marker whose part files still match their sha256 means "done";
anything else is recomputed, so a killed or retried chunk (local, `--shard`, or a Ray task) is
redone from scratch and never half-counted. Which process wrote a chunk does not matter.

Cooperating processes (two `psr generate` on one iteration): a process computes chunk c only while
it holds c's claim (store/lock.py, RUN/locks/<work folder>/chunk-00003.claim). `in_turn` takes
every free claim, then polls the claims other processes hold: a chunk they finished is handed back
as done, one whose holder died (its claim freed by the kernel) is computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from builder.store import atomic
from builder.store.atomic import read_json

if TYPE_CHECKING:
    from builder.store.run import Run


@dataclass(slots=True, frozen=True)
class ChunkJob:
    run: Run
    iteration: int
    work: Path
    tables: tuple[str, ...]
    prefix: str = ""  # part-<prefix>c00003.parquet; "eft-" keeps init-data's parts apart from imported ones

    @property
    def plan_path(self) -> Path:
        return self.work / "plan.json"

    def load_plan(self) -> dict | None:
        return read_json(self.plan_path)

    def pin(self, plan: dict) -> dict | None:
        """Record `plan` on first use; returns the pinned plan when it differs (the caller refuses it)."""
        pinned = self.load_plan()
        if pinned is None:
            atomic.write_json(self.plan_path, plan)
            return None
        return pinned if pinned != plan else None

    def part_name(self, c: int) -> str:
        return f"{self.prefix}c{c:05d}"

    def part_path(self, table: str, c: int) -> Path:
        return self.run.table_dir(table, self.iteration) / f"part-{self.part_name(c)}.parquet"

    def marker_path(self, c: int) -> Path:
        return self.work / f"chunk-{c:05d}.json"

    def claim_path(self, c: int) -> Path:
        from builder.store.lock import locks_dir

        return locks_dir(self.run.root) / self.work.relative_to(self.run.root) / f"chunk-{c:05d}.claim"

    def in_turn(self, todo: list[int], done: Callable[[int], dict | None],
                poll_seconds: float = 0.5) -> Iterator[tuple[int, dict | None]]:
        """(c, None) while this process holds c's claim and must compute c (before the next item);
        (c, marker) when another process finished c. `done(c)`: c's verified marker or None.
        Passes over the chunks not yet had, taking each free claim; a pass that takes none waits."""
        import time

        from builder.store.lock import claim

        pending = list(todo)
        while pending:
            for c in list(pending):
                with claim(self.claim_path(c), wait=False) as mine:
                    if mine:
                        pending.remove(c)
                        yield c, done(c)
            if pending:
                time.sleep(poll_seconds)  # every left chunk is claimed elsewhere: its holder finishes or dies

    def write(self, c: int, rows: dict[str, list], marker: dict, keep_empty: bool = True) -> dict:
        """Parts (atomic; an empty table gets none unless keep_empty), then the marker (atomic, last)."""
        from builder.store.lineage import sha256_file
        from builder.store.parts import write_table

        self.remove_leftovers(c)
        parts: dict[str, dict | None] = {}
        for table in self.tables:
            part = self.part_path(table, c)
            if not rows[table] and not keep_empty:
                part.unlink(missing_ok=True)  # a stale part of an earlier, killed attempt
                parts[table] = None
                continue
            path = write_table(self.run, table, self.iteration, self.part_name(c), rows[table])
            parts[table] = {"file": path.name, "sha256": sha256_file(path), "rows": len(rows[table])}
        data = {"chunk": c, "parts": parts, **marker}
        atomic.write_json(self.marker_path(c), data)
        return data

    def verify(self, c: int, expect: dict | None = None) -> dict | None:
        """The marker when it exists, has the `expect`ed values, and every part file matches it."""
        from builder.store.lineage import sha256_file

        marker = read_json(self.marker_path(c))
        if not marker or any(marker.get(k) != v for k, v in (expect or {}).items()):
            return None
        for table in self.tables:
            if table not in marker.get("parts", {}):
                return None
            entry, path = marker["parts"][table], self.part_path(table, c)
            if entry is None:
                continue
            if not path.exists() or sha256_file(path) != entry["sha256"]:
                return None
        return marker

    def missing(self, n_chunks: int, expect=lambda c: None) -> list[int]:
        return [c for c in range(n_chunks) if self.verify(c, expect(c)) is None]

    def remove_leftovers(self, c: int) -> None:
        """Temp files of this chunk left by a killed writer (only this chunk's: shards never collide)."""
        targets = [self.part_path(t, c) for t in self.tables] + [self.marker_path(c)]
        for tmp in [p for t in targets for p in atomic.leftovers(t)]:
            tmp.unlink(missing_ok=True)

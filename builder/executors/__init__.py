"""Where the chunks of a chunked job run: in this process (`local`) or on Ray actors (`ray`).

A chunk task (search/chunk_task.py for `psr generate`, initdata/eft.py for `psr init-data eft`) is a
picklable object with three methods, and both executors call only these:
  setup() -> state            load the model and engine: once per process (per Ray actor)
  run(state, c, progress)     compute chunk c and write it (parts, then the marker, last);
                              a chunk whose marker already verifies is returned as is, so a
                              retry after a crash is idempotent; returns the chunk's marker
  size(c) -> int              problems in chunk c (the Ray executor hands out big chunks first)
  job(state) -> ChunkJob      the job's markers and claims (store/jobs.py)
  done(state, c) -> marker    chunk c's verified marker, or None
Because the same `run` writes the same chunk with the same seeds, rows do not depend on where it ran.
The local executor computes a chunk only under its claim (ChunkJob.in_turn), so several processes
on one job share its chunks; the Ray executor hands each chunk to one actor itself.
"""

from __future__ import annotations

from collections.abc import Callable

from builder.errors import InputError

EXECUTORS = ("local", "ray")


def run_chunks(task, todo: list[int], executor: str = "local", *, ray_settings=None, address: str | None = None,
               progress=None, on_done: Callable[[int, dict], None] | None = None, state=None,
               on_other: Callable[[int, dict], None] | None = None) -> None:
    """Run `task` over the chunks `todo`; `on_done(c, marker)` in the driver as each completes,
    `on_other(c, marker)` for a chunk another process computed meanwhile (local executor)."""
    on_done = on_done or (lambda c, marker: None)
    on_other = on_other or (lambda c, marker: None)
    if executor == "local":
        state = task.setup() if state is None else state
        for c, marker in task.job(state).in_turn(todo, lambda c: task.done(state, c)):
            if marker is not None:
                on_other(c, marker)
                continue
            if progress is not None:
                progress.start_chunk(c)
            on_done(c, task.run(state, c, progress))
    elif executor == "ray":
        from builder.executors.ray import run_on_ray

        run_on_ray(task, todo, ray_settings, address, on_done)
    else:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}, got '{executor}'")

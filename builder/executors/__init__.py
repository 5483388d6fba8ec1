"""Where the chunks of a chunked job run: in this process (`local`) or on Ray actors (`ray`).

A chunk task (search/chunk_task.py for `psr generate`, initdata/eft.py for `psr init-data eft`) is a
picklable object with three methods, and both executors call only these:
  setup() -> state            load the model and engine: once per process (per Ray actor)
  run(state, c, progress)     compute chunk c and write it (parts, then the marker, last);
                              a chunk whose marker already verifies is returned as is, so a
                              retry after a crash is idempotent; returns the chunk's marker
  size(c) -> int              problems in chunk c (the Ray executor hands out big chunks first)
Because the same `run` writes the same chunk with the same seeds, rows do not depend on where it ran.
"""

from __future__ import annotations

from collections.abc import Callable

from builder.errors import InputError

EXECUTORS = ("local", "ray")


def run_chunks(task, todo: list[int], executor: str = "local", *, ray_settings=None, address: str | None = None,
               progress=None, on_done: Callable[[int, dict], None] | None = None, state=None) -> None:
    """Run `task` over the chunks `todo`; `on_done(c, marker)` in the driver as each completes."""
    on_done = on_done or (lambda c, marker: None)
    if executor == "local":
        state = task.setup() if state is None else state
        for c in todo:
            if progress is not None:
                progress.start_chunk(c)
            on_done(c, task.run(state, c, progress))
    elif executor == "ray":
        from builder.executors.ray import run_on_ray

        run_on_ray(task, todo, ray_settings, address, on_done)
    else:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}, got '{executor}'")

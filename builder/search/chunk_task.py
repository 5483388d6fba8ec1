"""One chunk of `psr generate` as a task any executor runs (builder/executors): load once, run many.

`GenerateTask` carries what a worker needs (run root, iteration, plan, the plan's problems) and
nothing it cannot pickle; setup() opens the run and loads M(N) in the worker's process, run()
searches one chunk and writes it: one part per table (atomic), then the marker (atomic, last).
A chunk whose marker already verifies is not recomputed, so a retried chunk does no work twice.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from builder.search import chunks


@dataclass(slots=True)
class Worker:
    run: object
    model: str
    engine: object
    renderer: object
    templates: object
    checker: object


@dataclass
class GenerateTask:
    root: str
    iteration: int
    plan: chunks.Plan
    problems: dict  # problem_id -> problem row, for the plan's problems
    engine: object = None  # an already loaded engine (tests, benches); local executor only

    def size(self, c: int) -> int:
        return len(self.plan.chunk_ids(c))

    def setup(self) -> Worker:
        from builder.engines import load_engine
        from builder.prompts import ChatRenderer
        from builder.search.context import Templates, make_checker
        from builder.store import Run

        run = Run.open(self.root)
        model = run.require_model(self.iteration)
        engine = self.engine or load_engine(run.config.engine.name, model, run.config.engine)
        return Worker(run, model, engine, ChatRenderer(model), Templates.from_config(run.config.prompts),
                      make_checker(run, list(self.problems.values())))

    def __getstate__(self):  # an engine object never travels to a Ray worker: each loads its own
        return {"root": self.root, "iteration": self.iteration, "plan": self.plan, "problems": self.problems,
                "engine": None}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def job(self, w: Worker):
        return chunks.job(w.run, self.iteration)

    def done(self, w: Worker, c: int) -> dict | None:
        return chunks.verify_marker(w.run, self.iteration, c, self.plan)

    def run(self, w: Worker, c: int, progress=None) -> dict:
        from builder.search.driver import run_search

        done = self.done(w, c)
        if done is not None:
            return done
        cfg = w.run.config
        t0 = time.perf_counter()
        res = run_search(w.engine, w.renderer, [self.problems[p] for p in self.plan.chunk_ids(c)], cfg.search,
                         w.templates, cfg.seed, w.checker, iteration=self.iteration, chunk=c, progress=progress)
        return write_chunk(w.run, self.iteration, c, self.plan, res, w.engine, w.model, time.perf_counter() - t0)


def write_chunk(run, iteration: int, c: int, plan, res, engine, model: str, wall: float) -> dict:
    """One part per table, then the marker, last (store/jobs.py); returns the marker."""
    return chunks.job(run, iteration).write(c, {t: getattr(res, t) for t in chunks.TABLES}, {
        "problem_ids": plan.chunk_ids(c),
        "stats": {**res.stats.as_dict(), "chunk_wall_seconds": wall},
        "statuses": dict(Counter(t["status"] for t in res.trees)),
        "engine": engine_info(getattr(engine, "info", None)), "model": model,
        "worker": {"host": _host(), "pid": _pid()},
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })


def engine_info(info) -> dict:
    if info is None:
        return {"name": "unknown"}
    return {"name": info.name, "version": info.version, "settings": info.settings}


def _host() -> str:
    import socket

    return socket.gethostname()


def _pid() -> int:
    import os

    return os.getpid()

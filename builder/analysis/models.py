"""Loading M(N) for evaluation: the model path with a clear error when it was not built yet,
the engine from the run config, the chat renderer and the run's prompt templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builder.store import Run
from builder.store.model_ref import JUDGE


@dataclass(slots=True)
class Loaded:
    model: str
    engine: Any
    renderer: Any


def load_model(run: Run, n: int, label: str = JUDGE) -> Loaded:
    from builder.engines import load_engine
    from builder.prompts import ChatRenderer

    model = run.require_model(n, label)
    cfg = run.config.engine
    return Loaded(model, load_engine(cfg.name, model, cfg), ChatRenderer(model))

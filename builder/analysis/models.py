"""Loading M(N) for evaluation: the model path with a clear error when it was not built yet,
the engine from the run config, the chat renderer and the run's prompt templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import PsrError
from builder.store import Run


def require_model(run: Run, n: int) -> str:
    """Path (or Hub id) of M(n); a one-line error naming the command that builds a missing local one."""
    model = run.model_path(n)
    p = Path(model)
    if p.is_absolute() and not (p / "config.json").exists():
        if n == 0:
            how = f"`psr model tiny {p}` (or set models.M0 in run.yaml)"
        else:
            how = f"`psr train --run {run.root} --iter {n - 1}`"
        raise PsrError(f"model M{n} does not exist ({p}); build it with {how}")
    return model


@dataclass(slots=True)
class Loaded:
    model: str
    engine: Any
    renderer: Any


def load_model(run: Run, n: int) -> Loaded:
    from builder.engines import load_engine
    from builder.prompts import ChatRenderer

    model = require_model(run, n)
    cfg = run.config.engine
    return Loaded(model, load_engine(cfg.name, model, cfg.settings()), ChatRenderer(model))

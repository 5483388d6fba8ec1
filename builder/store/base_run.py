"""A run whose models.M1 is another run's M1 (demo-srlm: ../demo/models/M1): the loop's questions.

`init_args(RUN, PRESET)` gives the `psr init` arguments for a new run: none when the preset's M1
lies in a run directory that exists, else `--set models.M1=null` (so the loop builds iteration 0
itself). `base_run(RUN)` gives the run directory that holds RUN's M1 (empty when M1 is not given or
not inside a run directory), so the loop (builder/loop.py) builds that run's iteration 0 first.
"""

from __future__ import annotations

import os
from pathlib import Path

from builder.config import load_preset


def _owner(m1: Path) -> Path | None:
    """RUN_DIR for RUN_DIR/models/M1, when that directory is a run (has run.yaml)."""
    if m1.parent.name == "models" and (m1.parent.parent / "run.yaml").exists():
        return m1.parent.parent
    return None


def _m1_path(run_dir: Path, ref: str | None) -> Path | None:
    if not ref:
        return None
    p = Path(ref)
    if p.is_absolute() or ref.startswith(("models/", "./", "../")):
        # normpath: run_dir may not exist yet, and "missing/../demo" does not resolve on POSIX
        return Path(os.path.normpath(p if p.is_absolute() else run_dir / p))
    return None  # a Hub id: nothing to build


def init_args(run_dir: str, preset: str) -> str:
    m1 = _m1_path(Path(run_dir), load_preset(preset).get("models", {}).get("M1"))
    if m1 is None or _owner(m1) is not None:
        return ""
    return "--set models.M1=null"


def base_run(run_dir: str) -> str:
    from builder.store import Run

    m1 = _m1_path(Path(run_dir), Run.open(run_dir).config.models.M1)
    owner = _owner(m1) if m1 is not None else None
    return "" if owner is None else str(owner)

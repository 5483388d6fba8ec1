"""A run whose models.M1 is another run's M1 (demo-srlm: ../demo/models/M1): the Makefile's questions.

`python -m builder.store.base_run init-args RUN PRESET` prints the `psr init` arguments for a new
run: none when the preset's M1 lies in a run directory that exists, else `--set models.M1=null`
(so `make iter` builds iteration 0 itself). `python -m builder.store.base_run base RUN` prints the
run directory that holds RUN's M1 (empty when M1 is not given or not inside a run directory), so
`make init` can build that run's iteration 0 first.
"""

from __future__ import annotations

import os
import sys
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


def main(argv: list[str]) -> int:
    from builder.errors import PsrError

    try:
        return _main(argv)
    except PsrError as exc:  # e.g. `make -n init` before the run exists: one line, no traceback
        print(f"Error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "init-args":
        print(init_args(argv[1], argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "base":
        print(base_run(argv[1]))
        return 0
    print("usage: python -m builder.store.base_run init-args RUN PRESET | base RUN", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

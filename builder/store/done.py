"""Step markers: the one answer to "is this step already done?" for every skippable step.

A step (an eval part, saved judge scores, an export, a validated config, a trained model, a pairs
part) is done when its marker RUN/work/done/<step>.json exists, holds the fingerprint of the
step's inputs as they are now, and every output it lists still has the hash recorded there.
The fingerprint is a content id of everything the result depends on: the config values the step
reads, the hashes of its input files and model weights, --limit, --split, the label, ...

The marker is written last and atomically, after the outputs (as store/jobs.py does for chunks):
a killed step leaves no marker and is redone; a changed input changes the fingerprint and the
step is redone; an output replaced or removed since fails its hash and the step is redone.
Markers live outside RUN/work/iteration=N, which `psr generate --force` clears.

Hashes: a file's sha256; a file of BIG_FILE bytes or more (a 7B model's weight shard) by size and
modification time, so that asking "done?" never reads gigabytes; a model folder by its top-level
files (config, weights, tokenizer), without Axolotl's checkpoints and logs.
"""

from __future__ import annotations

import json
from pathlib import Path

from builder.store import atomic
from builder.store.atomic import read_json

BIG_FILE = 256 << 20
# files of a trained model folder that say nothing about the model (Axolotl writes them per run)
NOT_MODEL = frozenset({"training_args.bin", "README.md"})


def marker_path(run, step: str) -> Path:
    return run.root / "work" / "done" / f"{step}.json"


def fingerprint(inputs: dict) -> str:
    """The content id of a step's inputs (JSON-able values; key order does not matter)."""
    from builder.ids import content_id

    return content_id(json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str), 32)


def check(run, step: str, fp: str) -> dict | None:
    """The marker of `step` when its fingerprint is `fp` and its outputs still match; else None."""
    marker = read_json(marker_path(run, step))
    if not marker or marker.get("fingerprint") != fp:
        return None
    for name, digest in marker.get("outputs", {}).items():
        if path_hash(run.root / name) != digest:
            return None
    return marker


def is_done(run, step: str, fp: str) -> bool:
    return check(run, step, fp) is not None


def mark_done(run, step: str, fp: str, outputs: list[Path], facts: dict | None = None) -> dict:
    """Record `step` as done: call after its outputs are written. `facts` are kept for the caller
    (row counts to report when it is skipped next time)."""
    root = run.root
    marker = {"step": step, "fingerprint": fp,
              "outputs": {_name(root, Path(p)): path_hash(Path(p)) for p in outputs}, "facts": facts or {}}
    atomic.write_json(marker_path(run, step), marker)
    return marker


def path_hash(path: Path) -> str | None:
    """A file's or a model folder's hash; None when it does not exist."""
    if path.is_file():
        return file_hash(path)
    if path.is_dir():
        return folder_hash(path)
    return None


def file_hash(path: Path) -> str:
    from builder.store.lineage import sha256_file

    st = path.stat()
    return f"size={st.st_size},mtime={st.st_mtime_ns}" if st.st_size >= BIG_FILE else sha256_file(path)


def folder_hash(path: Path) -> str:
    from builder.ids import content_id

    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.name not in NOT_MODEL)
    return content_id({p.name: file_hash(p) for p in files}, 64)


def model_id(model: str) -> str:
    """What a model input contributes to a fingerprint: a local folder's hash, else the Hub id as is."""
    p = Path(model)
    return folder_hash(p) if p.is_dir() else model


def _name(root: Path, path: Path) -> str:
    """Outputs are named relative to the run folder, so a moved run keeps its markers."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path.resolve())

"""Manifests: sealing an iteration (written last, so its existence means complete) and validation.

RUN/data/manifests/iteration=<N>.json holds the lineage (config hash, model fingerprint, engine,
package version, seeds...), and per table the row count and the sha256 of every part file.
Derived tables written after sealing (pairs, evals) are recorded with `record_table`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from builder.errors import PsrError, SealedError
from builder.store.atomic import write_json
from builder.store.lineage import sha256_file
from builder.store.parts import part_paths
from builder.store.run import Run

MANIFEST_VERSION = 1


def is_sealed(run: Run, iteration: int) -> bool:
    return run.manifest_path(iteration).exists()


def load_manifest(run: Run, iteration: int) -> dict:
    path = run.manifest_path(iteration)
    if not path.exists():
        raise PsrError(f"iteration {iteration} is not sealed (no {path}); run `psr seal --run {run.root} --iter {iteration}`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PsrError(f"{path}: unreadable manifest ({exc})") from None


def require_sealed(run: Run, iteration: int, what: str) -> dict:
    if not is_sealed(run, iteration):
        raise PsrError(
            f"{what} needs iteration {iteration} sealed; run `psr seal --run {run.root} --iter {iteration}` first"
        )
    return load_manifest(run, iteration)


def require_unsealed(run: Run, iteration: int, force: bool, tables: list[str]) -> list[Path]:
    """Refuse to write into a sealed iteration; with force, remove its files and the manifest first."""
    from builder.store.parts import clear_tables

    if not is_sealed(run, iteration):
        return []
    if not force:
        raise SealedError(f"iteration {iteration} of {run.root} is sealed; pass --force to remove its data and redo it")
    removed = clear_tables(run, iteration, tables)
    manifest = run.manifest_path(iteration)
    manifest.unlink()
    removed.append(manifest)
    return removed


def table_entry(run: Run, table: str, iteration: int) -> dict:
    import pyarrow.parquet as pq

    files = {}
    for path in part_paths(run, table, iteration):
        files[path.name] = {"sha256": sha256_file(path), "rows": pq.ParquetFile(path).metadata.num_rows}
    return {"rows": sum(f["rows"] for f in files.values()), "files": files}


def seal(run: Run, iteration: int, tables: list[str], lineage: dict, extra: dict | None = None) -> dict:
    """Write the manifest of `iteration` covering `tables`; fails if already sealed."""
    if is_sealed(run, iteration):
        raise SealedError(f"iteration {iteration} is already sealed")
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "iteration": iteration,
        "sealed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lineage": lineage,
        "tables": {t: table_entry(run, t, iteration) for t in tables},
        **(extra or {}),
    }
    _write_json(run.manifest_path(iteration), manifest)
    return manifest


def record_table(run: Run, iteration: int, table: str, extra: dict | None = None) -> dict:
    """Add (or replace) a derived table's files in a sealed iteration's manifest."""
    manifest = load_manifest(run, iteration)
    manifest["tables"][table] = table_entry(run, table, iteration)
    if extra:
        manifest.setdefault("derived", {})[table] = extra
    _write_json(run.manifest_path(iteration), manifest)
    return manifest


def _write_json(path: Path, data: dict) -> None:
    write_json(path, data, indent=2)


def check_sealed_files(run: Run, iteration: int | None = None) -> tuple[list[str], int]:
    """Check files against manifests: sha256, row counts, schema, unexpected files.

    Returns (problems, files_checked); an empty problem list means valid.
    """
    from builder import schemas

    iterations = [iteration] if iteration is not None else sealed_iterations(run)
    problems, checked = [], 0
    for n in iterations:
        manifest = load_manifest(run, n)
        for table in schemas.tables():
            entry = manifest["tables"].get(table, {"files": {}})
            found = {p.name: p for p in part_paths(run, table, n)}
            for name, meta in entry["files"].items():
                path = run.table_dir(table, n) / name
                checked += 1
                if name not in found:
                    problems.append(f"{path}: missing (sealed in iteration {n})")
                    continue
                problems.extend(_check_file(path, table, meta, schemas))
            for name in sorted(set(found) - set(entry["files"])):
                problems.append(f"{found[name]}: not in the manifest of iteration {n}")
    return problems, checked


def _check_file(path: Path, table: str, meta: dict, schemas) -> list[str]:
    import pyarrow.parquet as pq

    if sha256_file(path) != meta["sha256"]:
        return [f"{path}: sha256 differs from the manifest (file changed after sealing)"]
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a mismatch
        return [f"{path}: unreadable Parquet ({exc})"]
    out = []
    if pf.metadata.num_rows != meta["rows"]:
        out.append(f"{path}: {pf.metadata.num_rows} rows, manifest says {meta['rows']}")
    expected = schemas.arrow_schema(table)
    actual = pf.schema_arrow
    if [(f.name, f.type) for f in actual] != [(f.name, f.type) for f in expected]:
        out.append(f"{path}: schema differs from schemas/{table}.yaml")
    return out


def sealed_iterations(run: Run) -> list[int]:
    d = run.data_dir / "manifests"
    return sorted(int(p.stem.split("=")[1]) for p in d.glob("iteration=*.json")) if d.exists() else []

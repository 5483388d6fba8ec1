"""Atomic Parquet parts (store/atomic.py); read back schema-checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from builder import schemas
from builder.errors import InputError
from builder.store.atomic import atomic_open
from builder.store.run import Run

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def part_paths(run: Run, table: str, iteration: int | None = None) -> list[Path]:
    base = run.data_dir / table
    pattern = f"iteration={iteration}/part-*.parquet" if iteration is not None else "iteration=*/part-*.parquet"
    return sorted(base.glob(pattern))


def write_table(run: Run, table: str, iteration: int, name: str, data) -> Path:
    """Write one part of `table` for `iteration`; visible to readers only once complete."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _NAME.match(name):
        raise InputError(f"bad part name '{name}'")
    if isinstance(data, list):
        data = [dict(row, iteration=iteration) for row in data]
    elif "iteration" not in data.column_names:
        data = data.append_column("iteration", pa.array([iteration] * data.num_rows, pa.int32()))
    tbl = schemas.conform(table, data, origin=f"{table}/iteration={iteration}/part-{name}")
    bad = tbl.column("iteration").to_pylist()
    if any(v != iteration for v in bad):
        raise InputError(f"table '{table}': rows with iteration != {iteration} in part '{name}'")
    out_dir = run.table_dir(table, iteration)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"part-{name}.parquet"
    with atomic_open(final, "wb") as fh:
        pq.write_table(tbl, fh, compression="zstd")
    return final


def read_table(run: Run, table: str, iteration: int | None = None):
    """All parts of a table (one iteration or all), as one Arrow table of the schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = schemas.arrow_schema(table)
    paths = part_paths(run, table, iteration)
    if not paths:
        return schema.empty_table()
    parts = [schemas.conform(table, schemas.upgrade(table, pq.read_table(p), str(p)), origin=str(p)) for p in paths]
    return pa.concat_tables(parts)


def clear_tables(run: Run, iteration: int, tables: list[str]) -> list[Path]:
    """Remove the partitions of `tables` for one iteration; returns what was removed."""
    removed = []
    for table in tables:
        d = run.table_dir(table, iteration)
        if d.exists():
            removed.extend(sorted(d.glob("*.parquet")))
            shutil.rmtree(d)
    return removed

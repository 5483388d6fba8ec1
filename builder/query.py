"""DuckDB over a run: one view per table spanning every iteration's Parquet parts, and the report's
SQL files (builder/sql/*.sql) run over those views.

`open_run(path).sql("SELECT ...")` returns a DuckDB relation; `view_statements(run)` gives the
CREATE VIEW statements users can paste into the DuckDB CLI. The SQL files are plain DuckDB
SELECTs over the views (problems, trees, nodes, judgments, pairs, evals), so users can read them
and run them with `psr sql "$(cat FILE)"`; `rows(db, name)` runs one by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from builder import schemas
from builder.errors import PsrError
from builder.store import Run, part_paths

SQL_DIR = Path(__file__).resolve().parent / "sql"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(run: Run, table: str) -> str:
    cols = schemas.duckdb_columns(table)
    if not part_paths(run, table):
        # No data yet: an empty view of the right shape, so queries still bind.
        body = ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in cols.items())
        return f"CREATE OR REPLACE VIEW {table} AS SELECT {body} WHERE false;"
    glob = str(run.data_dir / table / "iteration=*" / "part-*.parquet")
    present = _columns_in_parts(run, table)
    # A column added to schemas/ after a run was written reads as its `missing_as` (or NULL) in old parts,
    # also where newer parts have it (union_by_name gives the old parts NULL there).
    select = ", ".join(f"CAST({_present_sql(table, n) if n in present else schemas.missing_sql(table, n)} AS {t}) AS {n}"
                       for n, t in cols.items())
    return (
        f"CREATE OR REPLACE VIEW {table} AS SELECT {select} "
        f"FROM read_parquet({_sql_str(glob)}, hive_partitioning = false, union_by_name = true);"
    )


def _present_sql(table: str, name: str) -> str:
    fill = schemas.missing_sql(table, name)
    return name if fill == "NULL" else f"coalesce({name}, {fill})"


def _columns_in_parts(run: Run, table: str) -> set[str]:
    """Column names found in any part of the table (Parquet footers only, no data read)."""
    import pyarrow.parquet as pq

    return {name for path in part_paths(run, table) for name in pq.read_schema(path).names}


def view_statements(run: Run) -> list[str]:
    return [view_sql(run, t) for t in schemas.tables()]


@dataclass
class RunDB:
    run: Run
    con: object

    def sql(self, query: str):
        return self.con.sql(query)

    def close(self) -> None:
        self.con.close()


def connect(run: Run, threads: int | None = None) -> RunDB:
    import duckdb

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for stmt in view_statements(run):
        con.execute(stmt)
    return RunDB(run, con)


def open_run(path: str | Path) -> RunDB:
    """Python API: DuckDB views over a run directory, e.g. `open_run('runs/demo').sql('...')`."""
    return connect(Run.open(path))


@cache
def load_sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise PsrError(f"report query '{name}' not found (expected {path})")
    return path.read_text()


def rows(db: RunDB, name: str) -> list[dict]:
    """Run one SQL file of builder/sql/ by name; rows as dicts of plain Python values (floats, ints, strings)."""
    rel = db.sql(load_sql(name).rstrip().rstrip(";"))
    cols = rel.columns
    return [dict(zip(cols, (_plain(v) for v in row))) for row in rel.fetchall()]


def _plain(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    return value


def run_query(run: Run, query: str):
    """`psr sql`: QUERY over the run's views as an Arrow table; a failing query is one line (exit 2)."""
    from builder.errors import InputError

    db = connect(run)
    try:
        table = db.sql(query).arrow()
        return table.read_all() if hasattr(table, "read_all") else table  # a reader in newer duckdb
    except Exception as exc:  # noqa: BLE001 - duckdb raises many error classes; all are user query errors
        raise InputError(f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        db.close()


def result_text(table, fmt: str) -> str:
    """A query result as CSV (with a header) or JSON Lines."""
    if fmt == "csv":
        import io

        import pyarrow.csv as pcsv

        buf = io.BytesIO()
        pcsv.write_csv(table, buf)
        return buf.getvalue().decode()
    import json

    return "\n".join(json.dumps(r, default=str) for r in table.to_pylist()) + "\n"


def write_result(table, fmt: str, out: Path) -> Path:
    """A query result written to `out` atomically: parquet, csv or json (JSON Lines)."""
    from builder.store.atomic import atomic_open, write_text

    if fmt != "parquet":
        return write_text(out, result_text(table, fmt))
    import pyarrow.parquet as pq

    with atomic_open(out, "wb") as fh:
        pq.write_table(table, fh)
    return Path(out)

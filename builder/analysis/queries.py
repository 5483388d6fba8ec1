"""The report's SQL files (builder/sql/*.sql): load them by name and run them over a run's views.

The files are plain DuckDB SELECTs over the views of builder.query (problems, trees, nodes,
judgments, pairs, evals), so users can read them and run them with `psr sql "$(cat FILE)"`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from builder.errors import PsrError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def sql_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


@cache
def load_sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise PsrError(f"report query '{name}' not found (expected {path})")
    return path.read_text()


def rows(db, name: str) -> list[dict]:
    """Run one report query; rows as dicts with plain Python values (floats, ints, strings)."""
    rel = db.sql(load_sql(name).rstrip().rstrip(";"))
    cols = rel.columns
    return [dict(zip(cols, (_plain(v) for v in row))) for row in rel.fetchall()]


def _plain(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    return value

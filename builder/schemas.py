"""Table schemas: read schemas/*.yaml (the single source of truth) and derive everything else.

From one YAML file per table this module derives the pyarrow schema every write is checked
against, the `datasets.Features`, the DuckDB column types, and the column docs of dataset cards,
so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from builder.errors import InputError, PsrError

SCHEMA_VERSION_KEY = b"psr_schema_version"


# name in YAML -> (pyarrow factory name, datasets Value dtype, DuckDB type)
_TYPES = {
    "string": ("string", "string", "VARCHAR"),
    "int32": ("int32", "int32", "INTEGER"),
    "int64": ("int64", "int64", "BIGINT"),
    "float64": ("float64", "float64", "DOUBLE"),
    "bool": ("bool_", "bool", "BOOLEAN"),
}


@dataclass(slots=True, frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    description: str
    missing_as: object = None  # value for parts written before the column existed (None: null)


@dataclass(slots=True, frozen=True)
class TableSchema:
    table: str
    version: int
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def schemas_dir() -> Path:
    """The table schemas, shipped in the package (builder/resources.py)."""
    from builder.resources import data_dir

    return data_dir("schemas")


@cache
def load_schemas() -> dict[str, TableSchema]:
    out = {}
    for path in sorted(schemas_dir().glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        cols = tuple(Column(c["name"], c["type"], bool(c["nullable"]), c["description"], c.get("missing_as"))
                     for c in raw["columns"])
        for c in cols:
            if c.type not in _TYPES:
                raise PsrError(f"{path}: column '{c.name}' has unknown type '{c.type}'")
        out[raw["table"]] = TableSchema(raw["table"], int(raw["version"]), raw["description"], cols)
    return out


def tables() -> list[str]:
    return list(load_schemas())


def get(table: str) -> TableSchema:
    try:
        return load_schemas()[table]
    except KeyError:
        raise PsrError(f"unknown table '{table}' (known: {', '.join(tables())})") from None


def arrow_schema(table: str):
    import pyarrow as pa

    ts = get(table)
    fields = [pa.field(c.name, getattr(pa, _TYPES[c.type][0])(), nullable=c.nullable) for c in ts.columns]
    meta = {SCHEMA_VERSION_KEY: str(ts.version).encode(), b"psr_table": table.encode()}
    return pa.schema(fields, metadata=meta)


def features(table: str):
    from datasets import Features, Value

    return Features({c.name: Value(_TYPES[c.type][1]) for c in get(table).columns})


def duckdb_columns(table: str) -> dict[str, str]:
    return {c.name: _TYPES[c.type][2] for c in get(table).columns}


def conform(table: str, data, origin: str = ""):
    """Return `data` (an Arrow table or a list of row dicts) as an Arrow table of exactly the schema.

    Raises InputError naming the column (and the first offending row) on a missing column, an
    extra column, a null in a non-nullable column, or a value of the wrong type.
    """
    import pyarrow as pa

    schema = arrow_schema(table)
    where = f"{origin}: " if origin else ""
    if isinstance(data, list):
        data = _rows_to_table(table, data, schema, where)
    missing = [n for n in schema.names if n not in data.column_names]
    extra = [n for n in data.column_names if n not in schema.names]
    if missing or extra:
        raise InputError(f"{where}table '{table}': missing columns {missing}, unexpected columns {extra}")
    cols = []
    for field in schema:
        col = data.column(field.name)
        try:
            col = col.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"{where}table '{table}', column '{field.name}': cannot store as {field.type} ({exc})") from None
        if not field.nullable and col.null_count:
            row = col.to_pylist().index(None)
            raise InputError(f"{where}table '{table}', column '{field.name}', row {row}: null in a non-nullable column")
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def upgrade(table: str, data, origin: str = ""):
    """Add the columns a part written by an older version lacks: `missing_as` from the schema, else
    null. A non-nullable column without `missing_as` cannot be filled: InputError naming it."""
    import pyarrow as pa

    for col in get(table).columns:
        if col.name in data.column_names:
            continue
        if col.missing_as is None and not col.nullable:
            where = f"{origin}: " if origin else ""
            raise InputError(f"{where}table '{table}': column '{col.name}' is missing (written by an older version)")
        typ = getattr(pa, _TYPES[col.type][0])()
        data = data.append_column(col.name, pa.array([col.missing_as] * data.num_rows, type=typ))
    return data


def missing_sql(table: str, name: str) -> str:
    """The SQL literal a view uses for a column absent from every part (see `upgrade`)."""
    col = next(c for c in get(table).columns if c.name == name)
    if col.missing_as is None:
        return "NULL"
    return ("TRUE" if col.missing_as else "FALSE") if isinstance(col.missing_as, bool) else repr(col.missing_as)


def _rows_to_table(table: str, rows: list[dict], schema, where: str):
    import pyarrow as pa

    names = set(schema.names)
    for i, row in enumerate(rows):
        if set(row) != names:
            raise InputError(
                f"{where}table '{table}', row {i}: missing {sorted(names - set(row))}, unexpected {sorted(set(row) - names)}"
            )
    try:
        return pa.Table.from_pylist(rows, schema=schema.remove_metadata())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"{where}table '{table}': {exc}") from None


def column_docs(table: str) -> list[dict]:
    """Column documentation for the dataset cards `psr push` writes."""
    return [{"name": c.name, "type": c.type, "nullable": c.nullable, "description": c.description} for c in get(table).columns]

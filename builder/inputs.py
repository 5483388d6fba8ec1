"""The user's data files and Hub datasets as rows, read strictly: Parquet, JSON Lines, JSON, CSV.

One reader for every command that takes a file (problems, init-data import, eval benchmarks,
judge pairs). A malformed file is an InputError naming the file and the line: a CSV with an
unterminated quote or a row with more or fewer fields than its header, a JSON Lines line that
is not a JSON object, a .parquet file that is not Parquet. Nothing is guessed or skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from builder.errors import InputError, PsrError

FILE_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv")


def is_file_source(source: str) -> bool:
    """A source with a data-file suffix (or an existing path) is a file; anything else a Hub dataset id."""
    path = Path(source)
    return path.suffix.lower() in FILE_SUFFIXES or path.exists()


def source_rows(source: str, split: str) -> list[dict]:
    return read_file_rows(Path(source)) if is_file_source(source) else read_hub_rows(source, split)


def require_columns(rows: list[dict], columns, origin: str, hint: str = "") -> None:
    """The first row (a CSV's header, a table's schema) has every one of `columns`."""
    if not rows:
        raise InputError(f"{origin}: empty (no rows)")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise InputError(f"{origin}: no column '{missing[0]}'{hint}; columns found: {', '.join(rows[0])}")


def read_file_rows(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise InputError(f"{path}: unsupported file type '{suffix}' (use {', '.join(FILE_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if suffix == ".parquet":
        return _read_parquet(path)
    text = _read_text(path)
    if suffix == ".jsonl":
        return _read_jsonl(path, text)
    if suffix == ".json":
        return _read_json(path, text)
    return _read_csv(path, text)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: a spreadsheet's byte-order mark is not part of a column name
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _read_parquet(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        raise InputError(f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})") from None


def _read_jsonl(path: Path, text: str) -> list[dict]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {line_no}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}: line {line_no}: expected a JSON object")
        rows.append(row)
    return rows


def _read_json(path: Path, text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a JSON list of objects")
    return data


def _read_csv(path: Path, text: str) -> list[dict]:
    """Strict CSV: an unterminated quote or a row whose field count differs from the header's is an error
    (Python's csv module would otherwise swallow the rest of the file into one field, or pad and drop)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, header, end = [], None, 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:
                continue  # a blank line
            if header is None:
                header = _csv_header(path, record, start)
            elif len(record) != len(header):
                raise InputError(f"{path}: line {start}: {len(record)} field(s), the header has {len(header)}")
            else:
                rows.append(dict(zip(header, record)))
    except csv.Error as exc:
        raise InputError(f"{path}: line {end + 1}: malformed CSV ({exc})") from None
    return rows


def _csv_header(path: Path, record: list[str], line: int) -> list[str]:
    seen = set()
    for name in record:
        if name in seen:
            raise InputError(f"{path}: line {line}: column '{name}' appears twice in the header")
        seen.add(name)
    return record


def read_hub_rows(repo_id: str, split: str) -> list[dict]:
    if not re.match(r"^[\w.-]+(/[\w.-]+)?$", repo_id):
        raise InputError(f"'{repo_id}' is neither an existing file nor a Hugging Face dataset id")
    import datasets

    try:
        ds = datasets.load_dataset(repo_id, split=split)
    except Exception as exc:  # noqa: BLE001 - offline, missing repo, missing split all land here
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PsrError(f"cannot load Hugging Face dataset '{repo_id}' (split {split}): {first}") from None
    return ds.to_list()

"""store/atomic.py: the one writer every run file goes through."""

import json

import pytest

from builder.store import atomic


def test_write_json_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "a.json"
    atomic.write_json(path, {"x": 1})
    atomic.write_json(path, {"x": 2, "y": "ü"})
    assert json.loads(path.read_text()) == {"x": 2, "y": "ü"}
    assert atomic.leftovers(path) == []


def test_error_inside_leaves_old_content_and_no_temp(tmp_path):
    path = tmp_path / "a.txt"
    atomic.write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(path) as fh:
            fh.write("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "old"
    assert atomic.leftovers(path) == []


def test_leftovers_finds_a_killed_writers_temp(tmp_path):
    path = tmp_path / "a.parquet"
    stale = tmp_path / ".a.parquet.tmp-99999"
    stale.write_bytes(b"partial")
    assert atomic.leftovers(path) == [stale]


def test_no_writer_renames_by_hand():
    """Every temp-then-rename in builder/ goes through store/atomic.py (issue 16, item 1)."""
    from pathlib import Path

    import builder

    root = Path(builder.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "atomic.py" and ("os.replace(" in p.read_text() or ".tmp-" in p.read_text())]
    assert offenders == []

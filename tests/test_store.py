"""The versioned store: atomic parts, sealing, --force, validation, datasets and DuckDB reads."""

import json
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from builder import schemas
from builder.errors import InputError, SealedError
from builder.store import (
    check_sealed_files, clear_tables, is_sealed, part_paths, read_table, record_table, require_unsealed, seal, write_table,
)
from tests.helpers import invoke, make_run, problem_rows


def test_write_conforms_and_reads_back(tmp_path):
    run = make_run(tmp_path)
    path = write_table(run, "problems", 2, "a", problem_rows(5))
    assert path == run.data_dir / "problems" / "iteration=2" / "part-a.parquet"
    pf = pq.ParquetFile(path)
    assert pf.schema_arrow.remove_metadata() == schemas.arrow_schema("problems").remove_metadata()
    assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
    assert pf.schema_arrow.metadata[b"psr_schema_version"] == b"1"
    tbl = read_table(run, "problems", 2)
    assert tbl.num_rows == 5 and set(tbl.column("iteration").to_pylist()) == {2}


def test_write_rejects_wrong_iteration_rows(tmp_path):
    import pyarrow as pa

    run = make_run(tmp_path)
    rows = [dict(r, iteration=3) for r in problem_rows(2)]
    tbl = pa.Table.from_pylist(rows)
    with pytest.raises(InputError, match="iteration != 2"):
        write_table(run, "problems", 2, "a", tbl)


def test_every_table_loads_with_datasets(tmp_path):
    """datasets.load_dataset('parquet', data_files=...) reads every table the store writes."""
    import datasets

    run = make_run(tmp_path)
    for table in schemas.tables():
        write_table(run, table, 1, "x", [_row(table, i) for i in range(3)])
        files = [str(p) for p in part_paths(run, table, 1)]
        ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == 3
        assert ds.features == schemas.features(table)


def _row(table, i):
    """A valid row of any table, derived from the schema itself."""
    values = {"string": f"v{i}", "int32": i, "int64": i, "float64": float(i), "bool": bool(i % 2)}
    return {c.name: values[c.type] for c in schemas.get(table).columns if c.name != "iteration"}


WRITER = r"""
import sys, pyarrow as pa
from builder.store import Run, write_table
run = Run.open(sys.argv[1])
rows = [{"problem_id": f"p{i}", "source": "s", "split": "t", "problem": "x" * 2000 + str(i), "answer": None, "meta": "{}"}
        for i in range(200000)]
print("writing", flush=True)
write_table(run, "problems", 1, "big", rows)
print("done", flush=True)
"""


def test_killed_writer_leaves_no_visible_partial_file(tmp_path):
    run = make_run(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(run.root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    table_dir = run.table_dir("problems", 1)
    deadline = time.time() + 60
    while time.time() < deadline and not any(table_dir.glob(".part-*")):
        time.sleep(0.01)
    assert any(table_dir.glob(".part-*")), "the writer never started its temp file"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert part_paths(run, "problems", 1) == []  # readers see nothing
    assert read_table(run, "problems", 1).num_rows == 0


def test_seal_force_and_validate(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(4))
    manifest = seal(run, 1, ["problems"], {"seed": 1})
    assert manifest["tables"]["problems"]["rows"] == 4
    assert is_sealed(run, 1)
    with pytest.raises(SealedError, match="sealed; pass --force"):
        require_unsealed(run, 1, force=False, tables=["problems"])
    assert check_sealed_files(run) == ([], 1)

    # tampering is caught, naming the file
    path = part_paths(run, "problems", 1)[0]
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    problems, _ = check_sealed_files(run)
    assert len(problems) == 1 and str(path) in problems[0] and "sha256" in problems[0]

    # a missing file is caught
    path.unlink()
    problems, _ = check_sealed_files(run)
    assert "missing" in problems[0] and path.name in problems[0]

    removed = require_unsealed(run, 1, force=True, tables=["problems"])
    assert run.manifest_path(1) in removed and not is_sealed(run, 1)


def test_validate_catches_extra_file_and_records_derived_tables(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(2))
    seal(run, 1, ["problems"], {})
    write_table(run, "pairs", 1, "all", [_row("pairs", 0)])
    problems, _ = check_sealed_files(run, 1)
    assert any("not in the manifest" in p for p in problems)
    record_table(run, 1, "pairs", {"kept": 1})
    assert check_sealed_files(run, 1)[0] == []
    assert json.loads(run.manifest_path(1).read_text())["derived"]["pairs"] == {"kept": 1}


def test_cli_validate_exit_codes(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(2))
    seal(run, 1, ["problems"], {})
    ok = invoke("validate", "--run", run.root)
    assert ok.exit_code == 0 and "ok: 1 sealed file" in ok.output
    part_paths(run, "problems", 1)[0].unlink()
    bad = invoke("validate", "--run", run.root)
    assert bad.exit_code == 1 and "missing" in bad.output and "Traceback" not in bad.output


def test_clear_tables_reports_removed(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(2))
    removed = clear_tables(run, 1, ["problems", "nodes"])
    assert [p.name for p in removed] == ["part-a.parquet"]
    assert not run.table_dir("problems", 1).exists()


def test_require_model_is_the_one_existence_check(tmp_path):
    from builder.errors import PsrError

    run = make_run(tmp_path, "demo", "models.M0=Qwen/Qwen2.5-0.5B-Instruct")
    assert run.require_model(0) == "Qwen/Qwen2.5-0.5B-Instruct"  # a Hub id is the engine's to resolve
    with pytest.raises(PsrError, match=r"model M2 not found at .*models/M2; build it with `psr train --run .* --iter 1`"):
        run.require_model(2)
    (run.models_dir() / "M2").mkdir(parents=True)  # a folder without config.json is not a model yet
    with pytest.raises(PsrError, match="model M2 not found"):
        run.require_model(2)
    (run.models_dir() / "M2" / "config.json").write_text("{}")
    assert run.require_model(2) == str(run.models_dir() / "M2")


def test_parts_of_an_older_version_are_upgraded_on_read(tmp_path):
    """nodes parts written before duplicate_of / judged existed: read_table and psr sql fill them
    (null, and the schema's missing_as false) instead of failing on the run."""
    import pyarrow.parquet as pq

    from builder.store import read_table
    from tests.helpers import invoke, make_run
    from tests.report_rows import it1_nodes

    run = make_run(tmp_path)
    path = write_table(run, "nodes", 1, "a", it1_nodes())
    old = pq.read_table(path).drop_columns(["duplicate_of", "judged"])
    path.unlink()
    pq.write_table(old, path)
    table = read_table(run, "nodes", 1)
    assert table.num_rows == len(it1_nodes())
    assert set(table.column("judged").to_pylist()) == {False}
    assert set(table.column("duplicate_of").to_pylist()) == {None}
    res = invoke("sql", "SELECT count(*) FILTER (WHERE NOT judged) AS unjudged, count(duplicate_of) AS dups FROM nodes",
                 "--run", run.root, "--format", "csv")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[1] == f"{len(it1_nodes())},0"


def test_an_old_part_missing_a_required_column_is_a_clear_error(tmp_path):
    import pyarrow.parquet as pq

    from builder.errors import InputError
    from builder.store import read_table
    from tests.helpers import make_run
    from tests.report_rows import it1_nodes

    run = make_run(tmp_path)
    path = write_table(run, "nodes", 1, "a", it1_nodes())
    pq.write_table(pq.read_table(path).drop_columns(["depth"]), path)
    with pytest.raises(InputError, match="column 'depth' is missing"):
        read_table(run, "nodes", 1)

"""The schema files, pyarrow schemas, datasets.Features and DuckDB views agree."""

import pyarrow as pa
import pytest

from builder import schemas
from builder.errors import InputError

EXPECTED_TABLES = {"problems", "trees", "nodes", "judgments", "pairs", "evals", "ift", "eft"}


def test_every_table_has_a_schema_file():
    assert EXPECTED_TABLES <= set(schemas.tables())


@pytest.mark.parametrize("table", sorted(EXPECTED_TABLES))
def test_arrow_features_and_duckdb_agree(table):
    ts = schemas.get(table)
    arrow = schemas.arrow_schema(table)
    feats = schemas.features(table)
    duck = schemas.duckdb_columns(table)
    assert arrow.names == ts.names == list(feats) == list(duck)
    for col in ts.columns:
        assert arrow.field(col.name).nullable == col.nullable
        assert col.description.strip(), f"{table}.{col.name} has no description"
        # datasets' Arrow type is the one we write
        assert feats[col.name].pa_type == arrow.field(col.name).type
    assert arrow.field("iteration").type == pa.int32()


def test_conform_names_the_column_and_row():
    rows = [{"iteration": 1, "problem_id": "x", "source": "s", "split": "train", "problem": None, "answer": None, "meta": "{}"}]
    with pytest.raises(InputError, match=r"column 'problem', row 0: null"):
        schemas.conform("problems", rows)


def test_conform_rejects_missing_and_extra_columns():
    with pytest.raises(InputError, match=r"missing \['meta'\], unexpected \['bogus'\]"):
        schemas.conform("problems", [{"iteration": 1, "problem_id": "x", "source": "s", "split": "t", "problem": "p",
                                      "answer": None, "bogus": 1}])


def test_duckdb_view_types_match_parquet(tmp_path):
    from builder.query import connect
    from builder.store import write_table
    from tests.helpers import make_run, problem_rows

    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(3))
    db = connect(run)
    described = {r[0]: r[1] for r in db.sql("DESCRIBE problems").fetchall()}
    assert described == schemas.duckdb_columns("problems")
    # an empty table still has a typed view
    described = {r[0]: r[1] for r in db.sql("DESCRIBE pairs").fetchall()}
    assert described == schemas.duckdb_columns("pairs")


def test_label_source_reads_as_judge_in_pairs_written_before_it(tmp_path):
    """pairs.label_source came later: old part files read as 'judge' in Arrow and in DuckDB, also
    beside a newer part that has the column (union_by_name alone would give the old rows NULL)."""
    import pyarrow.parquet as pq

    from builder.query import connect
    from builder.store import read_table, write_table
    from tests.helpers import make_run
    from tests.report_rows import pair

    run = make_run(tmp_path)
    path = write_table(run, "pairs", 1, "pairs", [pair("t", "p", 0, 1, 1, 2, True, False)])
    pq.write_table(pq.read_table(path).drop_columns(["label_source"]), path)  # as written before the column
    assert "label_source" not in pq.read_schema(path).names
    assert read_table(run, "pairs", 1).column("label_source").to_pylist() == ["judge"]
    assert connect(run).sql("SELECT label_source FROM pairs").fetchall() == [("judge",)]
    write_table(run, "pairs", 1, "checker", [dict(pair("t", "p", 0, 1, 1, 3, True, False), label_source="checker")])
    assert sorted(connect(run).sql("SELECT label_source FROM pairs").fetchall()) == [("checker",), ("judge",)]

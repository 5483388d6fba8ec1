"""`psr sql` and the Python API over two iterations; --views runs in a plain DuckDB."""

import json

import duckdb

import builder
from builder.store import write_table
from tests.helpers import invoke, make_run, problem_rows


def _two_iterations(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", problem_rows(3))
    write_table(run, "problems", 2, "a", problem_rows(2, start=10))
    return run


def test_sql_returns_rows_of_both_iterations(tmp_path):
    run = _two_iterations(tmp_path)
    res = invoke("sql", "SELECT iteration, count(*) AS n FROM problems GROUP BY iteration ORDER BY iteration",
                 "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.strip().splitlines() if line.startswith("{")]
    assert rows == [{"iteration": 1, "n": 3}, {"iteration": 2, "n": 2}]


def test_sql_csv_parquet_and_table(tmp_path):
    run = _two_iterations(tmp_path)
    res = invoke("sql", "SELECT problem_id FROM problems ORDER BY problem_id", "--run", run.root, "--format", "csv")
    assert res.output.splitlines()[0].strip('"') == "problem_id" and len(res.output.splitlines()) == 6
    out = tmp_path / "x.parquet"
    res = invoke("sql", "SELECT * FROM problems", "--run", run.root, "--format", "parquet", "--out", out)
    assert res.exit_code == 0 and duckdb.sql(f"SELECT count(*) FROM '{out}'").fetchall()[0][0] == 5
    res = invoke("sql", "SELECT count(*) AS n FROM problems", "--run", run.root)
    assert res.exit_code == 0 and "5" in res.output


def test_views_run_in_plain_duckdb(tmp_path):
    run = _two_iterations(tmp_path)
    res = invoke("sql", "--views", "--run", run.root)
    con = duckdb.connect()
    con.execute(res.output)
    assert con.sql("SELECT count(*) FROM problems").fetchall()[0][0] == 5
    assert con.sql("SELECT count(*) FROM pairs").fetchall()[0][0] == 0


def test_python_api_open_run(tmp_path):
    run = _two_iterations(tmp_path)
    rel = builder.open_run(run.root).sql("SELECT max(iteration) FROM problems")
    assert rel.fetchall()[0][0] == 2


def test_bad_query_is_one_line(tmp_path):
    run = _two_iterations(tmp_path)
    res = invoke("sql", "SELECT nope FROM problems", "--run", run.root)
    assert res.exit_code == 2 and "query failed" in res.output and "Traceback" not in res.output


def test_run_defaults_to_env(tmp_path):
    run = _two_iterations(tmp_path)
    res = invoke("sql", "SELECT count(*) AS n FROM problems", "--format", "csv", env={"PSR_RUN": str(run.root)})
    assert res.exit_code == 0 and res.output.splitlines()[1] == "5"


def test_parts_written_before_a_column_existed_read_it_as_null(tmp_path):
    """A run written by an older version (its parts lack a column schemas/ has since gained) stays
    queryable: the missing column reads as NULL instead of failing every view."""
    import pyarrow.parquet as pq

    run = _two_iterations(tmp_path)
    folder = run.data_dir / "problems" / "iteration=1"
    old = pq.read_table(next(folder.glob("part-*.parquet")))
    dropped = old.column_names[-1]
    assert old.num_columns > 2
    for path in list(folder.glob("part-*.parquet")):
        path.unlink()
    pq.write_table(old.drop_columns([dropped]), folder / "part-old.parquet")
    res = invoke("sql", f"SELECT iteration, count(*) AS n, count({dropped}) AS known FROM problems "
                 "GROUP BY iteration ORDER BY iteration", "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.strip().splitlines() if line.startswith("{")]
    assert rows == [{"iteration": 1, "n": 3, "known": 0}, {"iteration": 2, "n": 2, "known": 2}]


def test_documented_mean_wins_queries_count_each_judged_candidate_once(tmp_path):
    """Every `avg(wins)` example in the docs and in `psr sql --help` gives the mean over judged
    candidates: a duplicate sample carries its first copy's wins and must not count again."""
    import re
    from pathlib import Path

    from tests.report_rows import node

    run = make_run(tmp_path)
    rows = [node("1-t", 0, None, 0, 0, None, on_path=True),
            node("1-t", 1, 0, 1, 1, 0, wins=4), node("1-t", 2, 0, 1, 1, 1, wins=0)]
    rows += [dict(node("1-t", k, 0, 1, 1, k - 1, wins=4), duplicate_of="1-t/1", judged=False) for k in (3, 4, 5)]
    write_table(run, "nodes", 1, "a", rows)  # judged: wins 4 and 0 -> mean 2 (all five samples: 3.2)
    root = Path(__file__).resolve().parent.parent
    texts = [(root / "docs" / name).read_text() for name in ("cli.md", "search.md")]
    texts.append(invoke("sql", "--help").output)
    queries = [q for text in texts for q in re.findall(r'psr sql "(SELECT[^"]*avg\(wins\)[^"]*)"', text)]
    assert len(queries) == 3
    for q in queries:
        res = invoke("sql", q, "--run", run.root, "--format", "json")
        assert res.exit_code == 0, res.output
        (row,) = [r for r in map(json.loads, filter(lambda ln: ln.startswith("{"), res.output.splitlines()))
                  if r["depth"] == 1]
        assert 2.0 in row.values(), (q, row)

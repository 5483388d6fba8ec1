"""`psr report` through the real CLI: Markdown with valid PNG plots, JSON whose figures match
direct DuckDB queries over the Parquet files, and an empty run that says "no data"."""

import json

import duckdb
import pytest

from tests.helpers import invoke, make_run
from tests.report_rows import build_two_iteration_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _flat(rows):
    return [v for row in rows for v in row]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_two_iteration_run(tmp_path_factory.mktemp("report"))


def _direct(run, query: str):
    """A plain DuckDB query straight on the part files (no builder code involved)."""
    con = duckdb.connect()
    for table in ("judgments", "trees", "problems", "evals", "nodes"):
        glob = run.data_dir / table / "iteration=*" / "*.parquet"
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{glob}')")
    out = con.sql(query).fetchall()
    con.close()
    return out


def test_markdown_report_with_plots(run, tmp_path):
    from PIL import Image

    out = tmp_path / "rep"
    res = invoke("report", "--run", run.root, "--out", out)
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text()
    for title in ("## Volume", "## Judge consistency", "## Drift", "## Held-out evaluation", "swap_consistency"):
        assert title in md
    for name in ("accuracy", "judge_consistency", "step_length"):
        png = out / "plots" / f"{name}.png"
        assert f"(plots/{name}.png)" in md
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(png) as im:
            im.load()
            assert im.size[0] > 100 and im.size[1] > 100


def test_default_out_is_run_report(run):
    res = invoke("report", "--run", run.root)
    assert res.exit_code == 0, res.output
    assert (run.root / "report" / "report.md").exists()
    assert str(run.root / "report" / "report.md") in res.output


def test_json_figures_match_direct_queries(run, tmp_path):
    res = invoke("report", "--run", run.root, "--format", "json", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "report.json").read_text())
    s = rep["sections"]
    assert rep["iterations"] == [1, 2]
    # Volume and position figures.
    direct = _direct(run, "SELECT iteration, count(*), avg((verdict = 'A')::INT) FILTER (WHERE verdict IS NOT NULL), "
                          "avg((verdict IS NULL)::INT) FROM judgments GROUP BY 1 ORDER BY 1")
    got = [(r["iteration"], r["judgments"], r["first_position_rate"], r["unparseable_rate"]) for r in s["judge_consistency"]]
    assert _flat(got) == pytest.approx(_flat(direct))
    assert [r["judgments"] for r in s["volume"]] == [d[1] for d in direct]
    assert [r["pairs_per_tree"] for r in s["volume"]] == [1.5, 1.0]  # 3 pairs / 2 trees, 1 / 1
    # Swap consistency straight from the pairs of opposite orders (self-join, independent of the report's SQL).
    swap = _direct(run, """
        SELECT x.iteration, avg((x.winner = y.winner)::INT)
        FROM judgments x JOIN judgments y
          ON x.iteration = y.iteration AND x.parent_id = y.parent_id AND x.round = y.round
         AND x.node_a = y.node_b AND x.node_b = y.node_a AND NOT x.swapped AND y.swapped
        WHERE x.verdict IS NOT NULL AND y.verdict IS NOT NULL GROUP BY 1 ORDER BY 1""")
    assert _flat([(r["iteration"], r["swap_consistency"]) for r in s["judge_consistency"]]) == pytest.approx(_flat(swap))
    # Outcome, drift and evals.
    acc = _direct(run, "SELECT t.iteration, avg(coalesce(t.correct, false)::INT) FROM trees t JOIN problems p "
                       "USING (iteration, problem_id) WHERE p.answer IS NOT NULL GROUP BY 1 ORDER BY 1")
    assert _flat([(r["iteration"], r["accuracy"]) for r in s["outcome"]]) == pytest.approx(_flat(acc))
    tok = _direct(run, "SELECT iteration, avg(n_tokens), median(n_tokens) FROM nodes WHERE on_path AND depth > 0 "
                       "GROUP BY 1 ORDER BY 1")
    assert _flat([(r["iteration"], r["step_tokens_mean"], r["step_tokens_p50"]) for r in s["drift"]]) == pytest.approx(_flat(tok))
    ev = _direct(run, "SELECT iteration, benchmark, mode, avg(correct::INT) FROM evals GROUP BY ALL ORDER BY ALL")
    assert [(r["iteration"], r["benchmark"], r["mode"], r["accuracy"]) for r in s["evals"]] == [tuple(e) for e in ev]


def test_saved_judge_evals_join_the_report(tmp_path):
    run = build_two_iteration_run(tmp_path)
    (run.root / "eval").mkdir()
    for n, acc in ((1, 0.75), (2, 0.9)):
        (run.root / "eval" / f"judge-M{n}-task_arithmetic-pairs.json").write_text(json.dumps(
            {"iteration": n, "model": "M", "pairs_source": "task:arithmetic", "pairs": 4, "judgments": 8,
             "accuracy": acc, "both_orders_accuracy": 0.5, "swap_consistency": 0.5, "first_position_rate": 0.5,
             "unparseable_rate": 0.0}))
    res = invoke("report", "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    rep = json.loads((run.root / "report" / "report.json").read_text())
    assert [(r["iteration"], r["accuracy"]) for r in rep["sections"]["judge_eval"]] == [(1, 0.75), (2, 0.9)]
    res = invoke("report", "--run", run.root)
    md = (run.root / "report" / "report.md").read_text()
    assert "## Judge accuracy on labeled pairs" in md and "0.900" in md


def test_empty_run_says_no_data(tmp_path):
    run = make_run(tmp_path)
    res = invoke("report", "--run", run.root)
    assert res.exit_code == 0, res.output
    md = (run.root / "report" / "report.md").read_text()
    assert md.count("no data") >= 8 and not (run.root / "report" / "plots" / "accuracy.png").exists()
    res = invoke("report", "--run", run.root, "--format", "json")
    rep = json.loads((run.root / "report" / "report.json").read_text())
    assert rep["iterations"] == [] and all(v == [] for v in rep["sections"].values())


def test_not_a_run_is_one_line_error(tmp_path):
    res = invoke("report", "--run", tmp_path / "nope")
    assert res.exit_code == 2 and "not a run directory" in res.output

"""The report's oracle ceiling: M(N), judge-trained M(N+1) and checker-trained M(N+1)-checker on the
same held-out problems, with Wilson intervals and exact McNemar p, and judge/checker pair agreement.
The counts are checked against hand-written `psr sql` queries over the evals and pairs tables, the
statistics against hand-computed values. Rows are written with the real store; no model involved."""

import json

import pytest

from builder.store import write_table
from tests.helpers import invoke, make_run, report_sections
from tests.report_rows import pair


def ev(pid, correct, label="judge"):
    return {"model": "M", "benchmark": "task:arithmetic", "mode": "greedy", "problem_id": pid,
            "prediction": "1", "correct": correct, "n_steps": 2, "n_tokens": 9, "solution": "s", "label_source": label,
            "judge_calls": None, "judge_tokens": None}


# 12 shared problems: M1 right on 0-7; M2 (judge) right on 0-5 and 8; M2-checker right on 0-7 and 8-11.
BASE = [i < 8 for i in range(12)]
JUDGE = [i < 6 or i == 8 for i in range(12)]
CHECKER = [True] * 12


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("ceiling"))
    write_table(run, "evals", 1, "b", [ev(f"p{i}", ok) for i, ok in enumerate(BASE)] + [ev("extra", True)])
    write_table(run, "evals", 2, "j", [ev(f"p{i}", ok) for i, ok in enumerate(JUDGE)])
    write_table(run, "evals", 2, "c", [ev(f"p{i}", ok, "checker") for i, ok in enumerate(CHECKER)])
    judge = [pair("t", "p0", 0, 1, 1, 2, True, False), pair("t", "p0", 1, 2, 4, 5, False, True),
             pair("t", "p0", 4, 3, 7, 9, True, True)]
    checker = [dict(pair("t", "p0", 0, 1, 1, 3, True, False), label_source="checker"),
               dict(pair("t", "p0", 1, 2, 5, 4, True, False), label_source="checker"),
               dict(pair("t", "p0", 9, 4, 11, 12, True, False), label_source="checker")]
    write_table(run, "pairs", 1, "pairs", judge)
    write_table(run, "pairs", 1, "checker", checker)
    return run


def _sql(run, query):
    res = invoke("sql", query, "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]


def test_ceiling_matches_psr_sql_and_hand_statistics(run, tmp_path):
    sections = report_sections(run, tmp_path / "rep")
    (row,) = sections["ceiling"]
    acc = _sql(run, """
        SELECT e.label_source, e.iteration, count(*) AS n, count(*) FILTER (WHERE e.correct) AS k
        FROM evals e WHERE e.problem_id IN (SELECT problem_id FROM evals WHERE label_source = 'checker')
        GROUP BY ALL ORDER BY ALL""")
    k = {(r["label_source"], r["iteration"]): r["k"] for r in acc}
    assert {r["n"] for r in acc} == {row["problems"]} == {12}
    assert (row["base_correct"], row["judge_correct"], row["checker_correct"]) == (
        k[("judge", 1)], k[("judge", 2)], k[("checker", 2)]) == (8, 7, 12)
    disc = _sql(run, """
        SELECT count(*) FILTER (WHERE b.correct AND NOT j.correct) AS base_only,
               count(*) FILTER (WHERE j.correct AND NOT b.correct) AS judge_only
        FROM evals b JOIN evals j USING (problem_id)
        WHERE b.iteration = 1 AND j.iteration = 2 AND j.label_source = 'judge'""")[0]
    assert (row["base_only_judge"], row["judge_only"]) == (disc["base_only"], disc["judge_only"]) == (2, 1)
    assert (row["base_only_checker"], row["checker_only"]) == (0, 4)
    # exact McNemar by hand: 2 vs 1 -> 2 * (1 + 3) / 8 = 1.0; 0 vs 4 -> 2 / 16
    assert row["judge_p"] == 1.0 and row["checker_p"] == pytest.approx(0.125)
    # Wilson 95 % by hand for 12/12: lower = 12 / (12 + z^2)
    z = 1.959963984540054
    assert row["checker_ci_low"] == pytest.approx(12 / (12 + z * z)) and row["checker_ci_high"] == 1.0
    assert row["checker_accuracy"] == 1.0 and row["base_accuracy"] == pytest.approx(8 / 12)
    agree = _sql(run, """
        SELECT count(*) AS shared, count(*) FILTER (WHERE j.chosen_correct AND NOT j.rejected_correct) AS agrees
        FROM pairs j JOIN pairs c USING (pair_id) WHERE j.label_source = 'judge' AND c.label_source = 'checker'""")[0]
    assert (row["judge_pairs"], row["checker_pairs"]) == (3, 3)
    assert (row["shared_rounds"], row["judge_agrees"], row["judge_reversed"]) == (agree["shared"], agree["agrees"], 1) == (2, 1, 1)
    assert row["agreement"] == 0.5
    # the loop's sections never count the ablation
    (ev_row,) = [r for r in sections["evals"] if r["iteration"] == 2]
    assert ev_row["problems"] == 12 and ev_row["correct"] == 7
    assert [r["pairs"] for r in sections["volume"] if r["iteration"] == 1] == [3]


def test_markdown_shows_the_ceiling_table(run, tmp_path):
    res = invoke("report", "--run", run.root, "--out", tmp_path / "md")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "md" / "report.md").read_text()
    head = next(line for line in text.splitlines() if line.startswith("## Oracle ceiling"))
    assert "ORACLE-labelled" in head
    assert "| 1 | task:arithmetic | greedy | 12 | 8 | 7 |" in text


def test_no_ceiling_without_a_checker_model(tmp_path):
    run = make_run(tmp_path)
    write_table(run, "evals", 1, "b", [ev("p0", True)])
    write_table(run, "evals", 2, "j", [ev("p0", False)])
    assert report_sections(run, tmp_path / "rep")["ceiling"] == []

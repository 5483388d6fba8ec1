"""The report's statistics section against `psr sql` over the run's evals table and an independent
recomputation of the Wilson interval and the exact McNemar p-value (a hand-built evals fixture)."""

import json
import math
from fractions import Fraction

import pytest

from tests.helpers import invoke, make_run, report_sections
from tests.report_rows import eval_row

# (M1 right, M2 right) per problem: 40 problems, 14 discordant M1-only, 3 M2-only; M3 = M2 except 2 flips.
M1 = [True] * 20 + [True] * 14 + [False] * 3 + [False] * 3
M2 = [True] * 20 + [False] * 14 + [True] * 3 + [False] * 3
M3 = M2[:-2] + [True, True]


def wilson_by_quadratic(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Roots in p of (phat - p)^2 = z^2 p (1 - p) / n: the Wilson bounds, solved as a quadratic."""
    phat = k / n
    a, b, c = 1 + z * z / n, -(2 * phat + z * z / n), phat * phat
    disc = math.sqrt(b * b - 4 * a * c)
    return ((-b - disc) / (2 * a), (-b + disc) / (2 * a))


def mcnemar_by_enumeration(b: int, c: int) -> float:
    """Sum of Bin(b + c, 1/2) probabilities no larger than the observed one (exact, in fractions)."""
    n = b + c
    pmf = [Fraction(math.comb(n, i), 2**n) for i in range(n + 1)]
    return float(sum(p for p in pmf if p <= pmf[b]))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from builder.store import write_table

    run = make_run(tmp_path_factory.mktemp("stats"))
    for n, rights in ((1, M1), (2, M2), (3, M3)):
        write_table(run, "evals", n, "task-greedy", [eval_row(f"p{i}", r) for i, r in enumerate(rights)])
    # search mode for M2 only, on a subset: beside greedy, never paired with a greedy row
    write_table(run, "evals", 2, "task-search", [eval_row(f"p{i}", i % 4 != 0, mode="search") for i in range(24)])
    return run


@pytest.fixture(scope="module")
def stats(run, tmp_path_factory):
    return {r["model"]: r for r in report_sections(run, tmp_path_factory.mktemp("rep"))["statistics"]}


def sql(run, query: str) -> list[dict]:
    res = invoke("sql", query, "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.output.splitlines() if line.strip()]  # JSON lines


def test_accuracy_and_interval_match_psr_sql(run, stats):
    counts = sql(run, "SELECT iteration, mode, count(*) AS n, count(*) FILTER (WHERE correct) AS k "
                      "FROM evals GROUP BY ALL ORDER BY ALL")
    assert len(counts) == 4
    for c in counts:
        row = stats[f"M{c['iteration']}"]
        mode = c["mode"]
        assert (row[f"{mode}_problems"], row[f"{mode}_correct"]) == (c["n"], c["k"])
        assert row[f"{mode}_accuracy"] == pytest.approx(c["k"] / c["n"])
        lo, hi = wilson_by_quadratic(c["k"], c["n"])
        assert (row[f"{mode}_ci_low"], row[f"{mode}_ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert stats["M1"]["greedy_correct"] == 34 and stats["M1"]["search_accuracy"] is None
    assert stats["M2"]["search_accuracy"] == pytest.approx(18 / 24)


def test_mcnemar_p_matches_the_discordant_counts_of_psr_sql(run, stats):
    disc = sql(run, """
        SELECT b.iteration, count(*) FILTER (WHERE a.correct AND NOT b.correct) AS only_prev,
               count(*) FILTER (WHERE b.correct AND NOT a.correct) AS only_this, count(*) AS shared
        FROM evals a JOIN evals b ON a.problem_id = b.problem_id AND b.iteration = a.iteration + 1
        WHERE a.mode = 'greedy' AND b.mode = 'greedy' GROUP BY 1 ORDER BY 1""")
    assert [(d["only_prev"], d["only_this"]) for d in disc] == [(14, 3), (0, 2)]
    assert stats["M1"]["mcnemar_p"] is None and stats["M1"]["prev_model"] is None
    for d in disc:
        row = stats[f"M{d['iteration']}"]
        assert row["prev_model"] == f"M{d['iteration'] - 1}"
        assert (row["only_prev"], row["only_this"], row["problems_shared"]) == (d["only_prev"], d["only_this"], d["shared"])
        assert row["difference"] == pytest.approx((d["only_this"] - d["only_prev"]) / d["shared"])
        assert row["mcnemar_p"] == pytest.approx(mcnemar_by_enumeration(d["only_prev"], d["only_this"]), rel=1e-12)
    assert stats["M2"]["mcnemar_p"] < 0.05 < stats["M3"]["mcnemar_p"]  # 14 vs 3 is significant; 0 vs 2 is not


def test_markdown_shows_the_statistics_and_the_interval_plot(run, tmp_path):
    res = invoke("report", "--run", run.root, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    md = (tmp_path / "report.md").read_text()
    lo, hi = wilson_by_quadratic(34, 40)
    assert f"0.850 [{lo:.3f}, {hi:.3f}] (40)" in md
    assert "-0.275 vs M1 (14 / 3)" in md
    assert "(plots/accuracy_intervals.png)" in md
    assert (tmp_path / "plots" / "accuracy_intervals.png").read_bytes()[:4] == b"\x89PNG"

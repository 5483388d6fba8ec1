"""Judge-consistency SQL checked against figures worked out by hand (tests/report_rows.py docstring).

The fast query (bit-packed rounds) and the general one (pair by pair, any width) must both give
the hand-computed values, and agree with each other on a random table.
"""

import random

import pytest

from builder.query import connect, rows
from builder.store import write_table
from tests.helpers import make_run
from tests.report_rows import EXPECTED_IT1, T1, build_two_iteration_run, judgment_rows


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    run = build_two_iteration_run(tmp_path_factory.mktemp("metrics"))
    con = connect(run)
    yield con
    con.close()


@pytest.mark.parametrize("query", ["judge_consistency", "judge_consistency_general"])
def test_consistency_matches_hand_computation(db, query):
    got = {r["iteration"]: r for r in rows(db, query)}
    assert sorted(got) == [1, 2]
    it1 = got[1]
    for key, want in EXPECTED_IT1.items():
        assert it1[key] == pytest.approx(want), key
    # Iteration 2: one transitive round, all 3 pairs consistent, scores 4 2 0.
    it2 = got[2]
    assert (it2["swap_consistency"], it2["first_position_rate"], it2["all_tie_rate"]) == (1.0, 0.5, 0.0)
    assert (it2["triads"], it2["triads_decided"], it2["triads_intransitive"], it2["mean_spread"]) == (1, 1, 0, 4.0)


def test_judge_truth_by_hand(db):
    it1 = {r["iteration"]: r for r in rows(db, "judge_truth")}[1]
    # Mixed judgments (one correct, one incorrect step): R1 {1,2}: both pick 1 (right); R1 {2,3}:
    # unparseable (miss) and 3 (right); R3 {7,9}: both pick 7, which is wrong. 3 right of 6, 3 of 5 parseable.
    assert (it1["judgments_mixed"], it1["judged_right"]) == (6, 3)
    assert it1["judge_accuracy"] == pytest.approx(0.5)
    assert it1["judge_accuracy_parseable"] == pytest.approx(0.6)
    # Known candidates 1 2 3 7 9: correct 1 3 9 -> 3/5; accepted and known: 1 (yes), 7 (no) -> 1/2.
    assert it1["candidate_correct_rate"] == pytest.approx(0.6)
    assert it1["accepted_correct_rate"] == pytest.approx(0.5)


def test_pairs_truth_and_outcome_by_hand(db):
    p1 = {r["iteration"]: r for r in rows(db, "pairs_truth")}[1]
    # Pairs with both labels: (1 yes, 2 no) right order, (7 no, 9 yes) reversed; pair (4,5) unknown.
    assert (p1["pairs"], p1["pairs_known"], p1["right_order_rate"], p1["reversed_rate"]) == (3, 2, 0.5, 0.5)
    assert p1["chosen_longer_rate"] == pytest.approx(2 / 3)
    out = {r["iteration"]: r for r in rows(db, "outcome")}
    # Iteration 1: T1 correct, T2 has a gold answer but no final answer -> 1/2; iteration 2: 0/1.
    assert (out[1]["trees_with_gold"], out[1]["accuracy"], out[1]["answered_rate"]) == (2, 0.5, 0.5)
    assert out[2]["accuracy"] == 0.0


def test_all_tie_counts_candidates_that_never_won(tmp_path):
    # One round, 3 candidates, one order each, every verdict unparseable: scores 0 0 0 -> all tie.
    # A second round where only (1,2) was judged, A won: scores 1 0 -> not a tie.
    run = make_run(tmp_path)
    spec = [(1, 0, 1, 2, False, None), (1, 0, 1, 3, False, None), (1, 0, 2, 3, False, None),
            (2, 1, 4, 5, False, "A")]
    write_table(run, "judgments", 1, "a", judgment_rows(T1, spec))
    db = connect(run)
    for query in ("judge_consistency", "judge_consistency_general"):
        r = rows(db, query)[0]
        assert (r["rounds"], r["all_tie_rounds"], r["pairs_both_orders"], r["unparseable_rate"]) == (2, 1, 0, 0.75)
        assert r["first_position_rate"] == 1.0 and r["swap_consistency"] is None
    db.close()


def _random_judgments(rng, tree, rounds, max_width, min_width=2):
    spec, k = [], 1
    for rnd in range(1, rounds + 1):
        w = rng.randint(min_width, max_width)
        nodes = list(range(k, k + w))
        for a in nodes:
            for b in nodes:
                if a != b and rng.random() < 0.9:
                    spec.append((rnd, k - 1, a, b, a > b, rng.choice(["A", "A", "B", None])))
        k += w
    return judgment_rows(tree, spec)


def test_fast_and_general_agree_on_random_rounds(tmp_path):
    rng = random.Random(7)
    run = make_run(tmp_path)
    for it in (1, 2):
        rows_ = []
        for t in range(6):
            rows_ += _random_judgments(rng, f"{it}-t{t}", 5, 8)
        write_table(run, "judgments", it, "a", rows_)
    db = connect(run)
    fast, general = rows(db, "judge_consistency"), rows(db, "judge_consistency_general")
    db.close()
    assert [r["rounds_skipped"] for r in fast] == [0, 0]
    assert len(fast) == len(general) == 2
    for f, g in zip(fast, general):
        assert f == pytest.approx(g), (f, g)


def test_wide_rounds_fall_back_to_general(tmp_path):
    from builder.analysis.report import build_report

    rng = random.Random(3)
    run = make_run(tmp_path)
    # Two rounds of 10 candidates (more than the 8 lanes of the fast path) and one of 3.
    write_table(run, "judgments", 1, "a", _random_judgments(rng, "1-wide", 2, 10, 10) + _random_judgments(rng, "1-x", 1, 3))
    db = connect(run)
    fast, general = rows(db, "judge_consistency")[0], rows(db, "judge_consistency_general")[0]
    db.close()
    assert fast["rounds_skipped"] == 2 and fast["rounds"] == general["rounds"] == 3
    report = build_report(run)
    assert report["sections"]["judge_consistency"] == [general]
    assert report["queries"]["judge_consistency"].endswith("judge_consistency_general.sql")
    assert "2 round(s)" in report["notes"][0]


def test_foreign_node_ids_fall_back_to_general(tmp_path):
    from builder.analysis.report import build_report

    # Imported judgments whose node ids carry no '/<k>' suffix: the fast path cannot place them.
    run = make_run(tmp_path)
    spec = [(1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, "B")]
    rows_ = judgment_rows(T1, spec)
    for r in rows_:
        for key in ("node_a", "node_b", "winner"):
            r[key] = r[key].replace("/", ":") if r[key] else None
    write_table(run, "judgments", 1, "a", rows_)
    db = connect(run)
    assert rows(db, "judge_consistency")[0]["rounds_skipped"] == 1
    db.close()
    jc = build_report(run)["sections"]["judge_consistency"][0]
    assert (jc["pairs_eligible"], jc["swap_consistency"], jc["rounds_skipped"]) == (1, 1.0, 0)


def _prob_run(tmp_path):
    """Round 1 of T1: candidates 1 (correct), 2 (wrong), 3 (correct); judgments with p_a."""
    from tests.report_rows import it1_nodes

    run = make_run(tmp_path)
    write_table(run, "nodes", 1, "a", it1_nodes())
    spec = [(1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, "A"), (1, 0, 1, 3, False, "B"), (1, 0, 3, 1, True, "B"),
            (1, 0, 2, 3, False, "B"), (1, 0, 3, 2, True, "A")]
    js = judgment_rows(T1, spec)
    for j, p, src in zip(js, (0.8, 0.6, 0.3, 0.5, 0.45, None), ("logprob",) * 4 + ("forced", "parsed")):
        j["p_a"], j["verdict_source"] = p, src
    write_table(run, "judgments", 1, "a", js)
    return run


def test_debiased_preference_and_calibration_by_hand(tmp_path):
    db = connect(_prob_run(tmp_path))
    [r] = rows(db, "debiased_preference")
    assert (r["judgments_parsed"], r["judgments_forced"], r["judgments_logprob"], r["judgments_undecided"]) == (1, 1, 4, 0)
    # pairs {1,2}: (0.8 + 1 - 0.6) / 2 = 0.6 for the correct step 1, bias 0.2; {1,3}: bias -0.1; {2,3}: one p_a only
    assert (r["pairs_scored"], r["pairs_mixed"]) == (2, 1)
    assert r["mean_position_bias"] == pytest.approx(0.05)
    assert (r["debiased_accuracy"], r["single_order_accuracy"]) == (1.0, 0.5)
    cal = rows(db, "verdict_calibration")
    got = [(round(c["bin_lo"], 1), c["judgments"], round(c["mean_p_a"], 3), c["a_correct_rate"]) for c in cal]
    assert got == [(0.4, 1, 0.45, 0.0), (0.6, 1, 0.6, 0.0), (0.8, 1, 0.8, 1.0)]  # mixed judgments only
    db.close()


def test_parts_written_before_p_a_existed_read_as_null(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = make_run(tmp_path)
    old = [{k: v for k, v in j.items() if k not in ("p_a", "verdict_source")}
           for j in judgment_rows(T1, [(1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, None)])]
    path = run.data_dir / "judgments" / "iteration=1" / "part-old.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(old), path)
    db = connect(run)
    [r] = rows(db, "debiased_preference")
    assert (r["judgments_parsed"], r["judgments_undecided"], r["pairs_scored"]) == (1, 1, 0)
    db.close()

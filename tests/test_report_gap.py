"""The generation-verification gap (report section gap) and test-time search vs greedy (section
search_vs_greedy), and their cells in the statistics rows, against SQL written here over a
seeded random run and against a small run worked out by hand.

Random iteration 1: trees whose rounds have three judged candidates and one duplicate (never
judged: it must not make a round mixed), random step labels, best/worst or undecided, rollbacks
(two rounds from one parent share its greedy step), parents with and without a recorded greedy
step. Iteration 2 has no greedy step recorded: no gap row.
"""

import json
import math
import random
from fractions import Fraction

import pytest

from tests.helpers import invoke, make_run, report_sections
from tests.report_rows import eval_row, judgment_rows, node, problem, tree

Z95 = 1.959963984540054


def random_iteration(rng: random.Random, iteration: int, trees: int, greedy: bool):
    nodes, judgments, tree_rows = [], [], []
    for t in range(trees):
        tid = f"{iteration}-t{t}"
        rows = [node(tid, 0, None, 0, 0, None, on_path=True)]
        parent, depth, labels_known = 0, 0, t % 4 != 3  # every 4th tree: no step checker labels
        spec = []
        for rnd in range(1, rng.randint(3, 7)):
            k0 = len(rows)
            labels = [rng.random() < 0.5 if labels_known else None for _ in range(3)]
            for i in range(3):
                rows.append(node(tid, k0 + i, parent, depth + 1, rnd, i, correct=labels[i], tokens=rng.randint(3, 9)))
            dup = node(tid, k0 + 3, parent, depth + 1, rnd, 3, correct=None if not labels_known else not labels[0])
            rows.append({**dup, "judged": False, "duplicate_of": f"{tid}/{k0}"})
            if rng.random() < 0.25:  # undecided: no best, no worst; the next round re-samples this parent
                spec += [(rnd, parent, k0, k0 + 1, False, None)]
                continue
            best, worst = rng.sample(range(3), 2)
            rows[k0 + best]["selection"], rows[k0 + worst]["selection"] = "best", "worst"
            spec += [(rnd, parent, k0 + best, k0 + worst, False, "A"), (rnd, parent, k0 + worst, k0 + best, True, "B")]
            if rng.random() < 0.7:  # else a rollback: the same parent samples again
                rows[k0 + best]["on_path"] = True
                parent, depth = k0 + best, depth + 1
        for r in rows:
            if greedy and any(c["parent_id"] == r["node_id"] for c in rows) and rng.random() < 0.85:
                r["greedy_step"] = f"Step {r['depth'] + 1}: g\n"
                r["greedy_step_correct"] = rng.random() < 0.5 if labels_known else None
        js = judgment_rows(tid, spec)
        for j in js:
            j["n_tokens"] = rng.randint(1, 40)
        nodes += rows
        judgments += js
        steps = sum(r["on_path"] and r["parent_id"] is not None for r in rows)
        tree_rows.append(tree(tid, f"p{t}", "finished", steps, "4", True, len(js)))
    return nodes, judgments, tree_rows


def search_eval(pid, correct, calls, tokens):
    return {**eval_row(pid, correct, mode="search"), "judge_calls": calls, "judge_tokens": tokens,
            "n_steps": 1 + calls % 3}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from builder.store import write_table

    rng = random.Random(23)
    run = make_run(tmp_path_factory.mktemp("gap"))
    for it, greedy in ((1, True), (2, False)):
        nodes, judgments, trees = random_iteration(rng, it, 24, greedy)
        write_table(run, "problems", it, "a", [problem(f"p{t}", "4") for t in range(24)])
        write_table(run, "trees", it, "a", trees)
        write_table(run, "nodes", it, "a", nodes)
        write_table(run, "judgments", it, "a", judgments)
    greedy1 = [rng.random() < 0.4 for _ in range(60)]
    write_table(run, "evals", 1, "task-greedy", [eval_row(f"q{i}", c) for i, c in enumerate(greedy1)])
    write_table(run, "evals", 1, "task-search", [search_eval(f"q{i}", rng.random() < 0.55, rng.randint(0, 30),
                                                             rng.randint(0, 900)) for i in range(35)])
    write_table(run, "evals", 2, "task-greedy", [eval_row(f"q{i}", rng.random() < 0.4) for i in range(60)])
    return run


@pytest.fixture(scope="module")
def report(run, tmp_path_factory):
    return report_sections(run, tmp_path_factory.mktemp("rep"))


def sql(run, query: str) -> list[dict]:
    res = invoke("sql", query, "--run", run.root, "--format", "json")
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.output.splitlines() if line.strip()]


# Independent of builder/sql/gap.sql: mixed rounds by min/max of the judged labels, the judge's
# pick by EXISTS, per round, so the test can pair them itself.
ROUNDS = """
WITH mixed AS (
    SELECT iteration, parent_id, round FROM nodes
    WHERE judged AND step_correct IS NOT NULL
    GROUP BY iteration, parent_id, round
    HAVING min(step_correct::INT) = 0 AND max(step_correct::INT) = 1
)
SELECT m.iteration, m.parent_id, m.round,
       EXISTS (SELECT 1 FROM nodes b WHERE b.iteration = m.iteration AND b.parent_id = m.parent_id
               AND b.round = m.round AND b.selection = 'best' AND b.step_correct) AS judge_right,
       p.greedy_step_correct AS greedy_right
FROM mixed m JOIN nodes p ON p.iteration = m.iteration AND p.node_id = m.parent_id
WHERE p.greedy_step_correct IS NOT NULL
ORDER BY ALL"""


def mcnemar_by_enumeration(b: int, c: int) -> float:
    n = b + c
    pmf = [Fraction(math.comb(n, i), 2**n) for i in range(n + 1)]
    return float(sum(p for p in pmf if p <= pmf[b]))


def test_gap_matches_independent_sql_and_a_paired_interval(run, report):
    rounds = sql(run, ROUNDS)
    assert {r["iteration"] for r in rounds} == {1}
    gap = {r["iteration"]: r for r in report["gap"]}
    assert sorted(gap) == [1]  # iteration 2 recorded no greedy step
    g = gap[1]
    n = len(rounds)
    d = [int(r["judge_right"]) - int(r["greedy_right"]) for r in rounds]
    assert n > 20 and 0 < sum(x != 0 for x in d) < n  # a sample with discordant and concordant rounds
    assert g["mixed_rounds"] == n
    assert g["judge_right"] == sum(r["judge_right"] for r in rounds)
    assert g["greedy_right"] == sum(r["greedy_right"] for r in rounds)
    assert (g["judge_only"], g["greedy_only"]) == (d.count(1), d.count(-1))
    assert g["judge_accuracy"] == pytest.approx(g["judge_right"] / n)
    assert g["greedy_accuracy"] == pytest.approx(g["greedy_right"] / n)
    mean = sum(d) / n
    assert g["gap"] == pytest.approx(mean)
    # Wald interval of a mean of per-round differences: mean +- z * sd / sqrt(n) (population sd)
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / n)
    assert (g["gap_ci_low"], g["gap_ci_high"]) == pytest.approx((mean - Z95 * sd / math.sqrt(n), mean + Z95 * sd / math.sqrt(n)))
    assert g["gap_p"] == pytest.approx(mcnemar_by_enumeration(d.count(1), d.count(-1)))
    undecided = sql(run, ROUNDS.replace("AND b.selection = 'best' AND b.step_correct", "AND b.selection = 'best'"))
    assert g["rounds_undecided"] == sum(not r["judge_right"] for r in undecided) > 0


def test_gap_costs_match_independent_sql(run, report):
    g = {r["iteration"]: r for r in report["gap"]}[1]
    want = sql(run, """SELECT (SELECT sum(n_tokens) / count(*) FROM judgments WHERE iteration = 1) AS tokens,
                              (SELECT sum(judge_calls) FROM trees WHERE iteration = 1)
                            / (SELECT count(*) FROM nodes WHERE iteration = 1 AND depth > 0 AND on_path) AS calls,
                              (SELECT count(*) FROM nodes WHERE iteration = 1 AND greedy_step_correct IS NOT NULL) AS parents""")[0]
    assert g["judge_tokens_per_decision"] == pytest.approx(want["tokens"])
    assert g["judge_calls_per_step"] == pytest.approx(want["calls"])
    assert g["greedy_parents"] == want["parents"]


def test_search_vs_greedy_matches_independent_sql(run, report):
    rows = report["search_vs_greedy"]
    assert [(r["iteration"], r["benchmark"]) for r in rows] == [(1, "task:arithmetic")]  # M2 has no search evals
    r = rows[0]
    per = sql(run, """SELECT s.correct AS s, g.correct AS g, s.judge_calls AS calls, s.judge_tokens AS tokens,
                             s.n_steps AS steps
                      FROM evals s, evals g WHERE s.iteration = 1 AND g.iteration = 1 AND s.mode = 'search'
                      AND g.mode = 'greedy' AND s.problem_id = g.problem_id""")
    b, c = sum(p["s"] and not p["g"] for p in per), sum(p["g"] and not p["s"] for p in per)
    assert (r["problems_shared"], r["only_search"], r["only_greedy"]) == (35, b, c) and b + c > 0
    assert r["search_accuracy"] == pytest.approx(sum(p["s"] for p in per) / 35)
    assert r["greedy_accuracy"] == pytest.approx(sum(p["g"] for p in per) / 35)
    assert r["difference"] == pytest.approx((b - c) / 35)
    assert r["mcnemar_p"] == pytest.approx(mcnemar_by_enumeration(b, c))
    calls, tokens = sum(p["calls"] for p in per), sum(p["tokens"] for p in per)
    assert r["judge_tokens_per_decision"] == pytest.approx(tokens / calls)
    assert r["judge_calls_per_step"] == pytest.approx(calls / sum(p["steps"] for p in per))


def test_statistics_rows_carry_the_gap_beside_each_model(report):
    stats = {r["model"]: r for r in report["statistics"]}
    gap, svg = report["gap"][0], report["search_vs_greedy"][0]
    m1 = stats["M1"]
    assert (m1["gap"], m1["gap_ci_low"], m1["gap_p"], m1["gap_rounds"]) == \
        (gap["gap"], gap["gap_ci_low"], gap["gap_p"], gap["mixed_rounds"])
    assert (m1["judge_round_accuracy"], m1["greedy_step_accuracy"]) == (gap["judge_accuracy"], gap["greedy_accuracy"])
    assert (m1["svg_difference"], m1["svg_mcnemar_p"], m1["eval_judge_tokens_per_decision"]) == \
        (svg["difference"], svg["mcnemar_p"], svg["judge_tokens_per_decision"])
    assert m1["search_judge_calls_per_step"] == gap["judge_calls_per_step"]
    assert stats["M2"]["gap"] is None and stats["M2"]["svg_difference"] is None


def test_markdown_shows_the_gap_table(run, tmp_path):
    res = invoke("report", "--run", run.root, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    text = (tmp_path / "report.md").read_text()
    assert "## Generation-verification gap and test-time search per model" in text
    assert "Query: `builder/sql/gap.sql`" in text and "Query: `builder/sql/search_vs_greedy.sql`" in text


def test_gap_by_hand(tmp_path):
    """Three rounds of one tree, worked out by hand:
    R1 at the root: labels (T, F, F), best = the correct one, greedy at the root wrong -> judge only;
    R2 at node 1: labels (F, T), undecided (a miss), greedy right -> greedy only;
    R3 at node 1 again (a rollback re-sample): labels (F, F) plus a duplicate labelled T that was
    never judged -> not mixed. Mixed rounds 2, judge 1/2, greedy 1/2, gap 0, discordant 1 / 1."""
    from builder.store import write_table

    run = make_run(tmp_path)
    t = "1-h"
    rows = [node(t, 0, None, 0, 0, None, on_path=True),
            node(t, 1, 0, 1, 1, 0, True, True), node(t, 2, 0, 1, 1, 1, correct=False), node(t, 3, 0, 1, 1, 2, correct=False),
            node(t, 4, 1, 2, 2, 0, correct=False), node(t, 5, 1, 2, 2, 1, correct=True),
            node(t, 6, 1, 2, 3, 0, correct=False), node(t, 7, 1, 2, 3, 1, correct=False), node(t, 8, 1, 2, 3, 2, correct=True)]
    rows[1]["selection"], rows[2]["selection"] = "best", "worst"
    rows[8]["judged"] = False
    rows[0].update(greedy_step="Step 1: g\n", greedy_step_correct=False)
    rows[1].update(greedy_step="Step 2: g\n", greedy_step_correct=True)
    write_table(run, "trees", 1, "a", [tree(t, "p0", "max_steps", 1, None, None, 4)])
    write_table(run, "nodes", 1, "a", rows)
    write_table(run, "judgments", 1, "a", judgment_rows(t, [(1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, "B"),
                                                            (2, 1, 4, 5, False, "A"), (2, 1, 5, 4, True, "A")]))
    res = invoke("report", "--run", run.root, "--format", "json", "--out", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    g = json.loads((tmp_path / "rep" / "report.json").read_text())["sections"]["gap"][0]
    assert (g["mixed_rounds"], g["judge_right"], g["greedy_right"], g["judge_only"], g["greedy_only"],
            g["rounds_undecided"], g["gap"]) == (2, 1, 1, 1, 1, 1, 0.0)
    assert (g["judge_accuracy"], g["greedy_accuracy"], g["gap_p"]) == (0.5, 0.5, 1.0)
    assert (g["judge_tokens_per_decision"], g["judge_calls_per_step"]) == (5.0, 4.0)
    # mean 0, sd 1, n 2: 0 +- 1.96 / sqrt(2) = +-1.386, clipped to the possible range [-1, 1]
    assert (g["gap_ci_low"], g["gap_ci_high"]) == (-1.0, 1.0)

"""`psr show` on a small real run: the real task, checker, search driver, seal and pairs; only the
model's outputs come from the SCRIPTED engine (tests/scripted_engine.py), so that the run is sure
to hold what the viewer must draw: a round with duplicate candidates, an all-tie rollback of an
accepted step, and pairs whose chosen step is wrong and rejected step right."""

import re

import pytest

from builder.tasks.arithmetic import gold_steps, parse_problem
from tests.helpers import invoke
from tests.scripted_engine import ScriptedEngine

STEP = re.compile(r"Step \d+: ")


def scripted_step(request, i):
    """Candidates 0 and 1: the gold next step (one the duplicate of the other); 2: off by one."""
    m = re.search(r"Solve step by step: ([0-9 +-]+)", request.prompt)
    chain = parse_problem(m[1].strip())
    k = len(STEP.findall(request.prompt[m.end():]))  # accepted steps so far
    gold = gold_steps(chain)[min(k, len(gold_steps(chain)) - 1)]
    if i < 2:
        return gold, "stop"
    return re.sub(r"(\d+)(\D*)$", lambda d: f"{int(d[1]) + 1}{d[2]}", gold), "stop"  # last number + 1


def make_engine():
    engine = ScriptedEngine(step=scripted_step)

    def judge(request):
        # round 2 of every tree: no verdict at all (an all-tie: step 1 is rolled back); else the
        # judge prefers the wrong candidate, which makes wrong-over-right pairs
        if engine.gen_calls == 2:
            return "no verdict"
        a, b = re.search(r"^A: (.*)$", request.prompt, re.M)[1], re.search(r"^B: (.*)$", request.prompt, re.M)[1]
        return "[[A]]" if _is_wrong(request.prompt, a) else "[[B]]" if _is_wrong(request.prompt, b) else "[[A]]"

    engine.judge = judge
    return engine


def _is_wrong(prompt, step):
    nums = re.findall(r"(\d+) ([-+]) (\d+) = (\d+)", step)
    if not nums:
        return False
    a, op, b, r = nums[0]
    return int(r) != (int(a) + int(b) if op == "+" else int(a) - int(b))


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir):
    from builder.search.iteration import generate_iteration
    from builder.store import Run

    path = tmp_path_factory.mktemp("show") / "run"
    sets = ["search.width=3", "search.max_steps=4", "search.max_rollbacks=1", f"models.M1={tiny_model_dir}"]
    assert invoke("init", path, "--preset", "demo", *[x for s in sets for x in ("--set", s)]).exit_code == 0
    assert invoke("problems", "add", "--run", path, "--iter", 1, "--limit", 3).exit_code == 0
    generate_iteration(Run.open(path), 1, engine=make_engine())
    for cmd in ("seal", "pairs"):
        res = invoke(cmd, "--run", path, "--iter", 1)
        assert res.exit_code == 0, res.output
    return path


def first_tree(run):
    from builder.store import Run, read_table

    return sorted(read_table(Run.open(run), "trees", 1).to_pylist(), key=lambda t: t["tree_id"])[0]


def test_terminal_and_html_show_duplicates_rollback_and_pair(run, tmp_path):
    tree = first_tree(run)
    html = tmp_path / "tree.html"
    res = invoke("show", "--run", run, "--iter", 1, "--problem", tree["problem_id"], "--html", html)
    assert res.exit_code == 0, res.output
    out = res.output
    assert f"tree {tree['tree_id']}" in out and tree["status"] in out
    # round 1: candidates #1 and #2 are the same gold step, #3 is off by one; the judge took #3
    assert "3 candidates, 2 distinct" in out and "duplicate of #1" in out
    assert re.search(r"#3 accepted, later rolled back", out)
    # round 2 judged nothing parseable: an all-tie that pops step 1
    assert "all tie -> rollback: step 1 (#3) leaves the path" in out
    assert "verdicts: row shown as A" in out and "?" in out
    assert "pair: chosen" in out and "wrong" in out and "right" in out
    assert "accepted path" in out
    page = html.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>") and "</html>" in page
    assert "<script" not in page and "http" not in page.split("<body")[1]  # one page, nothing to fetch
    import html as htmllib

    text = htmllib.unescape(re.sub(r"<[^>]+>", "", page.split("<body")[1]))
    for line in ("duplicate of #1", "all tie -> rollback: step 1 (#3) leaves the path", "accepted path",
                 f"tree {tree['tree_id']}", "pair: chosen"):
        assert line in text


def test_worst_picks_trees_with_wrong_over_right_pairs(run):
    res = invoke("sql", "SELECT count(DISTINCT tree_id) FROM pairs WHERE NOT chosen_correct AND rejected_correct",
                 "--run", run, "--format", "csv")
    n_bad = int(res.output.splitlines()[1])
    assert n_bad >= 1
    res = invoke("show", "--run", run, "--iter", 1, "--worst", 10)
    assert res.exit_code == 0, res.output
    assert res.output.count("─ tree ") == n_bad


@pytest.mark.parametrize("args, named", [(["--problem", "nope123"], "nope123"), (["--tree", "1-zzz"], "1-zzz")])
def test_unknown_id_is_exit_2_naming_it(run, args, named):
    res = invoke("show", "--run", run, "--iter", 1, *args)
    assert res.exit_code == 2 and named in res.output and "Traceback" not in res.output


def test_needs_exactly_one_selector(run):
    res = invoke("show", "--run", run, "--iter", 1)
    assert res.exit_code == 2 and "exactly one of" in res.output


def test_runs_written_before_duplicate_of_and_judged_read_the_same(run, tmp_path):
    """Older nodes files lack both columns (the view fills them in): duplicates come from equal text
    and every candidate with wins counts as judged, so the same tree reads the same."""
    import shutil

    import pyarrow.parquet as pq

    old = tmp_path / "old"
    shutil.copytree(run, old)
    for part in (old / "data" / "nodes").rglob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["duplicate_of", "judged"]), part)
    tree = first_tree(run)
    new_out = invoke("show", "--run", run, "--iter", 1, "--tree", tree["tree_id"]).output
    res = invoke("show", "--run", old, "--iter", 1, "--tree", tree["tree_id"])
    assert res.exit_code == 0, res.output
    assert "duplicate of #1" in res.output and "leaves the path" in res.output
    assert [line for line in res.output.splitlines() if "outcome" in line] == \
        [line for line in new_out.splitlines() if "outcome" in line]

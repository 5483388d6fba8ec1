"""The held-out eval problems (test split, and the validation split used for choices) share no problem (content id) with anything the demo trains or
searches on: IFT, EFT train, and every iteration's problems. Built with the real commands at the
demo preset's sizes, so a change in how any of them draws problems shows up here."""

from builder.problems import problem_id
from tests.helpers import invoke

ITERATIONS = (1, 2, 3)
EVAL_LIMIT = 1000  # the report's statistics need at least this many held-out problems


def own_step_problems(run) -> set[str]:
    """The train problems iteration 0's IFT stage samples its own steps on (the preset's count), as
    the stage itself names them (tests/test_own_stage.py checks that it samples on exactly these)."""
    from builder.initdata.own_stage import sampled_problems
    from builder.tasks import get_task

    texts = sampled_problems(run, get_task(run.config.task, **run.config.task_options))
    assert len(texts) == run.config.init_data.own_steps.problems == 2000
    return {problem_id(t) for t in texts}


def test_eval_problems_are_disjoint_from_training_and_search_problems(tmp_path):
    from builder.analysis.eval import load_benchmark
    from builder.store import Run, read_table

    path = tmp_path / "run"
    # the IFT stage trains a model (Axolotl): off here; the problems it samples on are named by the stage
    assert invoke("init", path, "--preset", "demo", "--set", "init_data.own_steps.ift_steps=0").exit_code == 0
    res = invoke("init-data", "--run", path)
    assert res.exit_code == 0, res.output
    for n in ITERATIONS:
        res = invoke("problems", "add", "--run", path, "--iter", n)
        assert res.exit_code == 0, res.output
    run = Run.open(path)

    ift = {problem_id(r["problem"]) for r in read_table(run, "ift", 0).to_pylist()}
    eft = read_table(run, "eft", 0).to_pylist()
    eft_train = {problem_id(r["problem"]) for r in eft if r["split"] == "train"}
    searched = {r["problem_id"] for n in ITERATIONS for r in read_table(run, "problems", n).to_pylist()}
    assert len(ift) >= run.config.init_data.ift_train * 0.9 and eft_train and searched
    eft_train |= own_step_problems(run)
    assert all(problem_id(r["problem"]) == r["problem_id"] for r in read_table(run, "problems", 1).to_pylist())

    benches = [("task", None), ("task", EVAL_LIMIT), ("task@validation", EVAL_LIMIT)]  # preset size, statistics' size
    splits = {}
    for bench, limit in benches:
        held_out = {p["problem_id"] for p in load_benchmark(run, bench, {}, limit).problems}
        splits.setdefault(bench, set()).update(held_out)
        assert len(held_out) == (limit or run.config.eval.limit)
        assert not held_out & ift, "eval problems in IFT"
        assert not held_out & eft_train, "eval problems in EFT train"
        assert not held_out & searched, "eval problems searched in an iteration"
    assert not splits["task"] & splits["task@validation"], "validation problems in the test split"

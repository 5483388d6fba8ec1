"""Oracle-labelled pairs (`psr pairs --label checker`): labels, selection, storage beside the judge's
pairs, the export/config split, and the error for a task without a step checker.

The search runs the SCRIPTED stand-in engine (tests/scripted_engine.py) through the real library
path (real run dir, Parquet, manifest, chat renderer of the tiny model): its candidates are real
arithmetic steps, right or wrong by design, so rounds hold both; the tiny random model would write
nothing the checker can grade.
"""

import re

import pytest

from builder.pairs.checker import checker_candidates
from builder.tasks.arithmetic import OP_STEP, answer_step, apply, check_step, op_step, parse_problem
from tests.helpers import invoke, run_with_problems
from tests.scripted_engine import ScriptedEngine, hashed

STEP_LINE = re.compile(r"Step \d+: .*")


def arithmetic_step(request, i):
    """Candidate i of the next step: even i right, odd i off by one; the last step boxes the answer."""
    chain = parse_problem(request.prompt)
    done = [s for s in STEP_LINE.findall(request.prompt) if OP_STEP.match(s.strip())]
    k = len(done) + 1
    carried = chain.start if k == 1 else int(OP_STEP.match(done[-1].strip())[5])
    off = i % 2
    if k > len(chain.ops):
        return answer_step(k, carried + off).rstrip("\n"), "stop"
    op, b = chain.ops[k - 1]
    return op_step(k, carried, op, b, apply(carried, op, b) + off).rstrip("\n"), "stop"


@pytest.fixture
def sealed_run(tmp_path, tiny_model_dir):
    from builder.search.iteration import generate_iteration

    root = tmp_path / "run"
    run = run_with_problems(root, tiny_model_dir, ["engine.device=cpu", "search.width=3", "search.max_steps=5",
                                                   "search.chunk_size=4", "search.max_rollbacks=2"], 8)
    engine = ScriptedEngine(step=arithmetic_step, judge=hashed)  # a noisy judge: some pairs reversed
    generate_iteration(run, 1, engine=engine)
    assert invoke("seal", "--run", root, "--iter", 1).exit_code == 0
    return run


def _by_label(run):
    from builder.store import read_table

    rows = read_table(run, "pairs", 1).to_pylist()
    return [r for r in rows if r["label_source"] == "judge"], [r for r in rows if r["label_source"] == "checker"]


def test_checker_pairs_are_right_vs_wrong_and_leave_judge_pairs_alone(sealed_run):
    from builder.search.context import make_checker
    from builder.store import load_manifest, read_table

    run = sealed_run
    assert invoke("pairs", "--run", run.root, "--iter", 1).exit_code == 0
    judge_before, none = _by_label(run)
    assert judge_before and not none
    res = invoke("pairs", "--run", run.root, "--iter", 1, "--label", "checker")
    assert res.exit_code == 0, res.output
    judge, checker = _by_label(run)
    assert judge == judge_before and checker
    nodes = {n["node_id"]: n for n in read_table(run, "nodes", 1).to_pylist()}
    problems = {p["problem_id"]: p["problem"] for p in read_table(run, "problems", 1).to_pylist()}
    for p in checker:
        c, r = nodes[p["chosen_node"]], nodes[p["rejected_node"]]
        prefix = [s + "\n" for s in p["prefix"].split("\n") if s]
        # the task's checker, called here independently of the pairs code
        assert check_step(problems[p["problem_id"]], prefix, p["chosen"]) is True
        assert check_step(problems[p["problem_id"]], prefix, p["rejected"]) is False
        assert (c["text"], r["text"]) == (p["chosen"], p["rejected"]) and c["round"] == r["round"]
        assert c["parent_id"] == r["parent_id"] == p["parent_id"]
    # one pair per round with a right and a wrong candidate, rolled-back rounds included
    rounds = {}
    for n in nodes.values():
        if n["parent_id"]:
            rounds.setdefault((n["parent_id"], n["round"]), []).append(n)
    mixed = [k for k, g in rounds.items() if len({n["step_correct"] for n in g}) == 2]
    assert len(checker) == len(mixed) == len({p["pair_id"] for p in checker})
    assert any(not nodes[p["chosen_node"]]["on_path"] for p in checker)  # a rolled-back round
    # the same prompt as generation: a checker pair in a round the judge also paired has its prompt
    by_id = {p["pair_id"]: p for p in judge}
    shared = [p for p in checker if p["pair_id"] in by_id]
    assert shared and all(by_id[p["pair_id"]]["prompt"] == p["prompt"] for p in shared)
    derived = load_manifest(run, 1)["derived"]["pairs"]
    assert derived["checker"]["gates"]["kept"] == len(checker) and "oracle" in derived["checker"]["note"]
    assert derived["gates"]["kept"] == len(judge)
    # redoing the judge's pairs keeps the checker's, and the reverse
    assert invoke("pairs", "--run", run.root, "--iter", 1, "--force").exit_code == 0
    assert _by_label(run) == (judge, checker)
    assert invoke("pairs", "--run", run.root, "--iter", 1, "--label", "checker", "--force").exit_code == 0
    assert _by_label(run) == (judge, checker)
    assert make_checker(run, list(read_table(run, "problems", 1).to_pylist())) is not None


def test_selection_prefers_the_accepted_step_then_the_first_by_index():
    def n(i, ok, on_path=False, round_=1, parent="t/0"):
        return {"node_id": f"t/{i}", "tree_id": "t", "parent_id": parent, "round": round_, "candidate_index": i % 10,
                "on_path": on_path, "ok": ok}

    nodes = [n(1, False), n(2, True), n(3, True, on_path=True), n(4, False),   # accepted correct step wins
             n(11, True, round_=2), n(12, False, round_=2), n(13, True, round_=2),  # no accepted step: first correct
             n(21, False, on_path=True, round_=3), n(22, True, round_=3),       # accepted but wrong: first correct
             n(31, True, round_=4), n(32, True, round_=4),                      # all correct: no pair
             n(41, None, round_=5), n(42, False, round_=5)]                     # unknown + wrong: no pair
    pairs, counts = checker_candidates(nodes, lambda x: x["ok"])
    assert [(c["node_id"], r["node_id"]) for c, r in pairs] == [("t/3", "t/1"), ("t/11", "t/12"), ("t/22", "t/21")]
    assert counts == {"rounds": 5, "all_correct": 1, "all_wrong": 1, "single": 0, "unlabelled": 0}


def test_ranked_checker_pairs_are_every_distinct_right_over_every_distinct_wrong():
    def n(i, ok, text, round_=1):
        return {"node_id": f"t/{i}", "tree_id": "t", "parent_id": "t/0", "round": round_, "candidate_index": i % 10,
                "on_path": False, "ok": ok, "text": text}

    nodes = [n(1, False, "w1"), n(2, True, "r1"), n(3, False, "w1"),   # a duplicate wrong sample: paired once
             n(4, True, "r2"), n(5, False, "w2"), n(6, None, "u"),       # unknown: never paired
             n(11, True, "r3", round_=2), n(12, True, "r4", round_=2)]  # all correct: no pair
    pairs, counts = checker_candidates(nodes, lambda x: x["ok"], "ranked")
    # written by hand: r1 > w1, r1 > w2, r2 > w1, r2 > w2
    assert [(c["text"], r["text"]) for c, r in pairs] == [("r1", "w1"), ("r1", "w2"), ("r2", "w1"), ("r2", "w2")]
    assert [(c["node_id"], r["node_id"]) for c, r in pairs][0] == ("t/2", "t/1")
    assert counts["all_correct"] == 1 and counts["rounds"] == 2


def test_ranked_checker_pairs_in_the_run_have_unique_ids(sealed_run):
    import yaml

    from builder.store import Run

    run = sealed_run
    cfg = yaml.safe_load((run.root / "run.yaml").read_text())
    cfg["pairs"]["per_round"] = "ranked"
    (run.root / "run.yaml").write_text(yaml.safe_dump(cfg))
    res = invoke("pairs", "--run", run.root, "--iter", 1, "--label", "checker")
    assert res.exit_code == 0, res.output
    _, checker = _by_label(Run.open(run.root))
    ids = [p["pair_id"] for p in checker]
    assert len(ids) == len(set(ids)) and all(":" in i for i in ids)
    for p in checker:
        assert p["chosen"] != p["rejected"] and (p["chosen_correct"], p["rejected_correct"]) == (True, False)


def test_default_export_ignores_checker_pairs_and_the_ablation_has_its_own_files(sealed_run):
    import pyarrow.parquet as pq

    from builder.trainer.render import render_config

    run = sealed_run
    for args in ((), ("--label", "checker")):
        assert invoke("pairs", "--run", run.root, "--iter", 1, *args).exit_code == 0
    judge, checker = _by_label(run)
    res = invoke("export", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0, res.output
    exported = pq.read_table(run.trainer_dir(1) / "pairs.parquet").to_pylist()
    # exactly the judge's pairs (EOS policy applied): same prompts, each step a judge step (+ EOS)
    assert sorted(r["prompt"] for r in exported) == sorted(p["prompt"] for p in judge)
    assert all(r["chosen"].startswith(p["chosen"]) and r["rejected"].startswith(p["rejected"])
               for r, p in zip(exported, judge))
    res = invoke("export", "--run", run.root, "--iter", 1, "--label", "checker")
    assert res.exit_code == 0 and "oracle-labelled" in res.output, res.output
    ablation = pq.read_table(run.trainer_dir(1) / "checker" / "pairs.parquet").to_pylist()
    assert len(ablation) == len(checker) and ablation != exported
    assert {r["chosen"] for r in ablation} & {p["chosen"] for p in checker}
    cfg, base = render_config(run, 1, "checker"), render_config(run, 1)
    assert cfg["output_dir"] == str(run.models_dir() / "M2-checker") and base["output_dir"] == str(run.models_dir() / "M2")
    assert cfg["datasets"][0]["path"].endswith("iteration=1/checker/pairs.parquet")
    assert cfg["dataset_prepared_path"] != base["dataset_prepared_path"]
    assert {k: v for k, v in cfg.items() if k not in ("output_dir", "datasets", "dataset_prepared_path")} == \
        {k: v for k, v in base.items() if k not in ("output_dir", "datasets", "dataset_prepared_path")}
    res = invoke("eval", "--run", run.root, "--iter", 2, "--label", "checker")
    assert res.exit_code == 2 and "M2-checker not found" in res.output and "--label checker" in res.output


def test_no_step_checker_is_an_exit_2_error_naming_the_task(tmp_path, tiny_model_dir):
    from builder.store import Run, read_table, write_table

    root = tmp_path / "run"
    assert invoke("init", root, "--preset", "demo", "--set", f"models.M1={tiny_model_dir}").exit_code == 0
    run = Run.open(root)
    assert invoke("problems", "add", "--run", root, "--iter", 1, "--limit", 2).exit_code == 0
    rows = read_table(run, "problems", 1).to_pylist()
    write_table(run, "problems", 1, "task", [dict(r, source="task:reasoning_gym:basic_arithmetic") for r in rows])
    from builder.store import seal

    seal(run, 1, ["problems"], {"test": True})
    res = invoke("pairs", "--run", root, "--iter", 1, "--label", "checker")
    assert res.exit_code == 2 and "reasoning_gym:basic_arithmetic" in res.output and "no step checker" in res.output
    res = invoke("export", "--run", root, "--iter", 0, "--label", "checker")
    assert res.exit_code == 2 and "iteration 0" in res.output

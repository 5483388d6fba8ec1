"""`psr init-data`: iteration 0 from the task plugin or from the user's files, sealed, idempotent."""

import json

from builder.store import check_sealed_files, is_sealed, load_manifest, read_table
from tests.helpers import invoke, make_run

# no IFT stage here (it trains a model): tests/test_own_stage.py and the e2e loop cover it
SMALL = ("init_data.ift_train=20", "init_data.eft_train=16", "init_data.eft_test=8", "init_data.score_train=0",
         "init_data.own_steps.ift_steps=0")


def test_init_data_from_task_seals_iteration0(tmp_path):
    run = make_run(tmp_path, "demo", *SMALL)
    res = invoke("init-data", "--run", run.root)
    assert res.exit_code == 0 and "ift 20 train, eft 16 train + 8 test" in res.output, res.output
    ift, eft = read_table(run, "ift", 0).to_pylist(), read_table(run, "eft", 0).to_pylist()
    assert len(ift) == 20 and {r["split"] for r in ift} == {"train"}
    assert [r["split"] for r in eft].count("test") == 8 and len(eft) == 24
    assert all(r["solution"].startswith("Step 1: ") and "\\boxed{" in r["solution"] for r in ift)
    assert all(r["label"] in "AB" and r["judgment"].endswith(f"[[{r['label']}]]") for r in eft)
    test_problems = {r["problem"] for r in eft if r["split"] == "test"}
    assert not test_problems & {r["problem"] for r in eft if r["split"] == "train"}  # held out
    lineage = load_manifest(run, 0)["lineage"]
    assert lineage["task"] == "arithmetic" and lineage["seed"] == run.config.seed
    assert check_sealed_files(run, 0)[0] == []
    files = sorted(run.data_dir.rglob("*"))
    mtimes = [p.stat().st_mtime_ns for p in files]
    again = invoke("init-data", "--run", run.root)
    assert again.exit_code == 0 and "already sealed" in again.output
    assert sorted(run.data_dir.rglob("*")) == files and [p.stat().st_mtime_ns for p in files] == mtimes


def test_init_data_is_deterministic(tmp_path):
    a, b = make_run(tmp_path / "a", "demo", *SMALL), make_run(tmp_path / "b", "demo", *SMALL)
    for run in (a, b):
        invoke("init-data", "--run", run.root)
    assert read_table(a, "eft", 0).equals(read_table(b, "eft", 0))


def test_init_data_import_own_files(tmp_path):
    run = make_run(tmp_path, "demo")
    ift = tmp_path / "ift.jsonl"
    ift.write_text("\n".join(json.dumps(r) for r in [
        {"problem": "2 + 3", "solution": "Step 1: 2 + 3 = 5\nStep 2: The answer is \\boxed{5}\n"},
        {"problem": "4 - 1", "solution": "Step 1: 4 - 1 = 3\nStep 2: The answer is \\boxed{3}\n", "answer": "3"},
    ]))
    eft = tmp_path / "eft.jsonl"
    eft.write_text("\n".join(json.dumps(r) for r in [
        {"problem": "2 + 3", "prefix": "", "step_a": "Step 1: 2 + 3 = 5\n", "step_b": "Step 1: 2 + 3 = 6\n",
         "label": "A", "judgment": "A is right. [[A]]"},
        {"problem": "4 - 1", "prefix": "", "step_a": "Step 1: 4 - 1 = 2\n", "step_b": "Step 1: 4 - 1 = 3\n",
         "label": "B", "judgment": "B is right. [[B]]", "split": "test"},
    ]))
    res = invoke("init-data", "import", "--run", run.root, "--ift", ift, "--eft", eft)
    assert res.exit_code == 0 and "ift 2 train, eft 1 train + 1 test" in res.output, res.output
    rows = read_table(run, "ift", 0).to_pylist()
    assert [r["answer"] for r in rows] == ["5", "3"] and rows[0]["source"] == "ift.jsonl"
    assert is_sealed(run, 0) and load_manifest(run, 0)["lineage"]["files"]["eft"]["path"] == str(eft)


def test_init_data_import_bad_label_is_one_line(tmp_path):
    run = make_run(tmp_path, "demo")
    ift = tmp_path / "ift.jsonl"
    ift.write_text(json.dumps({"problem": "p", "solution": "Step 1: \\boxed{1}\n"}))
    eft = tmp_path / "eft.jsonl"
    eft.write_text(json.dumps({"problem": "p", "prefix": "", "step_a": "a", "step_b": "b", "label": "C", "judgment": "j"}))
    res = invoke("init-data", "import", "--run", run.root, "--ift", ift, "--eft", eft)
    assert res.exit_code == 2 and "eft.jsonl: row 0: column 'label'" in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1 and not is_sealed(run, 0)


def test_init_data_without_run_is_a_usage_error(tmp_path):
    res = invoke("init-data", env={"PSR_RUN": ""})
    assert res.exit_code == 2 and "--run" in res.output


def test_init_data_never_clears_another_jobs_parts(tmp_path):
    from builder.store import write_table

    run = make_run(tmp_path, "demo", *SMALL)
    teacher = [{"example_id": "x", "split": "train", "problem": "p", "solution": "Step 1: \\boxed{1}\n",
                "answer": "1", "source": "teacher"}]
    path = write_table(run, "ift", 0, "chunk-0000", teacher)  # an unfinished `psr init-data ift` job
    res = invoke("init-data", "--run", run.root)
    assert res.exit_code == 1 and "another job" in res.output and path.exists() and not is_sealed(run, 0)


def test_init_data_writes_solution_scores_when_asked(tmp_path):
    run = make_run(tmp_path, "demo", *SMALL, "init_data.score_train=12")
    res = invoke("init-data", "--run", run.root)
    assert res.exit_code == 0 and "scores 12 train" in res.output, res.output
    rows = read_table(run, "scores", 0).to_pylist()
    assert len(rows) == 12 and all(r["judgment"].endswith(f"Score: {r['score']}") for r in rows)
    assert "scores" in load_manifest(run, 0)["tables"] and check_sealed_files(run, 0)[0] == []


def test_init_data_without_scores_writes_no_scores_table(tmp_path):
    run = make_run(tmp_path, "demo", *SMALL, "init_data.score_train=0")
    assert invoke("init-data", "--run", run.root).exit_code == 0
    assert read_table(run, "scores", 0).num_rows == 0 and "scores" not in load_manifest(run, 0)["tables"]

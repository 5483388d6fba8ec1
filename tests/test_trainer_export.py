"""`psr export`: sealed-only, EOS policy in the data, no empty strings, idempotent, redone when its pairs change."""

import re
import time

import pyarrow.parquet as pq

from builder.store import record_table, write_table
from builder.trainer.export import dpo_rows, export_iteration, prepared_path, with_eos
from tests.helpers import invoke
from tests.trainer_helpers import STEPS, WRONG, add_model, demo_pairs, dpo_run, make_run

EOS = "<|im_end|>"


def _one_line_error(res, code=1):
    assert res.exit_code == code, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in res.output
    return lines[0]


def test_export_refuses_unsealed_iteration(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir)
    add_model(run, 1, tiny_model_dir)
    write_table(run, "pairs", 1, "pairs", demo_pairs(run.model_path(1)))  # written but never sealed
    line = _one_line_error(invoke("export", "--run", run.root, "--iter", 1), code=2)  # a step not run yet
    assert "not sealed" in line and f"psr seal --run {run.root} --iter 1" in line
    assert not (run.trainer_dir(1) / "pairs.parquet").exists()
    line0 = _one_line_error(invoke("export", "--run", run.root, "--iter", 0), code=2)
    assert f"psr init-data --run {run.root}" in line0


def test_export_sealed_without_pairs_says_run_pairs(tmp_path, tiny_model_dir):
    from builder.store import seal

    run = make_run(tmp_path, tiny_model_dir)
    seal(run, 1, [], {})
    line = _one_line_error(invoke("export", "--run", run.root, "--iter", 1), code=2)
    assert f"psr pairs --run {run.root} --iter 1" in line


def test_export_applies_eos_policy_and_drops_empty_rows(tmp_path, tiny_model_dir):
    run = dpo_run(tmp_path, tiny_model_dir)
    res = invoke("export", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0, res.output
    assert "exported" in res.output and "dropped 1 (empty rejected)" in res.output and "dropped 1 (empty prompt)" in res.output
    path = run.trainer_dir(1) / "pairs.parquet"
    table = pq.read_table(path)
    assert table.column_names == ["prompt", "chosen", "rejected"]
    rows = table.to_pylist()
    assert len(rows) == 3
    for row in rows:  # never an empty (or whitespace-only) string: Axolotl raises on them
        assert all(row[c].removesuffix(EOS).strip() for c in ("prompt", "chosen", "rejected"))
    inter, final, mixed = rows
    assert inter["chosen"] == STEPS[0] and inter["rejected"] == WRONG[0]  # intermediate: no EOS at all
    assert EOS not in inter["chosen"] + inter["rejected"]
    assert final["chosen"] == STEPS[2] + EOS and final["rejected"] == WRONG[2] + EOS
    assert mixed["chosen"] == STEPS[1] and mixed["rejected"].endswith("}\n" + EOS) and mixed["rejected"].count(EOS) == 1
    assert final["prompt"].endswith("\n") and final["prompt"].endswith(STEPS[0] + STEPS[1])


def test_export_is_idempotent_and_redone_when_its_pairs_change(tmp_path, tiny_model_dir):
    run = dpo_run(tmp_path, tiny_model_dir)
    first = export_iteration(run, 1)
    path, sidecar = first.path, first.path.with_name("export.json")
    mtimes = (path.stat().st_mtime_ns, sidecar.stat().st_mtime_ns)
    time.sleep(0.01)
    res = invoke("export", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0 and "already exported" in res.output and "(3 rows" in res.output
    assert (path.stat().st_mtime_ns, sidecar.stat().st_mtime_ns) == mtimes
    # the pairs change after export (a redone `psr pairs`): exported again, Axolotl's cache dropped
    pairs = demo_pairs(run.model_path(1))
    pairs[0]["chosen"] = "Step 1: 13 + 9 = 22 so far\n"
    write_table(run, "pairs", 1, "pairs", pairs)
    record_table(run, 1, "pairs")
    prepared_path(run, 1).mkdir(parents=True)
    res = invoke("export", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0 and "replaced" in res.output, res.output
    assert pq.read_table(path).column("chosen")[0].as_py() == "Step 1: 13 + 9 = 22 so far\n"
    assert not prepared_path(run, 1).exists()  # Axolotl's cache is keyed by config: must not survive
    again = invoke("export", "--run", run.root, "--iter", 1)
    assert "already exported" in again.output
    # an export file changed by hand is not "done": written back from the pairs
    path.write_bytes(b"not parquet")
    res = invoke("export", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0 and "replaced" in res.output, res.output
    assert pq.read_table(path).num_rows == 3


def test_with_eos_keeps_exactly_one_or_none():
    assert with_eos("Step 3: x\n", EOS, True) == "Step 3: x\n" + EOS
    assert with_eos("Step 3: x\n" + EOS + EOS, EOS, True) == "Step 3: x\n" + EOS
    assert with_eos("Step 2: y\n" + EOS, EOS, False) == "Step 2: y\n"
    assert with_eos("Step 2: y\n", "", True) == "Step 2: y\n"


def test_dpo_rows_drop_pairs_trl_would_cut(tiny_model_dir):
    """A prompt ending inside a word ("... The " | "answer ...") fails TRL's prefix check: dropped here."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    pairs = demo_pairs(tiny_model_dir)[:2]
    bad = dict(pairs[1], prompt=pairs[1]["prompt"] + "Step 3: The ", chosen="answer is \\boxed{18}\n")
    same = dict(pairs[0], rejected=pairs[0]["chosen"])
    rows, dropped = dpo_rows([*pairs, bad, same], EOS, tok)
    assert len(rows) == 2
    assert dropped == {"prompt not a token prefix": 1, "chosen == rejected": 1}


def test_export_iteration0_sft_from_train_split(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.ift_train=12", "init_data.eft_train=10", "init_data.eft_test=6",
                   "init_data.score_train=0")
    assert invoke("init-data", "--run", run.root).exit_code == 0
    res = invoke("export", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0 and "(22 rows)" in res.output, res.output
    rows = pq.read_table(run.trainer_dir(0) / "sft.parquet").to_pylist()
    assert len(rows) == 22  # 12 IFT + 10 EFT train rows; the 6 EFT test rows stay out
    for row in rows:
        prompt, completion = row["segments"]
        assert prompt["label"] is False and completion["label"] is True
        assert prompt["text"].strip() and completion["text"].endswith(EOS) and completion["text"].count(EOS) == 1
    assert sum("\\boxed{" in r["segments"][1]["text"] for r in rows) == 12
    mtime = (run.trainer_dir(0) / "sft.parquet").stat().st_mtime_ns
    assert "already exported" in invoke("export", "--run", run.root, "--iter", 0).output
    assert (run.trainer_dir(0) / "sft.parquet").stat().st_mtime_ns == mtime


def test_export_iteration0_renders_solution_scores_with_the_score_template(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.ift_train=4", "init_data.eft_train=4", "init_data.eft_test=2",
                   "init_data.score_train=6", "prompts.score=judge_srlm_arith")
    assert invoke("init-data", "--run", run.root).exit_code == 0
    assert invoke("export", "--run", run.root, "--iter", 0).exit_code == 0
    rows = pq.read_table(run.trainer_dir(0) / "sft.parquet").to_pylist()
    scored = [r for r in rows if "Score the solution from 0 to 5" in r["segments"][0]["text"]]
    assert len(rows) == 14 and len(scored) == 6
    assert all(re.search(r"Score: [0-5]" + re.escape(EOS) + "$", r["segments"][1]["text"]) for r in scored)
    assert all("Step 1: " in r["segments"][0]["text"] for r in scored)  # the scored solution is in the prompt


def test_export_iteration0_skipped_when_m1_given(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, f"models.M1={tiny_model_dir}")
    res = invoke("export", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0 and "skipped" in res.output
    assert not run.trainer_dir(0).exists()


def test_export_with_nothing_trainable_fails_in_one_line(tmp_path, tiny_model_dir):
    from tests.trainer_helpers import seal_pairs

    run = make_run(tmp_path, tiny_model_dir)
    add_model(run, 1, tiny_model_dir)
    seal_pairs(run, 1, demo_pairs(run.model_path(1))[3:])  # only the two rows with an empty field
    line = _one_line_error(invoke("export", "--run", run.root, "--iter", 1))
    assert "no step pairs to train on" in line and "1 dropped: empty rejected" in line
    assert not (run.trainer_dir(1) / "pairs.parquet").exists()

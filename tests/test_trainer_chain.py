"""Iteration 0 through the trainer commands as `make init` runs them, then a rerun that does no work."""

import pytest

from builder.store.done import marker_path
from builder.trainer.env import find_env
from tests.helpers import invoke
from tests.trainer_helpers import make_run

STEPS = [("init-data",), ("export", "--iter", 0), ("config", "--iter", 0), ("train", "--iter", 0, "--", "--max-steps", "2")]


def _snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.skipif(find_env(".venv-axolotl") is None, reason="needs the trainer venv (make trainer)")
def test_iteration0_chain_then_rerun_touches_nothing(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    # no IFT stage (on 48 IFT rows alone Axolotl's packed run stopped on a ZeroDivisionError); the e2e loop trains it
    run = make_run(tmp_path, tiny_model_dir, "init_data.ift_train=48", "init_data.eft_train=48", "init_data.eft_test=8",
                   "init_data.score_train=0", "init_data.own_steps.ift_steps=0")
    for cmd, *rest in STEPS:
        res = invoke(cmd, "--run", run.root, *rest)
        assert res.exit_code == 0, f"{cmd}: {res.output[-2000:]}"
    m1 = run.root / "models" / "M1"
    assert AutoModelForCausalLM.from_pretrained(m1).config.model_type == "qwen2"
    assert marker_path(run, "config/iteration=0").exists()  # Axolotl validated the SFT config
    before = _snapshot(run.root)
    outputs = [invoke(cmd, "--run", run.root, *rest).output for cmd, *rest in STEPS]
    assert "already sealed" in outputs[0] and "already exported" in outputs[1]
    assert "unchanged" in outputs[2] and "M1 exists; nothing to do" in outputs[3]
    assert _snapshot(run.root) == before

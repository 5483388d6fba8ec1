"""`psr train`: one-line failure without a trainer venv; a real `axolotl train` DPO step -> loadable M2."""

import pytest

from builder.store.model_ref import M1_GIVEN
from builder.trainer.env import find_env
from builder.trainer.export import export_iteration
from tests.helpers import invoke
from tests.trainer_helpers import add_model, calls, demo_pairs, dpo_run, fake_trainer, make_run, set_key


def test_train_without_trainer_env_says_what_to_run(tmp_path, tiny_model_dir):
    run = dpo_run(tmp_path, tiny_model_dir, f"trainer.env={tmp_path / 'no-such-venv'}")
    export_iteration(run, 1)
    assert invoke("config", "--run", run.root, "--iter", 1).exit_code == 0
    res = invoke("train", "--run", run.root, "--iter", 1)
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "make trainer" in lines[0] and "trainer.env" in lines[0]


def _one_line(res, code=2):
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == code and len(lines) == 1, res.output
    return lines[0]


def test_train_needs_its_export_and_a_current_config(tmp_path, tiny_model_dir):
    """Inputs are checked before the trainer environment: no venv needed to be told what to run first."""
    run = dpo_run(tmp_path, tiny_model_dir)
    assert f"psr export --run {run.root} --iter 1" in _one_line(invoke("train", "--run", run.root, "--iter", 1))
    export_iteration(run, 1)
    line = _one_line(invoke("train", "--run", run.root, "--iter", 1))
    assert "no Axolotl config" in line and f"psr config --run {run.root} --iter 1" in line
    assert invoke("config", "--run", run.root, "--iter", 1, "--no-validate").exit_code == 0
    set_key(run, "trainer.dpo.overrides.rl_beta=0.25")  # a key the config renders
    line = _one_line(invoke("train", "--run", run.root, "--iter", 1))
    assert "out of date" in line and f"psr config --run {run.root} --iter 1" in line


def test_train_skips_iteration0_when_m1_given(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, f"models.M1={tiny_model_dir}")
    res = invoke("train", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0 and M1_GIVEN in res.output  # the one message of the rule (builder/store/model_ref.py)
    assert not run.trainer_dir(0).exists() and not (run.models_dir() / "M1").exists()


@pytest.mark.slow
@pytest.mark.skipif(find_env(".venv-axolotl") is None, reason="needs the trainer venv (make trainer)")
def test_real_axolotl_dpo_step_writes_loadable_m2(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = dpo_run(tmp_path, tiny_model_dir)
    export_iteration(run, 1)
    assert invoke("config", "--run", run.root, "--iter", 1, "--no-validate").exit_code == 0
    res = invoke("train", "--run", run.root, "--iter", 1, "--", "--max-steps", "1")
    assert res.exit_code == 0, res.output[-3000:]
    m2 = run.root / "models" / "M2"
    model = AutoModelForCausalLM.from_pretrained(m2)
    tok = AutoTokenizer.from_pretrained(m2)
    assert model.config.num_hidden_layers == 4 and tok.eos_token == "<|im_end|>"
    import json

    lineage = json.loads((run.trainer_dir(1) / "trained.json").read_text())
    assert lineage["data"]["path"].endswith("iteration=1/pairs.parquet") and "weights_sha256" in lineage["model"]
    log = (run.trainer_dir(1) / "train.log").read_text()
    assert "builder.trainer.eos_dpo: TRL EOS append disabled" in log and "max-steps" in log.splitlines()[0]
    # idempotent: M2 exists and loads, so a rerun does no work and touches nothing
    before = {p: p.stat().st_mtime_ns for p in [*m2.iterdir(), *run.trainer_dir(1).iterdir()] if p.is_file()}
    again = invoke("train", "--run", run.root, "--iter", 1, "--", "--max-steps", "1")
    assert again.exit_code == 0 and "M2 exists; nothing to do" in again.output
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_train_is_redone_only_when_its_config_data_or_base_model_change(tmp_path, tiny_model_dir):
    """The done-check of `psr train`, with a stand-in `axolotl train` that copies the base model
    (tests/trainer_helpers.py fake_trainer: no Axolotl here); the real one: test_real_axolotl_dpo_step."""
    from builder.store import record_table, write_table

    venv_a, venv_b = fake_trainer(tmp_path / "venv-a"), fake_trainer(tmp_path / "venv-b")
    run = dpo_run(tmp_path, tiny_model_dir, f"trainer.env={venv_a}")

    def loop():  # what `make iter` runs after pairs
        for cmd in ("export", "config", "train"):
            res = invoke(cmd, "--run", run.root, "--iter", 1)
            assert res.exit_code == 0, res.output
        return res.output

    assert "trained M2" in loop() and calls(venv_a) == ["validate", "train"]
    assert "M2 exists; nothing to do" in loop() and calls(venv_a) == ["validate", "train"]
    set_key(run, f"trainer.env={venv_b}")  # not an input of the model
    assert "M2 exists; nothing to do" in loop() and calls(venv_b) == []
    pairs = demo_pairs(run.model_path(1))[:2]  # other pairs (a redone `psr pairs`): new data, so a new M2
    write_table(run, "pairs", 1, "pairs", pairs)
    record_table(run, 1, "pairs")
    assert "trained M2" in loop() and calls(venv_b) == ["train"]
    set_key(run, "trainer.dpo.overrides.rl_beta=0.25")  # a config key: validated again, trained again
    assert "trained M2" in loop() and calls(venv_b) == ["train", "validate", "train"]
    assert "M2 exists; nothing to do" in loop() and calls(venv_b) == ["train", "validate", "train"]


def test_config_and_train_without_a_model_name_the_previous_iteration(tmp_path, tiny_model_dir):
    """No M9 and no iteration 9 export: config and train write nothing and exit 2 naming the step to run."""
    run = make_run(tmp_path, tiny_model_dir)
    for cmd in ("config", "train"):
        line = _one_line(invoke(cmd, "--run", run.root, "--iter", 9))
        assert "model M9 not found" in line and f"psr train --run {run.root} --iter 8" in line
    add_model(run, 9, tiny_model_dir)
    for cmd in ("config", "train"):
        assert f"psr export --run {run.root} --iter 9" in _one_line(invoke(cmd, "--run", run.root, "--iter", 9))
    assert not run.trainer_dir(9).exists() and not (run.models_dir() / "M10").exists()


def test_the_trainer_sees_the_builder_package_and_nothing_installed_beside_it():
    """PYTHONPATH for Axolotl holds one folder whose only entry is the builder package: in a
    non-editable install builder's parent is this venv's site-packages, whose transformers/TRL must
    not shadow the trainer venv's."""
    import os
    from pathlib import Path

    import builder
    from builder.trainer.env import TrainerEnv, process_env

    env = process_env(TrainerEnv(Path("/nonexistent-venv")), offline=True)
    first = Path(env["PYTHONPATH"].split(os.pathsep)[0])
    assert [p.name for p in first.iterdir()] == ["builder"]
    assert (first / "builder").resolve() == Path(builder.__file__).resolve().parent


def test_trainer_threads_reach_accelerate_through_omp(monkeypatch):
    """accelerate pins a training process to one CPU thread unless OMP_NUM_THREADS is set:
    run.yaml trainer.threads sets it ('auto': every usable CPU); null leaves the caller's value."""
    import os
    from pathlib import Path

    from builder.trainer.env import TrainerEnv, process_env, usable_cpus

    venv = TrainerEnv(Path("/nonexistent-venv"))
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert process_env(venv, offline=True)["OMP_NUM_THREADS"] == "7"
    assert process_env(venv, offline=True, threads=3)["OMP_NUM_THREADS"] == "3"
    assert process_env(venv, offline=True, threads="auto")["OMP_NUM_THREADS"] == str(len(os.sched_getaffinity(0)))
    assert usable_cpus() >= 1


def test_trainer_threads_config_is_validated():
    import pytest

    from builder.config import validate_config
    from builder.errors import InputError

    base = {"name": "t", "task": "arithmetic"}
    assert validate_config({**base, "trainer": {"threads": "auto"}}, "run.yaml").trainer.threads == "auto"
    assert validate_config({**base, "trainer": {"threads": 2}}, "run.yaml").trainer.threads == 2
    assert validate_config(base, "run.yaml").trainer.threads is None
    for bad in (0, "many"):
        with pytest.raises(InputError, match=r"run.yaml: key 'trainer.threads"):
            validate_config({**base, "trainer": {"threads": bad}}, "run.yaml")


# The tail of a real failure: the IFT stage on 48 IFT rows, packed 16 x 256 (Axolotl 0.19 under accelerate).
PACKED_TOO_SMALL = """\
[2026-12-02 04:05:12,736] [INFO] [axolotl.utils.samplers.multipack] gather_len_batches: [0]
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/transformers/trainer.py", line 1807, in _run_epoch
    self.state.epoch = epoch + (step + 1) / steps_in_epoch
                               ~~~~~~~~~~~^~~~~~~~~~~~~~~~
ZeroDivisionError: division by zero
  0%|          | 0/5 [00:01<?, ?it/s]
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/accelerate/commands/launch.py", line 993, in simple_launcher
    raise subprocess.CalledProcessError(returncode=process.returncode, cmd=cmd)
subprocess.CalledProcessError: Command '['/venv/bin/python3', '-m', 'axolotl.cli.train', 'a.yaml']' returned non-zero exit status 1.
"""


def test_a_trainer_failure_is_named_by_its_own_exception_not_the_launchers(tmp_path):
    from builder.trainer.train import failure_line

    log = tmp_path / "train.log"
    log.write_text(PACKED_TOO_SMALL)
    line = failure_line(log)
    assert line.startswith("ZeroDivisionError: division by zero; ") and "lower micro_batch_size" in line
    log.write_text(PACKED_TOO_SMALL.replace("ZeroDivisionError: division by zero",
                                            "torch.OutOfMemoryError: CUDA out of memory."))
    assert failure_line(log) == "torch.OutOfMemoryError: CUDA out of memory."
    log.write_text("$ axolotl train a.yaml\nKilled\n")  # no traceback at all: the last line
    assert failure_line(log) == "Killed"
    assert failure_line(tmp_path / "missing.log") == "no log"

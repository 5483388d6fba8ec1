"""The DPO recipe keys (trainer.dpo.nll_weight, dpop_lambda) and the compute-matched control
(`--label replay`): rendered configs, the step count they match, the data they train on."""

import pyarrow.parquet as pq
import pytest
import yaml

from builder.errors import InputError
from builder.store import ModelRef
from builder.store.atomic import read_json
from builder.trainer.env import REPO_ROOT
from builder.trainer.render import config_path, render_config
from tests.helpers import invoke
from tests.trainer_helpers import add_model, demo_pairs, dpo_run, fake_trainer, make_run, seal_pairs

HAS_AXOLOTL = (REPO_ROOT / ".venv-axolotl" / "bin" / "axolotl").exists()


def test_nll_weight_renders_rpo_as_two_weighted_trl_losses(tmp_path, tiny_model_dir):
    plain = render_config(make_run(tmp_path / "a", tiny_model_dir), 1)
    assert plain["dpo_loss_type"] == ["sigmoid"] and "dpo_loss_weights" not in plain
    rpo = render_config(make_run(tmp_path / "b", tiny_model_dir, "trainer.dpo.nll_weight=0.5"), 1)
    assert rpo["dpo_loss_type"] == ["sigmoid", "sft"] and rpo["dpo_loss_weights"] == [1.0, 0.5]
    sft = render_config(make_run(tmp_path / "c", tiny_model_dir, "trainer.dpo.nll_weight=0.5",
                                 "init_data.own_steps.ift_steps=0"), 0)
    assert "dpo_loss_type" not in sft  # the SFT stage has no DPO loss


def test_nll_weight_and_an_explicit_loss_override_clash(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "trainer.dpo.nll_weight=1", "trainer.dpo.overrides.dpo_loss_type=[ipo]")
    with pytest.raises(InputError, match="trainer.dpo.overrides.dpo_loss_type"):
        render_config(run, 1)


def test_dpop_lambda_is_refused_in_one_line(tmp_path, tiny_model_dir):
    res = invoke("init", str(tmp_path / "r"), "--preset", "demo", "--set", "trainer.dpo.dpop_lambda=50")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "trainer.dpo.dpop_lambda" in lines[0] and "DPOP" in lines[0], res.output
    assert make_run(tmp_path, tiny_model_dir, "trainer.dpo.dpop_lambda=0").config.trainer.dpo.dpop_lambda == 0


def _replay_run(tmp_path, tiny_model_dir):
    """Iteration 0 from `psr init-data` (small), M1 = the tiny model, iteration 1 sealed with demo pairs,
    and the stand-in trainer (tests/trainer_helpers.py fake_trainer)."""
    venv = fake_trainer(tmp_path / "venv")
    run = make_run(tmp_path, tiny_model_dir, "init_data.ift_train=12", "init_data.eft_train=10", "init_data.eft_test=4",
                   "init_data.score_train=0", f"trainer.env={venv}")
    assert invoke("init-data", "--run", run.root).exit_code == 0
    add_model(run, 1, tiny_model_dir)
    seal_pairs(run, 1, demo_pairs(run.model_path(1)))
    return run


def _ok(*args):
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    return res


def test_replay_trains_iteration0_rows_for_the_judge_models_steps(tmp_path, tiny_model_dir):
    run = _replay_run(tmp_path, tiny_model_dir)
    r, it = ("--run", run.root), ("--iter", 1)
    assert "compute-matched control" in _ok("export", *r, *it, "--label", "replay").output
    res = invoke("config", *r, *it, "--label", "replay")  # M2 not trained: nothing to match
    assert res.exit_code == 2 and f"psr train --run {run.root} --iter 1`" in res.output, res.output
    for cmd in ("export", "config", "train"):  # the judge model M2, by the stand-in trainer
        _ok(cmd, *r, *it)
    steps = read_json(run.trainer_dir(1) / "trained.json")["optimizer_steps"]
    assert steps == pq.read_metadata(run.trainer_dir(1) / "pairs.parquet").num_rows  # what the trainer recorded
    _ok("config", *r, *it, "--label", "replay")
    cfg = yaml.safe_load(config_path(run, 1, "replay").read_text())
    assert cfg["max_steps"] == steps and "rl" not in cfg and cfg["datasets"][0]["type"] == "input_output"
    dpo = yaml.safe_load(config_path(run, 1).read_text())  # the same schedule as the model it controls for
    assert cfg["learning_rate"] == dpo["learning_rate"] == run.config.trainer.dpo.overrides["learning_rate"]
    assert cfg["learning_rate"] != run.config.trainer.sft.overrides["learning_rate"]
    assert cfg.get("warmup_steps") == dpo.get("warmup_steps") and cfg.get("warmup_ratio") == dpo.get("warmup_ratio")
    assert cfg["base_model"] == run.model_path(1) and cfg["output_dir"] == str(run.models_dir() / "M2-replay")
    _ok("export", *r, "--iter", 0)
    replay = pq.read_table(cfg["datasets"][0]["path"])
    assert cfg["datasets"][0]["path"].endswith("iteration=1/replay/sft.parquet")
    assert replay.num_rows == 22 and replay.equals(pq.read_table(run.trainer_dir(0) / "sft.parquet"))
    assert "trained M2-replay" in _ok("train", *r, *it, "--label", "replay").output
    assert run.require_model(2, "replay") == str(run.models_dir() / "M2-replay")
    assert "note" not in read_json(run.trainer_dir(1) / "replay" / "trained.json")  # not oracle-labelled


def test_replay_is_one_label_with_no_pairs(tmp_path, tiny_model_dir):
    ref = ModelRef.trained_by(1, "replay")
    assert (ref.name, ref.flag, ref.control, ref.from_pairs) == ("M2-replay", " --label replay", True, False)
    run = dpo_run(tmp_path, tiny_model_dir)
    res = invoke("pairs", "--run", run.root, "--iter", 1, "--label", "replay")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "not on pairs" in lines[0], res.output
    res = invoke("export", "--run", run.root, "--iter", 0, "--label", "replay")
    assert res.exit_code == 2 and "iteration 0" in res.output, res.output


@pytest.mark.slow
@pytest.mark.skipif(not HAS_AXOLOTL, reason="needs the trainer venv (make trainer)")
def test_recipe_configs_validate_with_axolotl(tmp_path, tiny_model_dir):
    """The RPO config and the replay control's config pass Axolotl's own validate/normalize_config."""
    from builder.trainer.axolotl_validate import validate_with_axolotl
    from builder.trainer.env import find_env
    from builder.trainer.render import render_text

    trainer = find_env(".venv-axolotl", REPO_ROOT)
    run = dpo_run(tmp_path, tiny_model_dir, "trainer.dpo.nll_weight=0.3")
    (run.trainer_dir(1) / "trained.json").parent.mkdir(parents=True, exist_ok=True)
    (run.trainer_dir(1) / "trained.json").write_text('{"optimizer_steps": 5}')  # stand-in for a trained M2
    for label, key, value in (("judge", "dpo_loss_weights", [1.0, 0.3]), ("replay", "max_steps", 5)):
        cfg = render_config(run, 1, label)
        assert cfg[key] == value
        path = tmp_path / f"{label}.yaml"
        path.write_text(render_text(cfg, 1))
        assert validate_with_axolotl(path, trainer, run.model_path(1))["normalized"] is True


@pytest.mark.slow
@pytest.mark.skipif(not HAS_AXOLOTL, reason="needs the trainer venv (make trainer)")
def test_real_rpo_step_adds_the_nll_term_and_records_its_steps(tmp_path, tiny_model_dir):
    """One real DPO step with nll_weight 1: before the first update the policy is the reference, so the
    DPO term is exactly ln 2 and anything above it in the logged loss is the chosen side's NLL."""
    import math
    import re

    from builder.trainer.export import export_iteration

    run = dpo_run(tmp_path, tiny_model_dir, "trainer.dpo.nll_weight=1")
    export_iteration(run, 1)
    _ok("config", "--run", run.root, "--iter", 1, "--no-validate")
    _ok("train", "--run", run.root, "--iter", 1, "--", "--max-steps", "1")
    assert read_json(run.trainer_dir(1) / "trained.json")["optimizer_steps"] == 1  # StepDPOTrainer recorded it
    losses = [float(x) for x in re.findall(r"'loss': '?([0-9.]+)", (run.trainer_dir(1) / "train.log").read_text())]
    assert losses and losses[0] > math.log(2) + 0.05, losses


def _replay_share_run(tmp_path, tiny_model_dir, share: float, *sets: str):
    run = make_run(tmp_path, tiny_model_dir, "init_data.ift_train=12", "init_data.eft_train=10", "init_data.eft_test=4",
                   "init_data.score_train=0", "trainer.dpo.nll_weight=1", f"trainer.dpo.replay_share={share}", *sets)
    assert invoke("init-data", "--run", run.root).exit_code == 0
    add_model(run, 1, tiny_model_dir)
    seal_pairs(run, 1, demo_pairs(run.model_path(1)))
    return run


def test_replay_share_adds_iteration0_rows_as_tie_pairs(tmp_path, tiny_model_dir):
    from builder.trainer.export import export_iteration

    run = _replay_share_run(tmp_path / "a", tiny_model_dir, 0.8)
    export_iteration(run, 1)
    rows = pq.read_table(run.trainer_dir(1) / "pairs.parquet").to_pylist()
    pairs = [r for r in rows if r["chosen"] != r["rejected"]]
    ties = [r for r in rows if r["chosen"] == r["rejected"]]
    assert len(pairs) == 3 and len(ties) == 12  # 0.8 of the file: 3 pairs x 0.8 / 0.2
    _ok("export", "--run", run.root, "--iter", 0)
    sft = pq.read_table(run.trainer_dir(0) / "sft.parquet").to_pylist()
    whole = {(s["segments"][0]["text"], s["segments"][1]["text"]) for s in sft}
    assert len({(t["prompt"], t["chosen"]) for t in ties}) == 12 and all((t["prompt"], t["chosen"]) in whole for t in ties)
    assert read_json(run.trainer_dir(1) / "export.json")["replay"] == {"share": 0.8, "rows": 12, "drawn_from": 22}
    again = _replay_share_run(tmp_path / "b", tiny_model_dir, 0.8)  # the same seed draws the same rows
    export_iteration(again, 1)
    assert pq.read_table(again.trainer_dir(1) / "pairs.parquet").to_pylist() == rows
    other = _replay_share_run(tmp_path / "c", tiny_model_dir, 0.99)  # more than iteration 0 holds: all of it
    export_iteration(other, 1)
    assert pq.read_metadata(other.trainer_dir(1) / "pairs.parquet").num_rows == 3 + 22


def test_replay_share_needs_the_nll_term(tmp_path):
    res = invoke("init", tmp_path / "r", "--preset", "demo", "--set", "trainer.dpo.replay_share=0.5")
    assert res.exit_code == 2 and "nll_weight" in res.output and "Traceback" not in res.output, res.output


@pytest.mark.slow
@pytest.mark.skipif(not HAS_AXOLOTL, reason="needs the trainer venv (make trainer)")
def test_real_dpo_trains_on_the_replayed_tie_pairs(tmp_path, tiny_model_dir):
    """TRL keeps the tie pairs: one epoch of 3 pairs + 12 replayed rows at micro batch 1 is 15 optimizer steps
    (a trainer that dropped chosen == rejected rows would take 3)."""
    from builder.trainer.export import export_iteration

    run = _replay_share_run(tmp_path, tiny_model_dir, 0.8, "trainer.dpo.overrides.micro_batch_size=1")
    export_iteration(run, 1)
    _ok("config", "--run", run.root, "--iter", 1, "--no-validate")
    _ok("train", "--run", run.root, "--iter", 1)
    assert read_json(run.trainer_dir(1) / "trained.json")["optimizer_steps"] == 15

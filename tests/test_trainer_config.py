"""`psr config`: per-iteration Axolotl configs from templates + run.yaml, validated by Axolotl itself."""

from pathlib import Path

import pytest
import yaml

from builder.errors import InputError, PsrError
from builder.trainer.env import REPO_ROOT
from builder.trainer.export import export_iteration
from builder.trainer.render import config_path, render_config, write_config
from tests.helpers import invoke
from tests.trainer_helpers import calls, dpo_run, fake_trainer, make_run, set_key

HAS_AXOLOTL = (REPO_ROOT / ".venv-axolotl" / "bin" / "axolotl").exists()


def test_dpo_config_chains_iterations(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir)
    cfg = render_config(run, 2)
    assert cfg["base_model"] == str(run.root / "models" / "M2")
    assert cfg["output_dir"] == str(run.root / "models" / "M3")
    assert cfg["dataset_prepared_path"] == str(run.root / "trainer" / "iteration=2" / "prepared")
    assert cfg["datasets"] == [{"path": str(run.root / "trainer" / "iteration=2" / "pairs.parquet"), "split": "train"}]
    assert cfg["rl"] == "dpo" and cfg["trainer_cls"] == "builder.trainer.eos_dpo.StepDPOTrainer"
    assert cfg["seed"] == run.config.seed and isinstance(cfg["seed"], int)
    # demo preset: CPU values on top of the template
    assert (cfg["bf16"], cfg["fp16"], cfg["tf32"]) == (False, False, False) and "warmup_ratio" not in cfg
    assert not any("{{" in str(v) for v in cfg.values())


def test_sft_config_uses_m0_and_sft_file(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=0")  # with the stage: test_own_stage.py
    cfg = render_config(run, 0)
    assert cfg["base_model"] == str(tiny_model_dir) and cfg["output_dir"] == str(run.root / "models" / "M1")
    assert cfg["datasets"][0]["path"].endswith("iteration=0/sft.parquet") and cfg["datasets"][0]["type"] == "input_output"
    assert "rl" not in cfg and "trainer_cls" not in cfg


def test_paper_preset_values(tmp_path):
    from builder.store import init_run

    run = init_run(tmp_path / "q", "qwen2.5-math-7b", [])
    dpo, sft = render_config(run, 1), render_config(run, 0)
    assert (dpo["learning_rate"], dpo["num_epochs"], dpo["rl_beta"]) == (5e-7, 1, 0.1)
    assert (sft["learning_rate"], sft["num_epochs"]) == (1e-6, 3)
    for cfg in (dpo, sft):  # global batch 32 on the preset's 8 GPUs, full parameter, bf16, ZeRO-3
        assert cfg["micro_batch_size"] * cfg["gradient_accumulation_steps"] * 8 == 32
        assert cfg["bf16"] is True and "adapter" not in cfg
        ds = Path(cfg["deepspeed"])
        assert ds.is_absolute() and yaml.safe_load(ds.read_text())["zero_optimization"]["stage"] == 3
    assert sft["base_model"] == "Qwen/Qwen2.5-Math-7B"


def test_overrides_deep_merge_and_fixed_keys(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "trainer.dpo.overrides.rl_beta=0.25",
                   "trainer.dpo.overrides.logging_steps=null", "trainer.dpo.overrides.special_tokens={pad_token: x}")
    cfg = render_config(run, 1)
    assert cfg["rl_beta"] == 0.25 and "logging_steps" not in cfg and cfg["special_tokens"] == {"pad_token": "x"}
    assert cfg["micro_batch_size"] == 8  # the preset's other overrides survive
    bad = make_run(tmp_path / "b", tiny_model_dir, "trainer.dpo.overrides.output_dir=/tmp/elsewhere")
    with pytest.raises(InputError, match="trainer.dpo.overrides.output_dir"):
        render_config(bad, 1)


def test_m1_given_skips_iteration0(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, f"models.M1={tiny_model_dir}")
    with pytest.raises(PsrError, match="models.M1"):
        render_config(run, 0)
    assert render_config(run, 1)["base_model"] == str(tiny_model_dir)


def test_rerender_touches_nothing(tmp_path, tiny_model_dir):
    run = dpo_run(tmp_path, tiny_model_dir)
    export_iteration(run, 1)
    path, changed = write_config(run, 1)
    mtime = path.stat().st_mtime_ns
    assert changed and write_config(run, 1) == (path, False) and path.stat().st_mtime_ns == mtime
    res = invoke("config", "--run", run.root, "--iter", 1, "--no-validate")
    assert res.exit_code == 0 and "unchanged" in res.output and path.stat().st_mtime_ns == mtime


def test_validation_depends_on_the_config_not_on_where_the_trainer_venv_lives(tmp_path, tiny_model_dir):
    """Axolotl's verdict is kept while the config and the Axolotl version are the same; a stand-in
    trainer venv counts the validations (tests/trainer_helpers.py fake_trainer: no Axolotl here)."""
    venv_a, venv_b = fake_trainer(tmp_path / "venv-a"), fake_trainer(tmp_path / "venv-b")
    run = dpo_run(tmp_path, tiny_model_dir, f"trainer.env={venv_a}")
    export_iteration(run, 1)
    config = ("config", "--run", run.root, "--iter", 1)
    res = invoke(*config)
    assert res.exit_code == 0 and "written" in res.output and "valid for Axolotl 0.19.0" in res.output, res.output
    assert "unchanged" in invoke(*config).output and calls(venv_a) == ["validate"]
    set_key(run, f"trainer.env={venv_b}")  # where the venv lives: not in the config
    res = invoke(*config)
    assert "unchanged" in res.output and "validated by Axolotl" in res.output and calls(venv_b) == []
    run.config_path.write_text(yaml.safe_dump(yaml.safe_load(run.config_path.read_text()), sort_keys=True))
    res = invoke(*config)  # the overrides in another order: another text, the same config
    assert "written" in res.output and "validated by Axolotl" in res.output and calls(venv_b) == []
    set_key(run, "trainer.dpo.overrides.rl_beta=0.25")  # a key the config renders
    res = invoke(*config)
    assert "written" in res.output and "valid for Axolotl" in res.output and calls(venv_b) == ["validate"]
    assert "rl_beta: 0.25" in config_path(run, 1).read_text()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_AXOLOTL, reason="needs the trainer venv (make trainer)")
def test_configs_validate_with_axolotl(tmp_path, tiny_model_dir):
    """Both stages pass Axolotl's validate_config + normalize_config; a broken override fails in one line."""
    from builder.store.done import marker_path

    run = dpo_run(tmp_path, tiny_model_dir)
    export_iteration(run, 1)
    run.trainer_dir(0).mkdir(parents=True)
    (run.trainer_dir(0) / "sft.parquet").write_bytes(b"")  # config needs an export; validation does not read it
    for n in (0, 1):
        res = invoke("config", "--run", run.root, "--iter", n)
        assert res.exit_code == 0 and "valid for Axolotl 0.19.0" in res.output, res.output
        assert marker_path(run, f"config/iteration={n}").exists()
    again = invoke("config", "--run", run.root, "--iter", 1)  # unchanged: not re-validated, nothing written
    assert "unchanged" in again.output and "validated by Axolotl" in again.output
    broken = dpo_run(tmp_path / "broken", tiny_model_dir, "trainer.dpo.overrides.learning_rate=fast")
    export_iteration(broken, 1)
    res = invoke("config", "--run", broken.root, "--iter", 1)
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Axolotl rejects it" in lines[0] and "learning_rate" in lines[0], res.output

"""Iteration 0's IFT stage (init_data.own_steps): what it trains from and into, and its failures.
The real Axolotl run of the stage and the rows it yields are checked end to end in test_e2e_loop.py."""


from builder.initdata.own_stage import stage_config, stage_model, uses_stage
from builder.store import is_sealed, part_paths
from builder.trainer.render import render_config
from tests.helpers import invoke
from tests.trainer_helpers import make_run

IFT = [{"problem": "13 + 9 - 4", "solution": "Step 1: 13 + 9 = 22\nStep 2: 22 - 4 = 18\nStep 3: The answer is \\boxed{18}\n",
        "answer": "18"}]


def test_stage_trains_m0_on_ift_alone_and_iteration0_continues_from_it(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=7", "trainer.sft.overrides.max_steps=11")
    assert uses_stage(run)
    cfg = stage_config(run, IFT)
    assert cfg["base_model"] == str(tiny_model_dir) and cfg["output_dir"] == str(stage_model(run))
    assert cfg["max_steps"] == 7 and cfg["learning_rate"] == run.config.trainer.sft.overrides["learning_rate"]
    assert cfg["datasets"][0]["path"].endswith("iteration=0/ift/sft.parquet")
    import pyarrow.parquet as pq

    segments = pq.read_table(cfg["datasets"][0]["path"]).to_pylist()[0]["segments"]
    assert "13 + 9 - 4" in segments[0]["text"] and segments[1]["text"].startswith("Step 1: 13 + 9 = 22")
    main = render_config(run, 0)
    assert main["base_model"] == str(stage_model(run)) and main["max_steps"] == 11


def test_without_the_stage_iteration0_trains_from_m0(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=0")
    assert not uses_stage(run) and render_config(run, 0)["base_model"] == str(tiny_model_dir)


def test_stage_without_trainer_env_fails_in_one_line_and_leaves_iteration0_unsealed(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=5", "init_data.ift_train=20",
                   "init_data.eft_train=20", "init_data.eft_test=4", "init_data.score_train=0",
                   f"trainer.env={tmp_path / 'no-such-venv'}")
    res = invoke("init-data", "--run", run.root)
    assert res.exit_code == 1 and "make trainer" in res.output, res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1
    assert not is_sealed(run, 0) and not [p for p in part_paths(run, "eft", 0) if "own" in p.name]


def test_train_iteration0_without_m0_ift_names_init_data(tmp_path, tiny_model_dir):
    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=5")
    run.trainer_dir(0).mkdir(parents=True)
    (run.trainer_dir(0) / "sft.parquet").write_bytes(b"")  # config and train need an export; its content is not read
    assert invoke("config", "--run", run.root, "--iter", 0, "--no-validate").exit_code == 0
    res = invoke("train", "--run", run.root, "--iter", 0)
    assert res.exit_code == 2 and "M0-ift" in res.output and f"psr init-data --run {run.root}" in res.output, res.output


def test_the_stage_samples_on_exactly_the_problems_it_names(tmp_path, tiny_model_dir, monkeypatch):
    # The real `psr init-data` path with the tiny model as M0-ift (already there, so nothing trains)
    # and the real hf engine; the engine is wrapped only to see which prompts it was given, so
    # tests/test_heldout_disjoint.py can rely on sampled_problems() instead of copying the draw.
    import shutil

    import builder.engines
    from builder.initdata.own_stage import sampled_problems
    from builder.tasks import get_task

    run = make_run(tmp_path, tiny_model_dir, "init_data.own_steps.ift_steps=5", "init_data.own_steps.problems=5",
                   "init_data.own_steps.width=2", "init_data.ift_train=20", "init_data.eft_train=20",
                   "init_data.eft_test=4", "init_data.score_train=0", "engine.threads=1")
    shutil.copytree(tiny_model_dir, stage_model(run))
    seen, real_load = [], builder.engines.load_engine

    class Seeing:
        def __init__(self, engine):
            self.engine = engine

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def generate(self, requests):
            seen.extend(r.prompt for r in requests)
            return self.engine.generate(requests)

    monkeypatch.setattr(builder.engines, "load_engine", lambda *a, **k: Seeing(real_load(*a, **k)))
    res = invoke("init-data", "--run", run.root)
    assert res.exit_code == 0 and is_sealed(run, 0), res.output
    problems = sampled_problems(run, get_task(run.config.task, **run.config.task_options))
    assert len(problems) == len(seen) == 5
    assert all(p in prompt for p, prompt in zip(problems, seen))

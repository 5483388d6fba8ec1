"""Iteration 0's IFT stage and own-step judge data (run.yaml init_data.own_steps).

The paper's EFT pairs come from the policy's own search, labelled outside the policy. With
init_data.own_steps.ift_steps > 0, `psr init-data` (task source) does the same before it seals
iteration 0:

1. M0 -> RUN/models/M0-ift: `ift_steps` SFT steps on the IFT train rows alone (the trainer.sft
   template and overrides, max_steps = ift_steps; files in RUN/trainer/iteration=0/ift/);
2. M0-ift samples `width` next steps after a gold prefix on `problems` train problems, and the
   task's step checker labels them (builder/initdata/own_steps.py); a site with a correct and a
   wrong step gives one pair in both A/B orders, written as the eft table's part `own-steps`;
3. iteration 0's SFT (`psr export/config/train --iter 0`) then continues from M0-ift, so
   trainer.sft.overrides.max_steps counts the steps after the stage.

The checker labels iteration 0 only; from iteration 1 on nothing but the model judges. A rerun
after an interruption reuses M0-ift when it loads.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from builder.errors import InputError
from builder.store import Run, atomic
from builder.trainer.render import stage_model, uses_stage

__all__ = ["SOURCE", "own_step_rows", "stage_config", "stage_model", "uses_stage"]

SOURCE = "own-steps"


def stage_dir(run: Run) -> Path:
    return run.trainer_dir(0) / "ift"


def own_step_rows(run: Run, task, ift: list[dict], echo=sys.stderr) -> tuple[list[dict], dict]:
    """Train M0-ift (unless it exists), sample and label its steps: EFT examples and a summary."""
    if not hasattr(task, "chains"):
        raise InputError(f"init_data.own_steps: task {task.name!r} cannot sample labelled steps (set ift_steps to 0)")
    start = time.monotonic()
    model = train_stage(run, ift, echo)
    trained = time.monotonic() - start
    rows, counts = sample_own(run, task, model, echo)
    return rows, {"model": str(model), "sites": counts.sites, "samples": counts.samples, "mixed": counts.mixed,
                  "rows": counts.rows, "distinct": {str(k): v for k, v in sorted(counts.distinct.items())},
                  "train_seconds": round(trained, 1), "sample_seconds": round(time.monotonic() - start - trained, 1)}


def train_stage(run: Run, ift: list[dict], echo=sys.stderr) -> Path:
    """M0 -> M0-ift by Axolotl SFT on the IFT rows alone."""
    from builder.trainer.env import is_local_model, require_env
    from builder.trainer.render import render_text
    from builder.trainer.train import model_problem, run_axolotl

    out = stage_model(run)
    if model_problem(out) is None:
        return out
    trainer = require_env(run.config.trainer.env, run.root)
    cfg = stage_config(run, ift)
    path = stage_dir(run) / "axolotl.yaml"
    atomic.write_text(path, render_text(cfg, 0))
    shutil.rmtree(cfg["dataset_prepared_path"], ignore_errors=True)  # an interrupted run's cache
    steps = run.config.init_data.own_steps.ift_steps
    echo.write(f"iteration 0, IFT stage: M0 -> {out} ({steps} SFT steps on {len(ift)} IFT rows)\n")
    run_axolotl(run, trainer, path, out, stage_dir(run) / "train.log", "in iteration 0's IFT stage",
                is_local_model(run.model_path(0)), echo=echo)
    return out


def stage_config(run: Run, ift: list[dict]) -> dict:
    """Write the stage's input file; its Axolotl config: iteration 0's, from M0, for ift_steps steps."""
    from builder.ids import rows_digest
    from builder.prompts import load_template
    from builder.trainer.export import renderer_for, write_parquet
    from builder.trainer.render import render_stage
    from builder.trainer.sft import sft_rows

    prompts = run.config.prompts
    rows = sft_rows(ift, [], renderer_for(run.require_model(0), 0), reasoning_tmpl=load_template(prompts.reasoning),
                    judge_tmpl=load_template(prompts.judge))
    data = stage_dir(run) / "sft.parquet"
    write_parquet(data, rows, rows_digest(rows), sft=True)
    values = {"base_model": run.model_path(0), "output_dir": str(stage_model(run)), "dataset": str(data),
              "dataset_prepared_path": str(stage_dir(run) / "prepared"), "seed": run.config.seed}
    return render_stage(run, run.config.trainer.sft, "sft", values,
                        extra={"max_steps": run.config.init_data.own_steps.ift_steps})


def _draw(run: Run) -> tuple[int, int]:
    """How many train problems the stage samples on, and the seed of their draw."""
    return run.config.init_data.own_steps.problems, run.config.seed


def sampled_problems(run: Run, task) -> list[str]:
    """The texts of the train problems M0-ift samples its own steps on."""
    from builder.initdata.own_steps import site_chains

    return [c.text for c in site_chains(task, *_draw(run))]


def sample_own(run: Run, task, model: Path, echo=sys.stderr):
    from builder.engines import load_engine
    from builder.initdata.own_steps import own_step_examples
    from builder.prompts import ChatRenderer, load_template

    cfg, opts = run.config, run.config.init_data.own_steps
    echo.write(f"iteration 0, own steps: {model.name} samples {opts.width} steps on {opts.problems} train problems\n")
    engine = load_engine(cfg.engine.name, str(model), cfg.engine)
    return own_step_examples(task, engine, ChatRenderer(str(model)), load_template(cfg.prompts.reasoning), *_draw(run),
                             width=opts.width, temperature=opts.temperature, top_p=cfg.search.top_p,
                             max_tokens=cfg.search.max_step_tokens)

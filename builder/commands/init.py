"""`psr init`: create a run directory with a frozen run.yaml from a preset."""

from __future__ import annotations

import click

from builder.commands.options import say
from builder.config import preset_names


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--preset", required=True, help=f"Preset name: {', '.join(preset_names())} (builder/presets/).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. search.width=4 (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite an existing run.yaml.")
def init(run_dir, preset, overrides, force):
    """Create RUN_DIR/run.yaml from a preset; the config is then frozen for the run.

    \b
    Example:
      psr init runs/demo --preset demo --set search.width=4 --set problems.per_iteration=[32]
    """
    from builder.store import init_run

    run = init_run(run_dir, preset, list(overrides), force=force)
    say(f"initialized {run.config_path} (preset {preset}, {len(overrides)} override(s))")

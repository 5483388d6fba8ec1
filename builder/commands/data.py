"""`psr init-data`: iteration-0 data (IFT and EFT)."""

from __future__ import annotations

import click

from builder.commands.options import not_yet, run_option


@click.command("init-data")
@run_option
def init_data(run_dir):
    """Write iteration 0's IFT and EFT tables (with an EFT test split) from the task plugin."""
    not_yet("init-data", "Trainer hand-off")

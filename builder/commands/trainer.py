"""`psr export`, `psr config`, `psr train`: hand an iteration to Axolotl."""

from __future__ import annotations

import click

from builder.commands.options import iter_option, not_yet, run_option

ISSUE = "Trainer hand-off"


@click.command()
@run_option
@iter_option
def export(run_dir, iteration):
    """Write iteration N's immutable trainer input file."""
    not_yet("export", ISSUE)


@click.command()
@run_option
@iter_option
def config(run_dir, iteration):
    """Render RUN/trainer/iteration=N/axolotl.yaml."""
    not_yet("config", ISSUE)


@click.command(context_settings={"ignore_unknown_options": True})
@run_option
@iter_option
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def train(run_dir, iteration, extra):
    """Run `axolotl train` on iteration N's config in the trainer environment."""
    not_yet("train", ISSUE)

"""`psr generate`, `psr seal`, `psr pairs`: the step-wise self-judged search and its pairs."""

from __future__ import annotations

import click

from builder.commands.options import force_option, iter_option, not_yet, quiet_option, run_option

ISSUE = "Step-wise self-judged search"


@click.command()
@run_option
@iter_option
@click.option("--shard", help="I/K: only the chunks of shard I of K.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first K problems.")
@force_option
@quiet_option
def generate(run_dir, iteration, shard, limit, force, quiet):
    """Search over iteration N's problems with M(N); writes trees, nodes and judgments."""
    not_yet("generate", ISSUE)


@click.command()
@run_option
@iter_option
def seal(run_dir, iteration):
    """Check every chunk is present and write the iteration's manifest."""
    not_yet("seal", ISSUE)


@click.command()
@run_option
@iter_option
@force_option
def pairs(run_dir, iteration, force):
    """Extract best-vs-worst step pairs from a sealed iteration."""
    not_yet("pairs", ISSUE)

"""`psr eval`, `psr eval-judge`: accuracy of M(N) and of its judge."""

from __future__ import annotations

import click

from builder.commands.options import iter_option, not_yet, run_option

ISSUE = "Evaluation and judge analysis"


@click.command("eval")
@run_option
@iter_option
@click.option("--bench", "benches", multiple=True, help="Benchmark: task, task:NAME, a file or a Hub id (repeatable).")
@click.option("--mode", type=click.Choice(["greedy", "search"]), default="greedy", show_default=True)
@click.option("--limit", type=click.IntRange(min=1))
def eval_cmd(run_dir, iteration, benches, mode, limit):
    """Solve held-out problems with M(N) and grade them."""
    not_yet("eval", ISSUE)


@click.command("eval-judge")
@run_option
@iter_option
@click.option("--pairs", "pairs_src", help="Labeled step pairs: a file, or task (the EFT test split).")
def eval_judge(run_dir, iteration, pairs_src):
    """The judge's accuracy on labeled step pairs, in both orders."""
    not_yet("eval-judge", ISSUE)

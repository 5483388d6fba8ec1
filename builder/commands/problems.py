"""`psr problems add`: import problems for an iteration."""

from __future__ import annotations

import click

from builder.commands.options import force_option, iter_option, report_removed, run_option, say


@click.group()
def problems():
    """Manage the problems each iteration searches over."""


@problems.command("add")
@click.argument("source", required=False)
@run_option
@iter_option
@click.option("--limit", type=click.IntRange(min=1), help="Number of problems (default: problems.per_iteration of the config).")
@click.option("--split", help="Split of the source (default: problems.split of the config).")
@click.option("--field", "fields", multiple=True, metavar="DST=SRC", help="Map a source column, e.g. problem=question.")
@click.option("--if-needed", is_flag=True, help="Do nothing when the iteration is sealed or already has problems (for make).")
@force_option
def add(source, run_dir, iteration, limit, split, fields, if_needed, force):
    """Add problems to iteration N from SOURCE (default: problems.source of the config).

    SOURCE is a local .parquet/.jsonl/.json/.csv file, a Hugging Face dataset id, or task:NAME.
    Problems already used by an earlier iteration, and duplicates, are dropped and counted.

    \b
    Examples:
      psr problems add task:arithmetic --run runs/demo --iter 1 --limit 64
      psr problems add gsm8k.jsonl --run R --iter 1 --field problem=question
    """
    from builder.problems import add_problems
    from builder.store import Run

    res = add_problems(Run.open(run_dir), iteration, source, split, limit, list(fields), force=force, if_needed=if_needed)
    if res.skipped:
        say(f"iteration {iteration} already has its problems; nothing to do")
        return
    report_removed(res.removed)
    say(f"iteration {iteration}: added {res.added} problems from {res.source} "
        f"(dropped {res.duplicates} duplicates, {res.already_used} used by earlier iterations)")

"""`psr validate`: check every sealed file against its manifest."""

from __future__ import annotations

import click

from builder.commands.options import run_option, say
from builder.errors import PsrError


@click.command()
@run_option
@click.option("--iter", "iteration", type=click.IntRange(min=0), help="Only this iteration (default: every sealed one).")
def validate(run_dir, iteration):
    """Check files against manifests (sha256, row counts, schema, missing or extra files).

    Exits non-zero on any mismatch, naming the file.

    \b
    Example: psr validate --run runs/demo --iter 1
    """
    from builder.store import Run, check_sealed_files

    run = Run.open(run_dir)
    problems, checked = check_sealed_files(run, iteration)
    for p in problems:
        click.echo(p)
    if problems:
        raise PsrError(f"{len(problems)} problem(s) in {checked} sealed file(s)")
    say(f"ok: {checked} sealed file(s) match their manifests")

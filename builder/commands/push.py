"""`psr push`: publish sealed iterations to the Hugging Face Hub."""

from __future__ import annotations

import click

from builder.commands.options import not_yet, run_option


@click.command()
@run_option
@click.option("--repo", required=True, help="Dataset repo ORG/NAME.")
@click.option("--iter", "iterations", multiple=True, type=click.IntRange(min=0), help="Iteration(s) to push (default: all sealed).")
@click.option("--private", is_flag=True)
@click.option("--dry-run", "dry_run", type=click.Path(file_okay=False), help="Write the folder that would be uploaded to DIR; upload nothing.")
def push(run_dir, repo, iterations, private, dry_run):
    """Publish sealed iterations as a Hugging Face dataset."""
    not_yet("push", "Hub")

"""`psr report`: judge consistency, accuracy and drift per iteration."""

from __future__ import annotations

import click

from builder.commands.options import not_yet, run_option


@click.command()
@run_option
@click.option("--out", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
def report(run_dir, out, fmt):
    """Write the run's report (Markdown with plots, or JSON)."""
    not_yet("report", "Evaluation and judge analysis")

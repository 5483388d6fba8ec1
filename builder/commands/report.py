"""`psr report`: judge consistency, accuracy and drift per iteration."""

from __future__ import annotations

import click

from builder.commands.options import run_option, say


@click.command()
@run_option
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUN/report/).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="md: report.md with PNG plots under plots/; json: report.json with every figure.")
def report(run_dir, out, fmt):
    """Write the run's report (Markdown with plots, or JSON), computed by the DuckDB queries in builder/sql/.

    Per iteration: volume, judge consistency (swap consistency, first-position rate, unparseable
    rate, intransitive triads, all-tie rate, score spread), judge vs step correctness, outcome
    accuracy, step-count and step-length drift, and held-out eval accuracy.

    \b
    Examples:
      psr report --run runs/demo                 # runs/demo/report/report.md + plots/*.png
      psr report --run runs/demo --format json --out /tmp/r
    """
    from builder.analysis.report import write_report
    from builder.store import Run

    path, rep = write_report(Run.open(run_dir), out, fmt)
    its = rep["iterations"]
    say(f"report: {len(its)} iteration(s) with data ({', '.join(map(str, its)) or 'none'}) -> {path}")
    click.echo(str(path))

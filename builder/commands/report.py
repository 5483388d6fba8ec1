"""`psr report`: judge consistency, accuracy and drift per iteration."""

from __future__ import annotations

import click

from builder.commands.options import run_option, say


@click.command()
@run_option
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUN/report/).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="md: report.md with PNG plots under plots/; json: report.json with every figure.")
@click.option("--compare", "compare", multiple=True, type=click.Path(file_okay=False),
              help="Another run to put side by side with --run (repeatable): compare.md/json (default out: RUN/report/compare/).")
def report(run_dir, out, fmt, compare):
    """Write the run's report (Markdown with plots, or JSON), computed by the DuckDB queries in builder/sql/.

    Per iteration: volume, judge consistency (swap consistency, first-position rate, unparseable
    rate, intransitive triads, all-tie rate, score spread), judge vs step correctness, outcome
    accuracy, step-count and step-length drift, and held-out eval accuracy.

    \b
    Examples:
      psr report --run runs/demo                 # runs/demo/report/report.md + plots/*.png
      psr report --run runs/demo --format json --out /tmp/r
      psr report --run runs/demo --compare runs/demo-srlm   # PSR vs its SRLM baseline, side by side

    With --compare: held-out accuracy of every model per run (95 % Wilson intervals), the paired
    difference to --run on the same problems (exact McNemar), pairs per problem, right-over-wrong
    share, judge calls and generated tokens per problem, wall times, and one accuracy plot. Runs
    evaluated on different held-out problems are refused (exit 2).
    """
    if compare:
        return _compare(run_dir, compare, out, fmt)
    from builder.analysis.report import write_report
    from builder.store import Run

    path, rep = write_report(Run.open(run_dir), out, fmt)
    its = rep["iterations"]
    say(f"report: {len(its)} iteration(s) with data ({', '.join(map(str, its)) or 'none'}) -> {path}")
    click.echo(str(path))


def _compare(run_dir, others, out, fmt):
    from builder.analysis.compare import write_comparison
    from builder.store import Run

    runs = [Run.open(run_dir)] + [Run.open(o) for o in others]
    path, rep = write_comparison(runs, out, fmt)
    say(f"compare: {len(runs)} runs, {len(rep['accuracy'])} model evaluations, {len(rep['paired'])} paired -> {path}")
    click.echo(str(path))

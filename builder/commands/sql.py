"""`psr sql`: DuckDB over every table of a run."""

from __future__ import annotations

import click

from builder.commands.options import run_option


@click.command()
@click.argument("query", required=False)
@run_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout (required for parquet).")
@click.option("--views", is_flag=True, help="Print the CREATE VIEW statements (paste them into the DuckDB CLI).")
def sql(query, run_dir, fmt, out, views):
    """Run QUERY with one view per table (problems, trees, nodes, judgments, pairs, evals, ift, eft).

    \b
    Examples:
      psr sql "SELECT iteration, status, count(*) FROM trees GROUP BY ALL" --run runs/demo
      psr sql "SELECT depth, avg(wins) FROM nodes WHERE duplicate_of IS NULL GROUP BY depth" --run runs/demo --format csv
      psr sql --views --run runs/demo | duckdb
    """
    from pathlib import Path

    from builder.query import result_text, run_query, view_statements, write_result
    from builder.store import Run

    if out and fmt == "table":
        raise click.UsageError("--out writes csv, json or parquet; add --format csv (or json, parquet)")
    run = Run.open(run_dir)
    if views:
        click.echo("\n".join(view_statements(run)))
        return
    if not query:
        raise click.UsageError("give a QUERY (or --views)")
    if fmt == "parquet" and not out:
        raise click.UsageError("--format parquet needs --out FILE")
    table = run_query(run, query)
    if out:
        write_result(table, fmt, Path(out))
    elif fmt == "table":
        _print_table(table)
    else:
        click.echo(result_text(table, fmt), nl=False)


def _print_table(table) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(*table.column_names, show_lines=False)
    for row in table.to_pylist():
        t.add_row(*("" if v is None else str(v) for v in row.values()))
    Console().print(t)
    click.echo(f"{table.num_rows} row(s)", err=True)

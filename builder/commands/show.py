"""`psr show`: one search tree in the terminal (rich) or as one HTML page, instead of reading SQL."""

from __future__ import annotations

import sys

import click

from builder.commands.options import iter_option, run_option, say


@click.command()
@run_option
@iter_option
@click.option("--problem", "problem_id", help="Show the tree of this problem id.")
@click.option("--tree", "tree_id", help="Show this tree id.")
@click.option("--worst", type=click.IntRange(min=1), metavar="K",
              help="Show the K trees with the most wrong-over-right pairs (chosen step wrong, rejected right).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write the same as one self-contained HTML page.")
@click.option("--width", type=click.IntRange(min=60), default=110, show_default=True, help="Text width.")
def show(run_dir, iteration, problem_id, tree_id, worst, html_file, width):
    """Render search trees of iteration N: each round's candidates with their duplicates, the verdict
    matrix with positions, wins, the outcome (accepted step or rollback), step correctness where the
    task checks it, the pair the round produced, and the accepted path.

    \b
    Examples:
      psr show --run runs/demo --iter 1 --worst 3
      psr show --run runs/demo --iter 1 --problem 3f2a... --html tree.html
    """
    from pathlib import Path

    from builder.analysis.tree_render import render
    from builder.analysis.tree_view import trees_to_show
    from builder.errors import InputError
    from builder.store import Run
    from builder.store.atomic import write_text

    if sum(x is not None for x in (problem_id, tree_id, worst)) != 1:
        raise InputError("psr show: give exactly one of --problem ID, --tree ID, --worst K")
    views = trees_to_show(Run.open(run_dir), iteration, problem_id, tree_id, worst)
    if not views:
        say(f"no wrong-over-right pairs with known step correctness in iteration {iteration}")
        return
    console = render(views, width)
    if html_file:
        write_text(Path(html_file), console.export_html(inline_styles=True, clear=False))
        say(f"written to {html_file}")
    click.echo(console.export_text(styles=sys.stdout.isatty()), nl=False)


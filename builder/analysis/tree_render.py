"""Render a TreeView with rich: the terminal text of `psr show`, and the same as one HTML page.

Per round: the candidates (index, wins, correctness where the task checked it, duplicates, which
was accepted), the verdict matrix (row = candidate shown as A, column = shown as B, cell = the
winner's position letter), the round's outcome and the pair it produced.
"""

from __future__ import annotations

from builder.analysis.tree_view import Candidate, Round, TreeView, _short

MARK = {True: "[green]right[/]", False: "[red]wrong[/]", None: "[dim]-[/]"}


def _console(width: int = 110):
    import io

    from rich.console import Console

    # record=True keeps what was printed so the HTML export is exactly the terminal text
    return Console(file=io.StringIO(), width=width, record=True, force_terminal=False, color_system="truecolor",
                   highlight=False)  # no guessed number/id colouring: it splits ids across HTML spans


def render(views: list[TreeView], width: int = 110):
    """A recording rich Console holding every tree; `.export_text()` / `.export_html()` read it."""
    console = _console(width)
    for view in views:
        _tree(console, view)
    return console


def _tree(console, view: TreeView) -> None:
    from rich.markup import escape
    from rich.rule import Rule

    t, p = view.tree, view.problem
    console.print(Rule(f"tree {escape(t['tree_id'])} (iteration {view.iteration})"))
    console.print(f"[bold]problem[/] {escape(str(p['problem_id']))}: {escape(str(p.get('problem')))}")
    console.print(f"gold answer: {escape(str(p.get('answer')))}   status: [bold]{t['status']}[/]   "
                  f"final answer: {escape(str(t['final_answer']))} ({MARK[t['correct']]})   steps: {t['n_steps']}   "
                  f"rollbacks: {t['n_rollbacks']}   rounds: {t['n_rounds']}   judge calls: {t['judge_calls']}")
    for r in view.rounds:
        _round(console, r)
    console.print("[bold]accepted path[/]")
    for c in view.path:
        console.print(f"  {_short(c.node_id)} {escape(c.text.strip())}  ({MARK[c.step_correct]})")
    if not view.path:
        console.print("  (empty)")
    console.print()


def _round(console, r: Round) -> None:
    from rich.markup import escape
    from rich.table import Table

    n_dup = sum(c.duplicate_of is not None for c in r.candidates)
    console.print(f"\n[bold]round {r.round}[/], step {r.depth}, after {_short(r.parent_id)}: {len(r.candidates)} "
                  f"candidates, {len(r.candidates) - n_dup} distinct")
    cands = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("node", "idx", "step", "wins", "checker", "note"):
        cands.add_column(col)
    for c in r.candidates:
        cands.add_row(_short(c.node_id), str(c.index), escape(c.text.strip()), "-" if c.wins is None else str(c.wins),
                      MARK[c.step_correct], _note(c))
    console.print(cands)
    if r.verdicts:
        console.print("  verdicts: row shown as A, column as B; cell = the winning position (? unparseable)")
        console.print(_matrix(r))
    console.print(f"  outcome: {r.outcome}")
    if r.pair:
        pr = r.pair
        console.print(f"  pair: chosen {_short(pr['chosen_node'])} ({pr['chosen_wins']} wins, "
                      f"{MARK[pr['chosen_correct']]}) over rejected {_short(pr['rejected_node'])} "
                      f"({pr['rejected_wins']} wins, {MARK[pr['rejected_correct']]})")


def _note(c: Candidate) -> str:
    notes = []
    if c.duplicate_of:
        notes.append(f"duplicate of {_short(c.duplicate_of)}")
    elif not c.judged:
        notes.append("not judged")
    if c.on_path:
        notes.append("[bold]on path[/]")
    if c.is_terminal:
        notes.append("terminal")
    return ", ".join(notes)


def _matrix(r: Round):
    from rich.table import Table

    ids = [c.node_id for c in r.candidates if any(c.node_id in k for k in r.verdicts)]
    m = Table(show_edge=False, box=None)
    m.add_column("A \\ B")
    for b in ids:
        m.add_column(_short(b), justify="center")
    for a in ids:
        cells = []
        for b in ids:
            if (a, b) not in r.verdicts:
                cells.append("[dim].[/]")
            else:
                v = r.verdicts[(a, b)]
                cells.append("?" if v is None else f"[cyan]{v}[/]" if v == "A" else f"[magenta]{v}[/]")
        m.add_row(_short(a), *cells)
    return m

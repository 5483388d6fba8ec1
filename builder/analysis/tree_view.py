"""One search tree as plain data for `psr show`: its rounds, their candidates, verdicts and outcome.

Everything is read through the run's DuckDB views (schema columns only). What the search decided
in each round is re-derived from the stored wins with the tournament's rule (builder/search/
tournament.py): all tie -> rollback of the parent step (or, with the budget spent, the tree ends or
the first distinct candidate is taken); otherwise the most wins, ties to the lowest candidate index.
Duplicates come from nodes.duplicate_of where the schema has it, else from identical step text
within the round (what the search saw as the same step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.errors import InputError


@dataclass
class Candidate:
    node_id: str
    index: int | None
    text: str
    wins: int | None
    on_path: bool
    step_correct: bool | None
    is_terminal: bool
    duplicate_of: str | None = None
    judged: bool = True  # sent to the judge (nodes.judged where the schema has it)


@dataclass
class Round:
    round: int
    depth: int
    parent_id: str
    candidates: list[Candidate]
    # (node shown as A, node shown as B) -> verdict 'A' / 'B' / None (unparseable)
    verdicts: dict[tuple[str, str], str | None]
    outcome: str = ""
    pair: dict | None = None


@dataclass
class TreeView:
    iteration: int
    tree: dict
    problem: dict
    rounds: list[Round] = field(default_factory=list)
    path: list[Candidate] = field(default_factory=list)
    pairs: list[dict] = field(default_factory=list)


def _rows(db, query: str, params: list) -> list[dict]:
    rel = db.con.execute(query, params)
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, row)) for row in rel.fetchall()]


def trees_to_show(run, iteration: int, problem: str | None, tree: str | None, worst: int | None) -> list[TreeView]:
    """`psr show`: the trees one of problem, tree or worst selects, read on their own DuckDB connection."""
    from builder.query import connect

    db = connect(run, threads=1)
    try:
        return [load_tree(db, iteration, t) for t in find_trees(db, iteration, problem, tree, worst)]
    finally:
        db.close()


def find_trees(db, iteration: int, problem: str | None, tree: str | None, worst: int | None) -> list[str]:
    """Tree ids selected by exactly one of --problem, --tree, --worst; unknown ids are input errors."""
    if problem is not None:
        ids = [r["tree_id"] for r in _rows(db, "SELECT tree_id FROM trees WHERE iteration = ? AND problem_id = ? "
                                           "ORDER BY tree_id", [iteration, problem])]
        if not ids:
            raise InputError(f"no tree for problem '{problem}' in iteration {iteration} of {db.run.root}")
        return ids
    if tree is not None:
        if not _rows(db, "SELECT 1 FROM trees WHERE iteration = ? AND tree_id = ?", [iteration, tree]):
            raise InputError(f"no tree '{tree}' in iteration {iteration} of {db.run.root}")
        return [tree]
    # --worst K: the trees with the most pairs whose chosen step is wrong and rejected step right
    return [r["tree_id"] for r in _rows(db, """
        SELECT tree_id, count(*) AS n FROM pairs
        WHERE iteration = ? AND chosen_correct = false AND rejected_correct = true AND label_source = 'judge'
        GROUP BY tree_id ORDER BY n DESC, tree_id LIMIT ?""", [iteration, worst])]


def load_tree(db, iteration: int, tree_id: str) -> TreeView:
    from builder import schemas

    tree = _rows(db, "SELECT * FROM trees WHERE iteration = ? AND tree_id = ?", [iteration, tree_id])[0]
    problem = (_rows(db, "SELECT * FROM problems WHERE iteration = ? AND problem_id = ?",
                     [iteration, tree["problem_id"]]) or [{"problem_id": tree["problem_id"], "problem": "?", "answer": None}])[0]
    cols = schemas.duckdb_columns("nodes")
    nodes = _rows(db, "SELECT * FROM nodes WHERE iteration = ? AND tree_id = ? AND depth > 0 "
                      "ORDER BY round, candidate_index, node_id", [iteration, tree_id])
    judgments = _rows(db, "SELECT * FROM judgments WHERE iteration = ? AND tree_id = ? ORDER BY judgment_id",
                      [iteration, tree_id])
    pairs = _rows(db, "SELECT * FROM pairs WHERE iteration = ? AND tree_id = ? ORDER BY depth", [iteration, tree_id])
    view = TreeView(iteration, tree, problem, pairs=pairs)
    # Data written before nodes.judged / duplicate_of existed reads them as their missing_as values
    # (false / NULL): a tree with no judged and no duplicate node gets the fallbacks, which give
    # the same reading for new data too (there, no judged node means no round was judged).
    recorded = "judged" in cols and any(n.get("judged") or n.get("duplicate_of") for n in nodes)
    has_dup = has_judged = recorded
    by_round: dict[tuple[str, int], list[dict]] = {}
    for n in nodes:
        by_round.setdefault((n["parent_id"], n["round"]), []).append(n)
    for (parent, rnd), group in sorted(by_round.items(), key=lambda kv: kv[0][1]):
        cands = [_candidate(n, group, has_dup, has_judged) for n in group]
        verdicts = {(j["node_a"], j["node_b"]): j["verdict"] for j in judgments
                    if j["parent_id"] == parent and j["round"] == rnd}
        view.rounds.append(Round(rnd, group[0]["depth"], parent, cands, verdicts))
    _decide(view)
    view.path = [c for r in view.rounds for c in r.candidates if c.on_path]
    return view


def _candidate(n: dict, group: list[dict], has_dup: bool, has_judged: bool) -> Candidate:
    dup = n.get("duplicate_of") if has_dup else next(
        (m["node_id"] for m in group if m["text"] == n["text"] and (m["candidate_index"] or 0) < (n["candidate_index"] or 0)),
        None)
    # without the column every candidate with wins was judged (duplicates too)
    judged = bool(n["judged"]) if has_judged else n["wins"] is not None
    return Candidate(n["node_id"], n["candidate_index"], n["text"], n["wins"], bool(n["on_path"]), n["step_correct"],
                     bool(n["is_terminal"]), dup, judged)


def _decide(view: TreeView) -> None:
    """Each round's outcome in words, and the pair it produced."""
    pairs = {p["chosen_node"]: p for p in view.pairs}
    last = view.rounds[-1].round if view.rounds else None
    for r in view.rounds:
        ids = {c.node_id for c in r.candidates}
        r.pair = next((p for node, p in pairs.items() if node in ids), None)
        judged = [c for c in r.candidates if c.judged]
        wins = [c.wins or 0 for c in judged]
        kept = next((c for c in r.candidates if c.on_path), None)
        if len(judged) < 2:
            first = kept or next(c for c in r.candidates if c.duplicate_of is None)
            later = "" if first.on_path else ", later rolled back"
            r.outcome = f"nothing to compare: {_short(first.node_id)} taken without judging{later}"
        elif max(wins) == min(wins):
            if kept:
                r.outcome = f"all tie, rollback budget spent: {_short(kept.node_id)} taken, no pair"
            elif r.round == last and view.tree["status"] == "abandoned":
                r.outcome = "all tie, rollback budget spent: tree abandoned"
            elif r.depth > 1:
                r.outcome = f"all tie -> rollback: step {r.depth - 1} ({_short(r.parent_id)}) leaves the path"
            else:
                r.outcome = "all tie -> rollback: step 1 is sampled again"
        else:
            best = max(judged, key=lambda c: (c.wins or 0, -(c.index or 0)))
            state = "accepted" if best.on_path else "accepted, later rolled back"
            r.outcome = f"{_short(best.node_id)} {state} ({best.wins} wins)"


def _short(node_id: str) -> str:
    """'<tree>/<k>' -> '#k': node ids inside one tree view."""
    return "#" + node_id.rsplit("/", 1)[-1]

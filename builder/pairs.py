"""Step-level preference pairs from a sealed iteration's search trees, through counted quality gates.

Candidates come only from rounds with >= 2 judged distinct candidates (nodes.judged; duplicates
and unjudged samples never pair) whose judgments were not all ties (equal wins for all):
- tournament: one per accepted (on_path) step: that step (chosen, the best its round's judge
  schedule named) vs the worst it named (nodes.selection; older rows without it: lowest wins, ties
  to the lowest candidate index). A round the schedule left undecided names none. A step that a rollback
  discarded is not on the path (in any tree status: an abandoned tree's last step is rolled back
  too), so it gives no pair.
- mcts: one per expanded node: best vs worst judged child by value (ties by visits, then the
  lowest candidate index).
- solution (the SRLM baseline; every solution is scored, not compared, so wins are null): one per
  tree whose solutions' scores differ: the highest- vs the lowest-scored complete solution
  (builder.search.judging.best_worst; ties give no pair). Both are whole responses, so both are
  marked terminal (is_final_step, rejected_terminal) and the export ends each with exactly one
  EOS; chosen_wins/rejected_wins are 0, margin = score difference; the head_to_head gate does
  not apply (no direct judgments).
`prompt` is exactly the generation prompt the step was sampled from (chat template + accepted
prefix), `prefix` the accepted steps before it.

Gates, in order (a candidate is counted under the first gate it fails): empty (chosen or rejected
has an empty body), identical (same body after whitespace normalization), head_to_head (with
pairs.require_head_to_head: the chosen step did not win every parseable direct judgment against
the rejected one, both orders where both were asked, or there was none - the paper's
swap-consistency filter applied to self-made pairs; where a knockout/adaptive schedule never
matched the two, a chain of such direct wins from chosen to rejected is needed instead), margin (below pairs.min_margin, when > 0),
prompt_too_long, step_too_long. candidates = kept + sum(dropped).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

GATES = ("empty", "identical", "head_to_head", "margin", "prompt_too_long", "step_too_long")
JUDGE_PART = "pairs"  # part-pairs.parquet; oracle pairs go to part-checker.parquet (builder.checker_pairs)


@dataclass(slots=True)
class PairsReport:
    iteration: int
    already: bool = False
    rows: list[dict] = field(default_factory=list)
    gates: dict = field(default_factory=dict)
    removed: list = field(default_factory=list)


def norm_body(text: str) -> str:
    """The step body with whitespace collapsed: equal strings mean the same step (the `identical`
    gate here, and the search's distinct candidates in builder/search/context.py)."""
    from builder.steps import step_body

    return " ".join(step_body(text).split())


_norm = norm_body


def candidate_pairs(nodes: list[dict], strategy_of: dict[str, str],
                    schedule_of: dict[str, str | None] | None = None, per_round: str = "best_worst") -> list[tuple[dict, dict]]:
    """(chosen node row, rejected node row) candidates from all trees' node rows. `schedule_of`:
    tree_id -> trees.judge_schedule; trees without one (older rows) pair by the round robin's wins.
    `per_round` (pairs.per_round): best_worst, or ranked (`ranked_pairs` of every decided round)."""
    schedule_of = schedule_of or {}
    out = []
    for group in rounds_of(nodes, keep=lambda n: n["judged"]):  # the judged distinct candidates
        if strategy_of[group[0]["tree_id"]] == "solution":  # scored, not compared: ties are by score
            out.extend(ranked_pairs(group, "solution") if per_round == "ranked" else _solution_pair(group))
            continue
        named = schedule_of.get(group[0]["tree_id"]) is not None  # best/worst recorded in nodes.selection
        if len(group) < 2 or (not named and len({n["wins"] for n in group}) == 1):
            continue  # nothing judged, or an all-tie round: no preference was expressed
        if named and not any(n["selection"] == "worst" for n in group):
            continue  # the schedule left the round undecided
        if per_round == "ranked":
            out.extend(ranked_pairs(group, strategy_of[group[0]["tree_id"]]))
            continue
        if strategy_of[group[0]["tree_id"]] == "mcts":
            key = lambda n: (n["value"], n["visits"], -n["candidate_index"])  # noqa: E731
            out.append((max(group, key=key), min(group, key=key)))
            continue
        chosen = next((n for n in group if n["on_path"]), None)
        if chosen is None:
            continue
        if named:  # the worst as the schedule named it
            out.append((chosen, next(n for n in group if n["selection"] == "worst")))
        else:  # older rows: fewest wins, ties to the lowest candidate index
            others = [n for n in group if n is not chosen]
            out.append((chosen, min(others, key=lambda n: (n["wins"], n["candidate_index"]))))
    return out


# --- pairs.per_round: ranked (self-contained: judge scores, ranks, every winner over every loser) ---

def judge_score(node: dict, strategy: str) -> float | None:
    """The score a round's judging gave a candidate: wins (tournament), value (mcts), mean
    self-score (solution); None when it has none."""
    value = node["value"] if strategy == "mcts" else node["score"] if strategy == "solution" else node["wins"]
    return None if value is None else float(value)


def judge_ranks(group: list[dict], strategy: str) -> dict[str, int | None]:
    """node_id -> rank among the round's judged candidates by judge score: 1 + the candidates
    scored strictly higher (equal scores share a rank); None for a candidate without a score."""
    scores = {n["node_id"]: judge_score(n, strategy) for n in group}
    known = [v for v in scores.values() if v is not None]
    return {k: None if v is None else 1 + sum(o > v for o in known) for k, v in scores.items()}


def ranked_pairs(group: list[dict], strategy: str) -> list[tuple[dict, dict]]:
    """Every (winner, loser) of one round's judged candidates whose judge scores differ, the higher
    score chosen; in candidate order of the winner, then of the loser. Nothing when all scores tie."""
    scored = [(n, judge_score(n, strategy)) for n in group]
    scored = [(n, v) for n, v in scored if v is not None]
    return [(a, b) for a, va in scored for b, vb in scored if va > vb]


def rounds_of(nodes: list[dict], keep=None) -> list[list[dict]]:
    """Candidate rows grouped by the round that sampled them (parent_id, round), rounds in creation
    order, each round by candidate index; `keep(node)` filters the rows first."""
    groups = defaultdict(list)
    for n in nodes:
        if n["parent_id"] is not None and (keep is None or keep(n)):
            groups[(n["parent_id"], n["round"])].append(n)
    return [sorted(groups[k], key=lambda n: n["candidate_index"]) for k in sorted(groups, key=lambda k: _creation_order(*k))]


def _solution_pair(group: list[dict]) -> list[tuple[dict, dict]]:
    from builder.search.judging import best_worst

    found = best_worst([(n["candidate_index"], n["score"]) for n in group])
    return [] if found is None else [(group[found[0]], group[found[1]])]


def _creation_order(parent_id: str, round_: int) -> tuple:
    """Sort key: tree, then the parent's creation index (node ids end in /k), then the round."""
    tree_id, _, k = parent_id.rpartition("/")
    return (tree_id, int(k) if k.isdigit() else -1, round_)


def head_to_head(judgments: list[dict], chosen_id: str, rejected_id: str) -> bool:
    """The chosen node beat the rejected one in the round's judgments.

    When the two were judged against each other (always so in the round robin): the chosen won
    every parseable direct judgment (and there was at least one). When a schedule never matched
    them (knockout, adaptive): a chain chosen > x > ... > rejected of such direct wins."""
    if any({j["node_a"], j["node_b"]} == {chosen_id, rejected_id} for j in judgments):
        return _beats(judgments, chosen_id, rejected_id)
    edges = defaultdict(set)
    for j in judgments:
        x, y = j["node_a"], j["node_b"]
        for a, b in ((x, y), (y, x)):
            if b not in edges[a] and _beats(judgments, a, b):
                edges[a].add(b)
    seen, todo = {chosen_id}, [chosen_id]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            if nxt == rejected_id:
                return True
            seen.add(nxt)
            todo.append(nxt)
    return False


def _beats(judgments: list[dict], a: str, b: str) -> bool:
    """a won every parseable direct judgment against b (at least one)."""
    direct = [j["winner"] for j in judgments if {j["node_a"], j["node_b"]} == {a, b} and j["winner"] is not None]
    return bool(direct) and all(w == a for w in direct)


def gate(chosen: str, rejected: str, margin: float, prompt: str, cfg, won_head_to_head: bool = True) -> str | None:
    """The first gate a candidate pair fails, or None when it is kept."""
    from builder.steps import step_body

    if not step_body(chosen) or not step_body(rejected):
        return "empty"
    if _norm(chosen) == _norm(rejected):
        return "identical"
    if cfg.require_head_to_head and not won_head_to_head:
        return "head_to_head"
    if cfg.min_margin > 0 and margin < cfg.min_margin:
        return "margin"
    if cfg.max_prompt_chars is not None and len(prompt) > cfg.max_prompt_chars:
        return "prompt_too_long"
    if cfg.max_step_chars is not None and max(len(chosen), len(rejected)) > cfg.max_step_chars:
        return "step_too_long"
    return None


def extract_pairs(trees: list[dict], nodes: list[dict], judgments: list[dict], problems: dict[str, str], prompt_for,
                  cfg, iteration: int) -> tuple[list[dict], dict]:
    """Pair rows and gate counts. `problems`: problem_id -> text; `prompt_for(problem, prefix_steps)`."""
    by_id = {n["node_id"]: n for n in nodes}
    judged = defaultdict(list)  # (parent_id, round) -> judgment rows of that round
    for j in judgments:
        judged[(j["parent_id"], j["round"])].append(j)
    tree_of = {t["tree_id"]: t for t in trees}
    strategy_of = {t["tree_id"]: t["strategy"] for t in trees}
    rows, dropped = [], dict.fromkeys(GATES, 0)
    per_round = getattr(cfg, "per_round", "best_worst")
    candidates = candidate_pairs(nodes, strategy_of, {t["tree_id"]: t.get("judge_schedule") for t in trees}, per_round)
    ranks = {k: v for group in rounds_of(nodes, keep=lambda n: n["judged"])
             for k, v in judge_ranks(group, strategy_of[group[0]["tree_id"]]).items()}
    for chosen, rejected in candidates:
        tree = tree_of[chosen["tree_id"]]
        prefix = path_texts(by_id, chosen["parent_id"])
        prompt = prompt_for(problems[tree["problem_id"]], prefix)
        margin = _margin(chosen, rejected, tree["strategy"])
        # solution pairs were scored one by one, never compared: the head-to-head gate does not apply
        won = tree["strategy"] == "solution" or head_to_head(
            judged[(chosen["parent_id"], chosen["round"])], chosen["node_id"], rejected["node_id"])
        failed = gate(chosen["text"], rejected["text"], margin, prompt, cfg, won)
        if failed:
            dropped[failed] += 1
            continue
        row = _row(iteration, tree, chosen, rejected, prompt, prefix, margin,
                   ranks.get(chosen["node_id"]), ranks.get(rejected["node_id"]), ranked=per_round == "ranked")
        if tree["strategy"] == "solution":  # whole responses: both end with EOS
            row.update(is_final_step=True, chosen_terminal=True, rejected_terminal=True)
        rows.append(row)
    return rows, {"candidates": len(candidates), "kept": len(rows), "dropped": dropped}


def path_texts(by_id: dict, node_id: str) -> list[str]:
    """Step texts from the root down to node_id (node rows keyed by node_id)."""
    out, node = [], by_id[node_id]
    while node["parent_id"] is not None:
        out.append(node["text"])
        node = by_id[node["parent_id"]]
    return out[::-1]


def _margin(chosen: dict, rejected: dict, strategy: str) -> float:
    if strategy == "mcts":
        return float(chosen["value"] - rejected["value"])
    if strategy == "solution":
        return float(chosen["score"] - rejected["score"])
    return float(chosen["wins"] - rejected["wins"])


def _row(iteration, tree, chosen, rejected, prompt, prefix, margin, chosen_rank=None, rejected_rank=None,
         ranked: bool = False) -> dict:
    # a ranked round gives several pairs: their ids name both candidates
    pair_id = f"{chosen['parent_id']}#{chosen['round']}"
    if ranked:
        pair_id += f":{chosen['candidate_index']}>{rejected['candidate_index']}"
    return {
        "iteration": iteration, "pair_id": pair_id, "tree_id": tree["tree_id"], "round": chosen["round"],
        "chosen_rank": chosen_rank, "rejected_rank": rejected_rank,
        "problem_id": tree["problem_id"], "parent_id": chosen["parent_id"], "depth": chosen["depth"],
        "chosen_node": chosen["node_id"], "rejected_node": rejected["node_id"], "prompt": prompt,
        "prefix": "".join(prefix), "chosen": chosen["text"], "rejected": rejected["text"],
        "chosen_wins": chosen["wins"] or 0, "rejected_wins": rejected["wins"] or 0, "margin": margin,
        "is_final_step": chosen["is_terminal"], "chosen_terminal": chosen["is_terminal"],
        "rejected_terminal": rejected["is_terminal"], "chosen_correct": chosen["step_correct"],
        "rejected_correct": rejected["step_correct"], "label_source": "judge",
    }


def gates_text(g: dict) -> str:
    """The gate counts in one phrase (psr pairs, psr export)."""
    if not g:
        return "no gate counts"
    drops = ", ".join(f"{name} {n}" for name, n in g["dropped"].items())
    return f"{g['candidates']} candidates, kept {g['kept']}, dropped: {drops}"


def no_pairs_hint(g: dict, strategy: str, run_root, iteration: int) -> str:
    """Why iteration N has no pairs and what to change; an iteration with 0 pairs cannot train M(N+1)."""
    if g.get("candidates"):
        worst = max(g["dropped"], key=g["dropped"].get)
        why = f"all {g['candidates']} candidates failed a quality gate (most: {worst})"
    elif strategy == "solution":
        why = "no tree had two solutions with different scores (every score null or equal)"
    else:  # e.g. a position-biased judge with judge_orders: both ties every round
        why = "no round expressed a preference (every judged round was an all-tie, or had one distinct candidate)"
    remedies = ("a judge that answers `Score: <points>` (docs/baseline.md), search.judge_samples > 1, more "
                "problems (problems.per_iteration) or a larger search.width" if strategy == "solution" else
                "search.judge_orders: one, more problems (problems.per_iteration), search.samples > search.width")
    return (f"{why}; see the search section of `psr report`. Remedies in run.yaml: {remedies}; then redo the "
            f"iteration with `psr generate --run {run_root} --iter {iteration} --force`")


def remove_part(run, iteration: int, part: str) -> list:
    """Delete one part file of the pairs table (the other label's part stays)."""
    path = run.table_dir("pairs", iteration) / f"part-{part}.parquet"
    if not path.exists():
        return []
    path.unlink()
    return [path]


def pairs_step(run, iteration: int, manifest: dict, part: str, extra: dict | None = None) -> tuple[str, str]:
    """The done-marker name and fingerprint of one pairs part (builder/store/done.py): the sealed
    search tables, the pairs settings, the reasoning template and M(N)'s tokenizer (its folder)."""
    from builder.prompts import load_template
    from builder.store.done import fingerprint, model_id

    tables = manifest.get("tables", {})
    fp = fingerprint({"tables": {t: tables.get(t, {}).get("files") for t in ("problems", "trees", "nodes", "judgments")},
                      "pairs": run.config.pairs.model_dump(mode="json"), "template": load_template(run.config.prompts.reasoning),
                      "model": model_id(run.model_path(iteration)), **(extra or {})})
    return f"pairs/iteration={iteration}/{part}", fp


def build_pairs(run, iteration: int, force: bool = False) -> PairsReport:
    """`psr pairs`: extract, gate, write one part and record it (with the gate counts) in the manifest.

    Skipped when done from the same inputs (pairs_step); redone when the search tables, the pairs
    settings or M(N) changed, or with force."""
    from builder.prompts import ChatRenderer, load_template
    from builder.store import read_table, record_table, require_sealed, write_table
    from builder.store.done import is_done, mark_done

    manifest = require_sealed(run, iteration, "psr pairs")
    derived = manifest.get("derived", {}).get("pairs", {})
    step, fp = pairs_step(run, iteration, manifest, JUDGE_PART)
    if "gates" in derived and not force and is_done(run, step, fp):
        return PairsReport(iteration, already=True, gates=derived["gates"])
    removed = remove_part(run, iteration, JUDGE_PART)  # the checker's part (an ablation) stays
    renderer = ChatRenderer(run.require_model(iteration))
    template = load_template(run.config.prompts.reasoning)
    problems = {r["problem_id"]: r["problem"] for r in read_table(run, "problems", iteration).to_pylist()}
    rows, gates = extract_pairs(
        read_table(run, "trees", iteration).to_pylist(), read_table(run, "nodes", iteration).to_pylist(),
        read_table(run, "judgments", iteration).to_pylist(), problems, lambda problem, prefix: renderer.generation_prompt(template, problem, prefix),
        run.config.pairs, iteration,
    )
    path = write_table(run, "pairs", iteration, JUDGE_PART, rows)
    record_table(run, iteration, "pairs", {**derived, "gates": gates})
    mark_done(run, step, fp, [path])
    return PairsReport(iteration, rows=rows, gates=gates, removed=removed)

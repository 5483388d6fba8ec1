"""What both labellers share: the sampling rounds of a search, the accepted path to a node, the
judge's margin and the pairs row (schemas/pairs.json)."""

from __future__ import annotations

from collections import defaultdict


def rounds_of(nodes: list[dict], keep=None) -> list[list[dict]]:
    """Candidate rows grouped by the round that sampled them (parent_id, round), rounds in creation
    order, each round by candidate index; `keep(node)` filters the rows first."""
    groups = defaultdict(list)
    for n in nodes:
        if n["parent_id"] is not None and (keep is None or keep(n)):
            groups[(n["parent_id"], n["round"])].append(n)
    return [sorted(groups[k], key=lambda n: n["candidate_index"]) for k in sorted(groups, key=lambda k: _creation_order(*k))]


def _creation_order(parent_id: str, round_: int) -> tuple:
    """Sort key: tree, then the parent's creation index (node ids end in /k), then the round."""
    tree_id, _, k = parent_id.rpartition("/")
    return (tree_id, int(k) if k.isdigit() else -1, round_)


def path_texts(by_id: dict, node_id: str) -> list[str]:
    """Step texts from the root down to node_id (node rows keyed by node_id)."""
    out, node = [], by_id[node_id]
    while node["parent_id"] is not None:
        out.append(node["text"])
        node = by_id[node["parent_id"]]
    return out[::-1]


def judge_margin(chosen: dict, rejected: dict, strategy: str) -> float:
    """The judge's preference of chosen over rejected: value (mcts), score (solution) or wins."""
    if strategy == "mcts":
        return float(chosen["value"] - rejected["value"])
    if strategy == "solution":
        return float(chosen["score"] - rejected["score"])
    return float(chosen["wins"] - rejected["wins"])


def pair_row(iteration, tree, chosen, rejected, prompt, prefix, margin, chosen_rank=None, rejected_rank=None,
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

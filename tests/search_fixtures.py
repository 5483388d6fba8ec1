"""Helpers shared by the search tests: configs, problems, the real renderer, row checks."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from builder.config import Search
from builder.prompts import load_template
from builder.search import Templates


def search_cfg(**kw) -> Search:
    base = dict(width=3, max_steps=3, max_rollbacks=2, temperature=0.7, max_step_tokens=8, judge_max_tokens=8)
    mcts = kw.pop("mcts", None)
    cfg = Search(**{**base, **kw})
    if mcts:
        cfg.mcts = cfg.mcts.model_copy(update=mcts)
    return cfg


# Fixed here (not the task's files, which may change): the scripted judge reads the "A: "/"B: " lines.
JUDGE = "Judge the next step.\n{question_and_partial_steps}\nA: {step_a}\nB: {step_b}"


def templates() -> Templates:
    return Templates(load_template("reasoning_arith"), JUDGE, "\nStep ")


def arith_problems(n: int, start: int = 0) -> list[dict]:
    from builder.problems import problem_id

    out = []
    for i in range(start, start + n):
        text = f"{i % 17 + 1} + {i % 5 + 2} - 1"
        text = f"{text} (#{i})"
        out.append({"problem_id": problem_id(text), "problem": text, "answer": str(i % 17 + i % 5 + 2)})
    return out


def siblings(nodes: list[dict]) -> dict:
    """(parent_id, round) -> child rows sorted by candidate_index."""
    out = defaultdict(list)
    for n in nodes:
        if n["parent_id"] is not None:
            out[(n["parent_id"], n["round"])].append(n)
    return {k: sorted(v, key=lambda n: n["candidate_index"]) for k, v in out.items()}


def row_hashes(rows: list[dict]) -> list[str]:
    """Sorted content hashes of rows: equal lists mean equal tables up to row order."""
    return sorted(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest() for r in rows)

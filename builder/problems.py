"""Importing problems into an iteration: local files, Hugging Face dataset ids, or task:NAME.

Problems get a stable content id; duplicates and problems already used by earlier iterations
of the run are dropped (and counted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from builder.errors import InputError
from builder.ids import content_id, draw_seed
from builder.inputs import source_rows
from builder.store import Run, is_sealed, part_paths, read_table, require_unsealed, write_table


def problem_id(text: str) -> str:
    return content_id(" ".join(text.split()))  # whitespace-insensitive: reflowed copies are duplicates


@dataclass(slots=True)
class ImportResult:
    added: int
    duplicates: int
    already_used: int
    source: str
    removed: list = field(default_factory=list)
    skipped: bool = False  # if_needed, and the iteration already has its problems


def parse_fields(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        dst, sep, src = item.partition("=")
        if not sep or not dst or not src:
            raise InputError(f"--field expects DST=SRC (e.g. problem=question), got '{item}'")
        out[dst.strip()] = src.strip()
    return out


def load_rows(source: str, split: str, fields: dict[str, str], limit_hint: int | None = None) -> list[dict]:
    """Rows with at least 'problem' (and 'answer' when the source has one) from a file or Hub id."""
    rows = source_rows(source, split)
    return [normalize_row(r, fields, source, i) for i, r in enumerate(map_fields(rows, fields, source))]


def map_fields(rows: list[dict], fields: dict[str, str], origin: str) -> list[dict]:
    if not rows:
        raise InputError(f"{origin}: empty (no rows)")
    found = list(rows[0].keys())
    for dst, src in fields.items():
        if src not in rows[0]:
            raise InputError(f"{origin}: no column '{src}' (for --field {dst}={src}); columns found: {', '.join(found)}")
    mapped = [{**r, **{dst: r.get(src) for dst, src in fields.items()}} for r in rows]
    if "problem" not in mapped[0]:
        raise InputError(f"{origin}: missing column 'problem' (map one with --field problem=COLUMN); columns found: {', '.join(found)}")
    return mapped


def normalize_row(row: dict, fields: dict, origin: str, i: int) -> dict:
    text = row.get("problem")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{origin}: row {i}: column 'problem' is empty or not text")
    answer = row.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = str(answer)
    if answer is not None and not answer.strip():
        answer = None  # an empty CSV cell: no gold answer, not the gold answer ""
    if answer is not None:
        answer = gold_answer(answer)
    elif isinstance(row.get("solution"), str):
        from builder.tasks.grading import math_gold

        answer = math_gold(row["solution"])
    used = {"problem", "answer"} | set(fields.values())
    meta = {k: v for k, v in row.items() if k not in used and _jsonable(v)}
    meta["row"] = i
    return {"problem": text.strip(), "answer": answer, "meta": meta}


def gold_answer(text: str) -> str:
    """GSM8K golds end with '#### N'; MATH-style golds may be a \\boxed{} solution; else the text."""
    from builder.tasks.grading import gsm8k_gold, math_gold

    return gsm8k_gold(text) or math_gold(text) or text.strip()


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def task_rows(run: Run, name: str, split: str, n: int, seed: int) -> list[dict]:
    from builder.tasks import run_task

    task = run_task(run.config, name)
    return [{"problem": p["problem"], "answer": p.get("answer"), "meta": p.get("meta") or {}} for p in task.problems(split, n, seed)]


def used_ids(run: Run, before: int) -> set[str]:
    tbl = read_table(run, "problems")
    its, ids = tbl.column("iteration").to_pylist(), tbl.column("problem_id").to_pylist()
    return {pid for it, pid in zip(its, ids) if it < before}


def add_problems(run: Run, iteration: int, source: str | None, split: str | None, limit: int | None,
                 fields: list[str], force: bool = False, if_needed: bool = False) -> ImportResult:
    """Add problems to an iteration. `if_needed`: nothing when the iteration is sealed or has problems.

    That is an existence check, not a done marker (builder/store/done.py) on purpose: an iteration's
    problems are pinned by `psr generate`'s plan, so another --limit must not quietly replace them.
    """
    cfg = run.config.problems
    if if_needed and (is_sealed(run, iteration) or part_paths(run, "problems", iteration)):
        return ImportResult(0, 0, 0, source or cfg.source, skipped=True)
    source = source or cfg.source
    split = split or cfg.split
    field_map = {**cfg.fields, **parse_fields(fields)} if source == cfg.source else parse_fields(fields)
    # Read (and reject) a file or Hub source before --force removes anything: bad input leaves the run as it was.
    rows = None if source.startswith("task:") else load_rows(source, split, field_map)
    removed = require_unsealed(run, iteration, force, ["problems", "trees", "nodes", "judgments", "pairs"])
    want = limit if limit is not None else cfg.count(iteration)
    used = used_ids(run, iteration) if cfg.disjoint else set()
    current = set(read_table(run, "problems", iteration).column("problem_id").to_pylist())
    if rows is None:
        rows = task_rows(run, source[5:], split, want + len(used) + len(current), draw_seed(run.config.seed, iteration))
    keep, dups, seen_before = _select(rows, used, current, want)
    if keep:
        part = f"add-{len(list(run.table_dir('problems', iteration).glob('part-*.parquet'))):03d}"
        write_table(run, "problems", iteration, part, [_problem_row(r, source, split) for r in keep])
    return ImportResult(len(keep), dups, seen_before, source, removed)


def _select(rows, used, current, want):
    keep, dups, seen_before, seen = [], 0, 0, set(current)
    for r in rows:
        pid = problem_id(r["problem"])
        if pid in used:
            seen_before += 1
        elif pid in seen:
            dups += 1
        elif len(keep) < want:
            seen.add(pid)
            keep.append({**r, "problem_id": pid})
    return keep, dups, seen_before


def _problem_row(r: dict, source: str, split: str) -> dict:
    return {
        "problem_id": r["problem_id"], "source": source, "split": split, "problem": r["problem"],
        "answer": r.get("answer"), "meta": json.dumps(r.get("meta") or {}, sort_keys=True),
    }

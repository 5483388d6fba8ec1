"""`psr init-data`: iteration 0's IFT and EFT tables, from the task plugin or from the user's files.

IFT (schemas/ift.yaml): problem, solution ("Step n: ...\n" per step, the last with \boxed{}),
answer. EFT (schemas/eft.yaml): problem, prefix (accepted steps, may be empty), step_a, step_b,
label (A|B), judgment (text ending in [[A]] or [[B]]). IFT has a train split; EFT a train split
and a held-out test split (the judge benchmark). With init_data.score_train > 0 a task that can
also writes scores (schemas/scores.yaml): whole solutions scored 0-5, so M1 can judge as the SRLM
baseline's solution scorer. Iteration 0 is sealed when all are written.
"""

from __future__ import annotations

from pathlib import Path

from builder.errors import InputError, PsrError
from builder.ids import content_id
from builder.store import Run, is_sealed, part_paths, seal, write_table
from builder.store.lineage import base_lineage, sha256_file

IFT_FIELDS = ("problem", "solution", "answer")
EFT_FIELDS = ("problem", "prefix", "step_a", "step_b", "label", "judgment")
SCORE_FIELDS = ("problem", "solution", "score", "judgment")


def example_id(row: dict, fields) -> str:
    return content_id([row.get(f) for f in fields])


def ift_rows(examples: list[dict], split: str, source: str) -> list[dict]:
    return [{"example_id": example_id(e, IFT_FIELDS), "split": split, "problem": e["problem"],
             "solution": e["solution"], "answer": e.get("answer"), "source": source} for e in examples]


def keyed_rows(examples: list[dict], fields, split: str, source: str) -> list[dict]:
    """Table rows of `fields`, keyed by their content hash (EFT and scores rows)."""
    return [{"example_id": example_id(e, fields), "split": split, "source": source,
             **{f: e[f] for f in fields}} for e in examples]


def eft_rows(examples: list[dict], split: str, source: str) -> list[dict]:
    return keyed_rows(examples, EFT_FIELDS, split, source)


def write_from_task(run: Run) -> dict:
    """Write and seal iteration 0 from run.config.task; returns the row counts (or {} when sealed).

    With init_data.own_steps.ift_steps > 0 this first trains M0-ift and adds EFT rows from its own
    sampled steps (builder/initdata/own_stage.py) before sealing.
    """
    from builder.initdata.own_stage import SOURCE, own_step_rows, uses_stage
    from builder.tasks import run_task

    if is_sealed(run, 0):
        return {}
    cfg, counts = run.config, run.config.init_data
    task = run_task(cfg)
    source = f"task:{cfg.task}"
    ift = ift_rows(task.ift_examples("train", counts.ift_train, cfg.seed), "train", source)
    eft = (eft_rows(task.eft_examples("train", counts.eft_train, cfg.seed), "train", source)
           + eft_rows(task.eft_examples("test", counts.eft_test, cfg.seed), "test", source))
    scores = keyed_rows(_score_examples(task, counts.score_train, cfg.seed), SCORE_FIELDS, "train", source)
    _clear_own(run, "task", keep=(SOURCE,))
    write_table(run, "ift", 0, "task", ift)
    write_table(run, "eft", 0, "task", eft)
    if scores:
        write_table(run, "scores", 0, "task", scores)
    lineage = {**base_lineage(run), "source": source, "task": cfg.task, "task_options": cfg.task_options,
               "init_data": counts.model_dump()}
    extra = {}
    if uses_stage(run):
        own, summary = own_step_rows(run, task, ift)
        write_table(run, "eft", 0, SOURCE, eft_rows(own, "train", SOURCE))
        lineage["own_steps"] = extra["own_steps"] = summary
    seal(run, 0, ["ift", "eft"] + (["scores"] if scores else []), lineage)
    return {**_counts(ift, eft), **({"score_train": len(scores)} if scores else {}), **extra}


def _score_examples(task, n: int, seed: int) -> list[dict]:
    if n and not hasattr(task, "score_examples"):
        raise InputError(f"init_data.score_train: task {task.name!r} cannot make solution-scoring examples (set it to 0)")
    return task.score_examples("train", n, seed) if n else []


def import_files(run: Run, ift_file: Path, eft_file: Path) -> dict:
    """Write and seal iteration 0 from the user's IFT and EFT files (Parquet, JSON Lines, JSON or CSV).

    Both files are read and checked in full before anything of the run is touched.
    """
    if is_sealed(run, 0):
        return {}
    ift = [_ift_row(r, ift_file, i) for i, r in enumerate(_read(ift_file, ("problem", "solution")))]
    eft = [_eft_row(r, eft_file, i) for i, r in enumerate(_read(eft_file, EFT_FIELDS))]
    _clear_own(run, "import")
    write_table(run, "ift", 0, "import", ift)
    write_table(run, "eft", 0, "import", eft)
    lineage = {**base_lineage(run), "source": "import",
               "files": {"ift": {"path": str(ift_file), "sha256": sha256_file(ift_file)},
                         "eft": {"path": str(eft_file), "sha256": sha256_file(eft_file)}}}
    seal(run, 0, ["ift", "eft"], lineage)
    return _counts(ift, eft)


def _clear_own(run: Run, name: str, keep: tuple[str, ...] = ()) -> None:
    """Remove our own leftovers of an interrupted attempt (parts `name` and `keep`); never another
    job's (teacher) parts."""
    paths = part_paths(run, "ift", 0) + part_paths(run, "eft", 0) + part_paths(run, "scores", 0)
    ours = {f"part-{n}.parquet" for n in (name, *keep)}
    others = [p for p in paths if p.name not in ours]
    if others:
        raise PsrError(
            f"iteration 0 already holds unsealed data of another job ({others[0]}); finish it "
            f"(`psr init-data ift` / `psr init-data eft`) or remove {others[0].parent} first"
        )
    for p in paths:
        p.unlink()


def _read(path: Path, required) -> list[dict]:
    """The user's file, strictly parsed, whose header (or first row) has every required column."""
    from builder.inputs import read_file_rows, require_columns

    rows = read_file_rows(path)
    require_columns(rows, required, str(path), f" (required: {', '.join(required)})")
    return rows


def _require(row: dict, fields, path: Path, i: int) -> None:
    for f in fields:
        if not isinstance(row.get(f), str) or (f != "prefix" and not row[f].strip()):
            raise InputError(f"{path}: row {i}: column '{f}' missing or empty (required: {', '.join(fields)})")


def _split(row: dict, path: Path, i: int, allowed) -> str:
    split = row.get("split") or "train"
    if split not in allowed:
        raise InputError(f"{path}: row {i}: split '{split}' (use {' or '.join(allowed)})")
    return split


def _ift_row(row: dict, path: Path, i: int) -> dict:
    _require(row, ("problem", "solution"), path, i)
    answer = row.get("answer")
    if answer is None:
        from builder.steps import extract_boxed

        answer = extract_boxed(row["solution"])
    out = ift_rows([{**row, "answer": None if answer is None else str(answer)}], _split(row, path, i, ("train", "test")),
                   str(row.get("source") or path.name))
    return out[0]


def _eft_row(row: dict, path: Path, i: int) -> dict:
    _require(row, EFT_FIELDS, path, i)
    if row["label"] not in ("A", "B"):
        raise InputError(f"{path}: row {i}: column 'label' must be 'A' or 'B', got {row['label']!r}")
    return eft_rows([row], _split(row, path, i, ("train", "test")), str(row.get("source") or path.name))[0]


def _counts(ift: list[dict], eft: list[dict]) -> dict:
    return {"ift_train": sum(r["split"] == "train" for r in ift),
            "eft_train": sum(r["split"] == "train" for r in eft),
            "eft_test": sum(r["split"] == "test" for r in eft)}

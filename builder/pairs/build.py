"""`psr pairs [--label checker]`: one entry point for both labellers of a sealed iteration.

The judge's pairs (builder/pairs/judge.py) go to part-pairs.parquet with their gate counts in the
manifest's derived.pairs.gates; the oracle ablation's (builder/pairs/checker.py) to
part-checker.parquet with derived.pairs.checker. Redoing one label leaves the other's part alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.errors import InputError
from builder.store.model_ref import JUDGE, ModelRef

JUDGE_PART = "pairs"  # part-pairs.parquet; oracle pairs go to part-checker.parquet


@dataclass(slots=True)
class PairsReport:
    iteration: int
    already: bool = False
    rows: list[dict] = field(default_factory=list)
    gates: dict = field(default_factory=dict)
    removed: list = field(default_factory=list)


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


def recorded_gates(derived: dict, label: str) -> dict | None:
    """The gate counts the manifest holds for `label`'s pairs, None when they were not extracted."""
    if label == JUDGE:
        return derived.get("gates")
    return derived[label]["gates"] if label in derived else None


def build_pairs(run, iteration: int, force: bool = False, label: str = JUDGE) -> PairsReport:
    """Extract, gate, write the label's part and record its gate counts in the manifest.

    Skipped when done from the same inputs (pairs_step); redone when the search tables, the pairs
    settings or M(N) changed (the checker's part also: the task), or with force."""
    from builder.pairs.checker import CHECKER_PART, ORACLE_NOTE, extract_checker_pairs, step_checker
    from builder.pairs.judge import extract_pairs
    from builder.prompts import ChatRenderer, load_template
    from builder.store import read_table, record_table, require_sealed, write_table
    from builder.store.done import is_done, mark_done
    from builder.tasks import task_fingerprint

    ref = ModelRef.trained_by(iteration, label)  # the model these pairs would train; an unknown label: exit 2
    if ref.control:
        raise InputError(f"--label {label}: {ref.name} is trained on iteration 0's SFT rows, not on pairs; "
                         f"nothing to extract (run `psr export --run {run.root} --iter {iteration}{ref.flag}`)")
    oracle = ref.ablation
    manifest = require_sealed(run, iteration, f"psr pairs{ref.flag}")
    derived = manifest.get("derived", {}).get("pairs", {})
    part = CHECKER_PART if oracle else JUDGE_PART
    task = {"task": task_fingerprint(run.config)} if oracle else None
    step, fp = pairs_step(run, iteration, manifest, part, task)
    done = recorded_gates(derived, label)
    if done is not None and not force and is_done(run, step, fp):
        return PairsReport(iteration, already=True, gates=done)
    problem_rows = read_table(run, "problems", iteration).to_pylist()
    check_step = step_checker(run, problem_rows).check_step if oracle else None  # exit 2 before anything is removed
    removed = remove_part(run, iteration, part)
    renderer = ChatRenderer(run.require_model(iteration))
    template = load_template(run.config.prompts.reasoning)
    trees, nodes = read_table(run, "trees", iteration).to_pylist(), read_table(run, "nodes", iteration).to_pylist()
    problems = {r["problem_id"]: r["problem"] for r in problem_rows}

    def prompt_for(problem, prefix):
        return renderer.generation_prompt(template, problem, prefix)

    if check_step is not None:
        rows, gates = extract_checker_pairs(trees, nodes, problems, prompt_for, run.config.pairs, iteration, check_step)
        entry = {label: {"gates": gates, "file": f"part-{part}.parquet", "note": ORACLE_NOTE}}
    else:
        rows, gates = extract_pairs(trees, nodes, read_table(run, "judgments", iteration).to_pylist(), problems,
                                    prompt_for, run.config.pairs, iteration)
        entry = {"gates": gates}
    path = write_table(run, "pairs", iteration, part, rows)
    record_table(run, iteration, "pairs", {**derived, **entry})
    mark_done(run, step, fp, [path])
    return PairsReport(iteration, rows=rows, gates=gates, removed=removed)

"""`psr report --run A --compare B [--compare C ...]`: runs side by side (e.g. PSR vs its SRLM baseline).

Per run: held-out accuracy of every model M(N) with a 95 % Wilson interval (builder/sql/evals.sql),
and per iteration of its loop (builder/sql/compare_loop.sql) the pairs per problem, the
right-over-wrong share of the pairs whose correctness is known, judge calls and generated tokens
per problem, plus wall times (search: the iteration's manifest; training: trainer/iteration=N/
trained.json). Between the reference run A and each other run B: for every model M(N) both
evaluated on a benchmark and mode, the paired difference on the same problems, acc(B) - acc(A),
with the exact McNemar p-value of the discordant problems (builder.analysis.stats).

The paired test needs the same held-out problems: runs that evaluated a common benchmark and mode
on different problem sets (another eval.limit, task options or benchmark file) are refused with an
InputError that says which benchmark and how many problems differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from builder.analysis.stats import mcnemar_exact, paired_counts, wilson_interval
from builder.errors import InputError
from builder.query import rows
from builder.store import Run

COMPARE_VERSION = 1
_PER_PROBLEM = "SELECT iteration, benchmark, mode, problem_id, correct FROM evals WHERE label_source = 'judge'"


def run_figures(run: Run) -> dict:
    """One run's accuracy rows, per-problem correctness and loop rows (every figure from SQL)."""
    from builder.query import connect

    db = connect(run)
    try:
        evals = rows(db, "evals")
        loop = rows(db, "compare_loop")
        per_problem = db.sql(_PER_PROBLEM).fetchall()
    finally:
        db.close()
    for r in evals:
        r["ci_low"], r["ci_high"] = wilson_interval(r["correct"], r["problems"])
    for r in loop:
        r["search_wall_seconds"], r["train_wall_seconds"] = _wall_seconds(run, r["iteration"])
    correct: dict[tuple, dict[str, bool]] = {}
    for it, bench, mode, pid, ok in per_problem:
        correct.setdefault((it, bench, mode), {})[pid] = bool(ok)
    return {"evals": evals, "loop": loop, "correct": correct}


def _wall_seconds(run: Run, iteration: int) -> tuple[float | None, float | None]:
    search = _read_json(run.manifest_path(iteration)).get("search_totals", {}).get("wall_seconds")
    train = _read_json(run.trainer_dir(iteration) / "trained.json").get("wall_seconds")
    return search, train


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def check_same_problems(ref: Run, ref_fig: dict, other: Run, other_fig: dict) -> None:
    """Refuse runs whose held-out problems differ on a benchmark and mode both evaluated."""
    def problems(fig):
        out: dict[tuple, set] = {}
        for (_, bench, mode), by_id in fig["correct"].items():
            out.setdefault((bench, mode), set()).update(by_id)
        return out

    a, b = problems(ref_fig), problems(other_fig)
    for key in sorted(a.keys() & b.keys()):
        if a[key] != b[key]:
            raise InputError(
                f"{other.root} evaluated {key[0]} ({key[1]}) on other held-out problems than {ref.root} "
                f"({len(b[key] - a[key])} only in the first, {len(a[key] - b[key])} only in the second): "
                "the paired comparison needs the same problems (same eval.limit, task options and benchmark)")
    if a and b and not a.keys() & b.keys():
        raise InputError(f"{other.root} and {ref.root} share no evaluated benchmark and mode "
                         f"({sorted(b)} vs {sorted(a)}): nothing to compare on the same held-out problems")


def paired_rows(ref_name: str, ref_fig: dict, name: str, fig: dict) -> list[dict]:
    out = []
    for key in sorted(ref_fig["correct"].keys() & fig["correct"].keys()):
        counts = paired_counts(ref_fig["correct"][key], fig["correct"][key])
        n = counts["problems"]
        out.append({
            "iteration": key[0], "benchmark": key[1], "mode": key[2], "run_a": ref_name, "run_b": name, **counts,
            "accuracy_a": (counts["both"] + counts["only_a"]) / n if n else None,
            "accuracy_b": (counts["both"] + counts["only_b"]) / n if n else None,
            "difference": (counts["only_b"] - counts["only_a"]) / n if n else None,
            "p_value": mcnemar_exact(counts["only_a"], counts["only_b"]),
        })
    return out


def _names(runs: list[Run]) -> list[str]:
    """Config names when they tell the runs apart, else directory names, else full paths."""
    for names in ([r.config.name for r in runs], [r.root.name for r in runs]):
        if len(set(names)) == len(names):
            return names
    return [str(r.root) for r in runs]


def build_comparison(runs: list[Run]) -> dict:
    """The side-by-side report of runs[0] (the reference) and every other run, as plain data."""
    figs = [run_figures(r) for r in runs]
    for other, fig in zip(runs[1:], figs[1:]):
        check_same_problems(runs[0], figs[0], other, fig)
    names = _names(runs)
    accuracy, loop, paired = [], [], []
    for name, fig in zip(names, figs):
        accuracy += [{"run": name, **r} for r in fig["evals"]]
        loop += [{"run": name, **r} for r in fig["loop"]]
    for name, fig in zip(names[1:], figs[1:]):
        paired += paired_rows(names[0], figs[0], name, fig)
    return {
        "compare_version": COMPARE_VERSION,
        "runs": [{"name": n, "run": str(r.root), "strategy": r.config.search.strategy, "judge": r.config.prompts.judge,
                  "M1": r.model_path(1)} for n, r in zip(names, runs)],
        "accuracy": accuracy, "paired": paired, "loop": loop,
        "queries": {"accuracy": "builder/sql/evals.sql", "loop": "builder/sql/compare_loop.sql",
                    "paired": "evals.correct per problem_id; builder/analysis/stats.py"},
    }


def write_comparison(runs: list[Run], out_dir: Path | None, fmt: str) -> tuple[Path, dict]:
    out_dir = Path(out_dir) if out_dir else runs[0].root / "report" / "compare"
    report = build_comparison(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path = out_dir / "compare.json"
        _atomic_write(path, json.dumps(report, indent=2, default=str) + "\n")
        return path, report
    from builder.analysis.compare_md import render_markdown

    path = out_dir / "compare.md"
    _atomic_write(path, render_markdown(report, out_dir))
    return path, report


def _atomic_write(path: Path, text: str) -> None:
    from builder.store.atomic import write_text

    write_text(path, text)

"""`psr eval`: M(N) solves held-out problems step by step; rows go to the evals table.

Benchmarks: "task" (the run task's test split), "task:NAME", "task:NAME@validation" (another split
of the task: choose settings on validation, report on test), a file, or a Hugging Face dataset id
(GSM8K-style question/answer with '#### N', MATH-style problem/solution with \\boxed{}; --field maps
other column names). Modes: greedy (one greedy step at a time: the search with width 1, temperature
0, no judging) and search (the tournament with the run's width: best of w per step by
self-judging, no pairs kept). Grading: the task's checker for task benchmarks, math-verify
(builder.tasks.grading.answers_match) for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import InputError
from builder.store import Run
from builder.store.model_ref import JUDGE, label_suffix

MODES = ("greedy", "search")
HUB_SPLIT = "test"


@dataclass(slots=True)
class Benchmark:
    name: str
    problems: list[dict]  # {problem_id, problem, answer}
    checker: object  # check_answer(prediction, gold) [+ check_step]
    dropped: int = 0  # rows without a gold answer


@dataclass(slots=True)
class EvalSummary:
    benchmark: str
    mode: str
    iteration: int
    problems: int
    correct: int
    answered: int
    path: Path | None = None
    dropped: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.problems if self.problems else 0.0


def part_name(benchmark: str, mode: str, label: str = JUDGE) -> str:
    """The evals part file of one benchmark, mode and model variant (a rerun replaces it)."""
    variant = label_suffix(label)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{benchmark}-{mode}{variant}").strip("_")


def load_benchmark(run: Run, bench: str, fields: dict[str, str], limit: int | None, split: str = HUB_SPLIT) -> Benchmark:
    from builder.problems import problem_id

    if bench == "task" or bench.startswith(("task:", "task@")):
        name, task_split = task_ref(run, bench, split)
        task = _task(run, name)
        rows = task.problems(task_split, limit or run.config.eval.limit or 200, run.config.seed)
        checker, dropped = task, 0
        label = f"task:{name}" if task_split == "test" else f"task:{name}@{task_split}"
    else:
        rows, label = _file_or_hub_rows(bench, fields, split)
        from builder.search import AnswerChecker

        checker = AnswerChecker()
        dropped = sum(1 for r in rows if r.get("answer") is None)
        rows = [r for r in rows if r.get("answer") is not None]
        if not rows:
            raise InputError(f"{bench}: no row has a gold answer (map one with --field answer=COLUMN)")
    seen, problems = set(), []
    for r in rows:
        pid = problem_id(r["problem"])
        if pid not in seen:
            seen.add(pid)
            problems.append({"problem_id": pid, "problem": r["problem"], "answer": r.get("answer")})
    return Benchmark(label, problems[:limit] if limit else problems, checker, dropped)


def task_ref(run: Run, bench: str, split: str = HUB_SPLIT) -> tuple[str, str]:
    """(task name, split) of a task benchmark: `task`, `task:NAME`, either with `@SPLIT`; else --split.

    The test split keeps the plain name `task:NAME`, so earlier evals rows stay comparable.
    """
    from builder.tasks.base import SPLITS

    ref, _, at = bench.partition("@")
    name = run.config.task if ref == "task" else ref.split(":", 1)[1]
    task_split = at or split
    if task_split not in SPLITS:
        raise InputError(f"benchmark {bench}: unknown task split {task_split!r} (use {', '.join(SPLITS)})")
    return name, task_split


def _task(run: Run, name: str):
    from builder.tasks import run_task

    return run_task(run.config, name)


def _file_or_hub_rows(bench: str, fields: dict[str, str], split: str) -> tuple[list[dict], str]:
    """Rows {problem, answer}: answer from '#### N', a \\boxed{} solution, or the answer column as is.

    GSM8K names the problem 'question': mapped to 'problem' when no 'problem' column exists.
    """
    from builder.inputs import is_file_source, source_rows
    from builder.problems import map_fields, normalize_row

    raw, origin = source_rows(bench, split), bench
    label = Path(bench).stem if is_file_source(bench) else bench
    mapped = dict(fields)
    if raw and "problem" not in raw[0] and "question" in raw[0] and "problem" not in mapped:
        mapped["problem"] = "question"
    return [normalize_row(r, mapped, origin, i) for i, r in enumerate(map_fields(raw, mapped, origin))], label


def grade(prediction: str | None, gold: str | None, checker) -> bool:
    """The eval path's grading: no prediction or no gold is wrong; else the checker decides."""
    if prediction is None or gold is None:
        return False
    return bool(checker.check_answer(prediction, gold))


def search_config(run: Run, mode: str):
    """greedy: width 1, temperature 0 (no judging); search: the run's tournament. Steps: eval.max_steps."""
    cfg = run.config.search
    if mode == "greedy":
        # model_copy skips validation on purpose: the config forbids width 1 for generation runs.
        # verdict parse: one candidate is never judged, so the judge template's verdict header is moot
        return cfg.model_copy(update={"strategy": "tournament", "width": 1, "samples": None, "temperature": 0.0, "top_p": 1.0,
                                      "verdict": "parse", "max_steps": run.config.eval.max_steps,
                                      "greedy_candidate": False, "record_greedy": False})
    if cfg.strategy == "solution":
        raise InputError("eval mode search is the step tournament with a pairwise step judge; this run's judge "
                         "scores whole solutions (search.strategy solution): use --mode greedy")
    # search.greedy_candidate is part of the search and stays; record_greedy only feeds the nodes
    # table, which an eval does not keep
    return cfg.model_copy(update={"strategy": "tournament", "max_steps": run.config.eval.max_steps, "record_greedy": False})


def eval_rows(result, bench: Benchmark, mode: str, model: str, label: str = JUDGE) -> list[dict]:
    """One evals row per tree: the accepted path as the solution, its boxed answer graded."""
    from builder.steps import extract_boxed

    path_nodes: dict[str, list[dict]] = {}
    for n in result.nodes:
        if n["on_path"] and n["depth"] > 0:
            path_nodes.setdefault(n["tree_id"], []).append(n)
    gold = {p["problem_id"]: p["answer"] for p in bench.problems}
    rows = []
    for t in result.trees:
        steps = sorted(path_nodes.get(t["tree_id"], []), key=lambda n: n["depth"])
        solution = "".join(n["text"] for n in steps)
        prediction = t["final_answer"] if t["final_answer"] is not None else extract_boxed(solution)
        rows.append({
            "model": model, "benchmark": bench.name, "mode": mode, "problem_id": t["problem_id"],
            "prediction": prediction, "correct": grade(prediction, gold.get(t["problem_id"]), bench.checker),
            "n_steps": t["n_steps"], "n_tokens": sum(n["n_tokens"] for n in steps), "solution": solution,
            "label_source": label, "judge_calls": t["judge_calls"], "judge_tokens": t["judge_tokens"],
        })
    return rows


def eval_step(iteration: int, bench_name: str, mode: str, label: str = JUDGE) -> str:
    """The done-marker name of one evals part (builder/store/done.py)."""
    return f"eval/iteration={iteration}/{part_name(bench_name, mode, label)}"


def eval_fingerprint(run: Run, iteration: int, bench: Benchmark, mode: str, label: str = JUDGE) -> str:
    """Everything an evals part depends on: the model's weights, the problems (so --limit, --split and
    eval.search_limit), the search settings of the mode, the prompts, the engine and the seed."""
    from dataclasses import asdict

    from builder.ids import rows_digest
    from builder.search import Templates
    from builder.store.done import fingerprint, model_id
    from builder.tasks import task_fingerprint

    cfg = run.config
    return fingerprint({
        "model": model_id(run.model_path(iteration, label)), "problems": rows_digest(bench.problems),
        "search": search_config(run, mode).model_dump(mode="json"), "templates": asdict(Templates.from_config(cfg.prompts)),
        "engine": cfg.engine.model_dump(mode="json"), "seed": cfg.seed, "task": task_fingerprint(cfg),
    })


def evaluate(run: Run, iteration: int, bench: Benchmark, mode: str, loaded, progress=None,
             label: str = JUDGE) -> EvalSummary:
    """Solve every problem of `bench` with M(iteration) and write the evals part of (bench, mode).

    label="checker": `loaded` is M(iteration)-checker; its rows carry label_source 'checker'.
    """
    from builder.search import Templates, run_search
    from builder.store import is_sealed, record_table, write_table
    from builder.store.done import mark_done

    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}: use greedy or search")
    templates = Templates.from_config(run.config.prompts)
    fp = eval_fingerprint(run, iteration, bench, mode, label)
    result = run_search(loaded.engine, loaded.renderer, bench.problems, search_config(run, mode), templates,
                        run.config.seed, bench.checker, iteration=iteration, progress=progress)
    rows = eval_rows(result, bench, mode, loaded.model, label)
    path = write_table(run, "evals", iteration, part_name(bench.name, mode, label), rows)
    if is_sealed(run, iteration):
        record_table(run, iteration, "evals")
    mark_done(run, eval_step(iteration, bench.name, mode, label), fp, [path])
    return EvalSummary(bench.name, mode, iteration, len(rows), sum(r["correct"] for r in rows),
                       sum(r["prediction"] is not None for r in rows), path, bench.dropped,
                       stats=result.stats.as_dict())


def evaluate_benchmarks(run: Run, iteration: int, benches, modes, fields: dict[str, str], limit: int | None = None,
                        split: str = HUB_SPLIT, if_needed: bool = False, label: str = JUDGE):
    """`psr eval`'s loop: every benchmark in every mode (defaults: run.yaml eval.*), M(iteration) loaded once.

    Yields (benchmark name, mode, EvalSummary), the summary None for a pair skipped by if_needed
    because the same computation is done (builder/store/done.py: same model weights, problems,
    settings; its part unchanged); the model loads only when some pair needs it. label "checker":
    the model is M(iteration)-checker, the oracle ablation.
    """
    from builder.analysis.models import load_model
    from builder.store.done import is_done

    run.require_model(iteration, label)  # before any benchmark is read: the missing model is the first problem
    loaded = None
    for ref in benches or run.config.eval.benchmarks:
        bench = load_benchmark(run, ref, fields, limit or run.config.eval.limit, split)
        for mode in modes or run.config.eval.modes:
            todo = _for_mode(run, bench, mode, limit)
            if if_needed and is_done(run, eval_step(iteration, bench.name, mode, label),
                                     eval_fingerprint(run, iteration, todo, mode, label)):
                yield bench.name, mode, None
                continue
            loaded = loaded or load_model(run, iteration, label)
            yield bench.name, mode, evaluate(run, iteration, todo, mode, loaded, label=label)


def _for_mode(run: Run, bench: Benchmark, mode: str, limit: int | None) -> Benchmark:
    """Search mode on the first eval.search_limit problems (a prefix: the same problems as greedy's
    first K, so the report can pair them); an explicit --limit applies to every mode."""
    k = run.config.eval.search_limit
    if mode != "search" or limit or not k or k >= len(bench.problems):
        return bench
    from dataclasses import replace

    return replace(bench, problems=bench.problems[:k])

"""`psr eval-judge`: the judge accuracy of M(N) on labeled step pairs, each judged in both orders.

Labeled pairs come from the run's EFT test split (iteration 0), the task's EFT examples (test
split), or a file with columns problem, prefix, step_a, step_b, label ('A' or 'B': the better
step). Pairs that are the same comparison in the other order are judged once per order only.

Figures (all judgments = 2 per pair):
  accuracy             judgments whose verdict names the better step / all judgments
                       (an unparseable verdict counts as wrong)
  both_orders_accuracy pairs judged right in both orders / pairs
  swap_consistency     pairs whose two verdicts are parseable and name the same step / pairs with
                       both verdicts parseable
  first_position_rate  verdicts 'A' / parseable verdicts
  unparseable_rate     unparseable verdicts / all judgments
  verdict              the verdict mode (parse | forced | logprob, builder/verdicts.py)
  forced_rate          verdicts decided by the forced continuation / all judgments
  judge_tokens_mean    generated judge tokens per judgment (0 for logprob)
  brier, ece           of p_a against "A is the better step", over judgments with a p_a
  calibration          reliability table: per p_a bin [lo, hi) (the last bin includes 1), judgments,
                       mean p_a, share where A was the better step
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from builder.errors import InputError
from builder.store import Run

REQUIRED = ("problem", "prefix", "step_a", "step_b", "label")


@dataclass(slots=True)
class LabeledPair:
    problem: str
    prefix: str
    better: str  # the better step's text
    worse: str


@dataclass(slots=True)
class JudgeScores:
    pairs: int
    judgments: int
    accuracy: float | None
    both_orders_accuracy: float | None
    swap_consistency: float | None
    first_position_rate: float | None
    unparseable_rate: float | None
    verdict: str = "parse"
    forced_rate: float | None = None
    judge_tokens_mean: float | None = None
    brier: float | None = None
    ece: float | None = None
    calibration: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def load_pairs(run: Run, source: str | None, limit: int | None) -> tuple[list[LabeledPair], str]:
    """Labeled pairs and a name for their source (eft:test, task:NAME, or the file path)."""
    if source in (None, "eft"):
        rows = _eft_test_rows(run)
        if rows or source == "eft":
            if not rows:
                raise InputError(f"{run.root}: no EFT test rows in iteration 0 (run `psr init-data` first)")
            return dedupe(to_pairs(rows, "eft table"), limit), "eft:test"
    if source in (None, "task") or (source or "").startswith("task:"):
        name = run.config.task if source in (None, "task") else source.split(":", 1)[1]
        return dedupe(to_pairs(_task_rows(run, name, limit), f"task {name}"), limit), f"task:{name}"
    from builder.inputs import read_file_rows

    path = Path(source)
    return dedupe(to_pairs(read_file_rows(path), str(path)), limit), str(path)


def _eft_test_rows(run: Run) -> list[dict]:
    from builder.store import read_table

    tbl = read_table(run, "eft", 0)
    return [r for r in tbl.to_pylist() if r["split"] == "test"]


def _task_rows(run: Run, name: str, limit: int | None) -> list[dict]:
    from builder.tasks import run_task

    n = 2 * limit if limit else run.config.init_data.eft_test  # the task emits both orders of each pair
    return run_task(run.config, name).eft_examples("test", n, run.config.seed)


def to_pairs(rows: list[dict], origin: str) -> list[LabeledPair]:
    if not rows:
        raise InputError(f"{origin}: no labeled pairs")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise InputError(f"{origin}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})")
    out = []
    for i, r in enumerate(rows):
        label = str(r["label"]).strip().upper()
        if label not in ("A", "B"):
            raise InputError(f"{origin}: row {i}: label must be 'A' or 'B', got {r['label']!r}")
        for col in ("problem", "step_a", "step_b"):
            if not isinstance(r[col], str) or not r[col].strip():
                raise InputError(f"{origin}: row {i}: column '{col}' is empty or not text")
        better, worse = (r["step_a"], r["step_b"]) if label == "A" else (r["step_b"], r["step_a"])
        out.append(LabeledPair(r["problem"], r["prefix"] or "", better, worse))
    return out


def dedupe(pairs: list[LabeledPair], limit: int | None) -> list[LabeledPair]:
    """Drop repeats of a comparison (EFT data often holds both orders of one pair): we judge both anyway."""
    seen, out = set(), []
    for p in pairs:
        key = (p.problem, p.prefix, p.better, p.worse)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out[:limit] if limit else out


def judge_requests(pairs: list[LabeledPair], renderer, judge_tmpl: str, max_tokens: int, seed: int) -> list:
    """Two greedy requests per pair: better shown as A, then better shown as B."""
    from builder.engines.base import Request
    from builder.steps import split_steps

    reqs = []
    for p in pairs:
        prefix = split_steps(p.prefix)
        for a, b in ((p.better, p.worse), (p.worse, p.better)):
            prompt = renderer.judge_prompt(judge_tmpl, p.problem, prefix, a, b)
            reqs.append(Request(prompt=prompt, temperature=0.0, max_tokens=max_tokens, seed=seed))
    return reqs


def calibration(p_a: list[float], a_better: list[bool], bins: int = 10) -> list[dict]:
    """Reliability table of p_a against the truth "A is the better step": equal-width bins, empty
    bins left out."""
    rows = []
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        idx = [i for i, p in enumerate(p_a) if lo <= p < hi or (k == bins - 1 and p == 1.0)]
        if idx:
            rows.append({"bin": f"[{lo:.1f}, {hi:.1f}{']' if k == bins - 1 else ')'}", "judgments": len(idx),
                         "mean_p_a": sum(p_a[i] for i in idx) / len(idx),
                         "a_better_rate": sum(a_better[i] for i in idx) / len(idx)})
    return rows


def expected_calibration_error(table: list[dict]) -> float | None:
    n = sum(r["judgments"] for r in table)
    return sum(r["judgments"] * abs(r["mean_p_a"] - r["a_better_rate"]) for r in table) / n if n else None


def score(verdicts: list[str | None], p_a: list[float | None] | None = None, sources: list[str | None] | None = None,
          tokens: list[int] | None = None, mode: str = "parse") -> JudgeScores:
    """Figures from verdicts in request order: [better-as-A, better-as-B] per pair (p_a, sources and
    generated tokens per judgment in the same order, when known)."""
    firsts, seconds = verdicts[0::2], verdicts[1::2]
    n_pairs, n = len(firsts), len(verdicts)
    right = [v == "A" for v in firsts] + [v == "B" for v in seconds]
    parsed = [v for v in verdicts if v is not None]
    both_parsed = [(x, y) for x, y in zip(firsts, seconds) if x is not None and y is not None]

    def share(num, den):
        return num / den if den else None

    return JudgeScores(
        pairs=n_pairs, judgments=n,
        accuracy=share(sum(right), n),
        both_orders_accuracy=share(sum(x == "A" and y == "B" for x, y in zip(firsts, seconds)), n_pairs),
        swap_consistency=share(sum(x != y for x, y in both_parsed), len(both_parsed)),
        first_position_rate=share(sum(v == "A" for v in parsed), len(parsed)),
        unparseable_rate=share(n - len(parsed), n),
        verdict=mode,
        **_probability_figures(p_a, sources, tokens, n),
    )


def _probability_figures(p_a, sources, tokens, n: int) -> dict:
    truth = [i % 2 == 0 for i in range(n)]  # even judgments show the better step as A
    known = [(p, t) for p, t in zip(p_a or [], truth) if p is not None]
    table = calibration([p for p, _ in known], [t for _, t in known])
    return {
        "forced_rate": sum(s == "forced" for s in sources) / n if sources and n else None,
        "judge_tokens_mean": sum(tokens) / n if tokens and n else None,
        "brier": sum((p - t) ** 2 for p, t in known) / len(known) if known else None,
        "ece": expected_calibration_error(table),
        "calibration": table,
    }


@dataclass(slots=True)
class JudgeRun:
    """One `psr eval-judge`: the figures (None when skipped as done), where they are saved, the source."""
    figures: dict | None
    scores: JudgeScores | None
    path: Path
    source: str


def run_eval_judge(run: Run, iteration: int, source: str | None = None, limit: int | None = None,
                   verdict: str | None = None, save: bool = False, if_needed: bool = False) -> JudgeRun:
    """`psr eval-judge`: judge, and with `save` write the figures (recorded as done); with `save` and
    `if_needed`, skip an identical computation (same model weights, pairs, verdict mode, template)."""
    from builder.store.done import is_done, mark_done

    run.require_model(iteration)  # the missing model is the first problem, before any pair is read
    pairs, name = load_pairs(run, source, limit)
    mode = verdict or run.config.search.verdict
    path = scores_path(run, iteration, name, mode)
    step, fp = f"eval-judge/{path.stem}", judge_fingerprint(run, iteration, pairs, mode)
    if save and if_needed and is_done(run, step, fp):
        return JudgeRun(None, None, path, name)
    scores, model = evaluate_judge(run, iteration, pairs, verdict=mode)
    figures = {"iteration": iteration, "model": model, "pairs_source": name, **scores.as_dict()}
    if save:
        from builder.store import atomic

        atomic.write_text(path, json.dumps(figures, indent=2) + "\n")  # the report never reads half a file
        mark_done(run, step, fp, [path])
    return JudgeRun(figures, scores, path, name)


def scores_path(run: Run, iteration: int, pairs_source: str, verdict: str) -> Path:
    """RUN/eval/judge-M<N>-<pairs>[-<verdict>].json, read by `psr report` (parse keeps its old name)."""
    from builder.analysis.eval import part_name

    suffix = "" if verdict == "parse" else f"-{verdict}"
    return run.root / "eval" / f"judge-M{iteration}-{part_name(pairs_source, 'pairs')}{suffix}.json"


def judge_fingerprint(run: Run, iteration: int, pairs: list[LabeledPair], verdict: str) -> str:
    from builder.prompts import load_template
    from builder.store.done import fingerprint, model_id

    cfg = run.config
    return fingerprint({"model": model_id(run.model_path(iteration)), "pairs": [asdict(p) for p in pairs],
                        "verdict": verdict, "judge": load_template(cfg.prompts.judge),
                        "judge_max_tokens": cfg.search.judge_max_tokens, "seed": cfg.seed,
                        "engine": cfg.engine.model_dump(mode="json")})


def evaluate_judge(run: Run, iteration: int, pairs: list[LabeledPair], loaded=None,
                   verdict: str | None = None) -> tuple[JudgeScores, str]:
    """Judge every labeled pair in both orders with M(iteration) under a verdict mode (default:
    search.verdict); returns (scores, model)."""
    from builder.analysis.models import load_model
    from builder.prompts import load_template
    from builder.verdicts import Verdicts

    cfg = run.config
    mode = verdict or cfg.search.verdict
    loaded = loaded or load_model(run, iteration)
    verdicts = Verdicts.prepare(mode, cfg.prompts.judge, loaded.engine, loaded.renderer.tokenizer)
    reqs = judge_requests(pairs, loaded.renderer, load_template(cfg.prompts.judge), cfg.search.judge_max_tokens, cfg.seed)
    out = verdicts.judge(loaded.engine, reqs)
    return score([v.verdict for v in out], [v.p_a for v in out], [v.source for v in out],
                 [v.n_tokens for v in out], mode), loaded.model

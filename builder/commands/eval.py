"""`psr eval`, `psr eval-judge`: accuracy of M(N) and of its judge."""

from __future__ import annotations

import json

import click

from builder.commands.options import iter_option, label_option, locked, run_option, say


@click.command("eval")
@locked
@run_option
@iter_option
@click.option("--bench", "benches", multiple=True,
              help="Benchmark: task (the task's test split), task:NAME, task@validation (a task split), "
                   "a file or a Hub id (repeatable). "
                   "Default: eval.benchmarks in run.yaml.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["greedy", "search"]),
              help="greedy: one greedy step at a time; search: best of w per step by self-judging "
                   "(repeatable). Default: eval.modes in run.yaml.")
@click.option("--limit", type=click.IntRange(min=1), help="At most K problems per benchmark (default: eval.limit).")
@click.option("--field", "fields", multiple=True, metavar="DST=SRC", help="Column mapping for files/Hub (problem=..., answer=...).")
@click.option("--split", default="test", show_default=True,
              help="Split of a Hugging Face benchmark, or of a task benchmark without @SPLIT "
                   "(train, validation, test).")
@click.option("--if-needed", is_flag=True,
              help="Skip a benchmark/mode whose evals of iteration N were computed from the same model weights, "
                   "problems (--limit, --split) and settings, and are unchanged since (for make).")
@label_option("model: evaluates M<N>-checker instead of M<N>")
def eval_cmd(run_dir, iteration, benches, modes, limit, fields, split, if_needed, label):
    """Solve held-out problems with M(N) step by step and grade them; rows go to the evals table.

    Benchmarks: GSM8K-style files (question, answer with '#### N'), MATH-style (problem, solution
    with \\boxed{}), or any columns mapped with --field. A rerun replaces that benchmark and mode.

    \b
    Examples:
      psr eval --run runs/demo --iter 1
      psr eval --run runs/demo --iter 1 --bench task --split validation --limit 1000
      psr eval --run runs/demo --iter 2 --label checker    # the oracle ablation M2-checker
      psr eval --run runs/demo --iter 2 --mode greedy --mode search --limit 50
      psr eval --run runs/q7b --iter 1 --bench gsm8k_test.jsonl --bench math500.jsonl
    """
    from builder.analysis.eval import evaluate_benchmarks
    from builder.problems import parse_fields
    from builder.store import ModelRef, Run

    run = Run.open(run_dir)
    name = ModelRef(iteration, label).name
    results = evaluate_benchmarks(run, iteration, benches, modes, parse_fields(list(fields)), limit, split, if_needed,
                                  label)
    for bench_name, mode, s in results:
        if s is None:
            say(f"eval {bench_name} ({mode}) of {name}: already done, skipped (--if-needed)")
            continue
        note = f"; {s.dropped} row(s) without a gold answer skipped" if s.dropped else ""
        say(f"eval {s.benchmark} ({s.mode}) of {name}: {s.correct}/{s.problems} correct, "
            f"accuracy {s.accuracy:.3f}, answered {s.answered}{note} -> {s.path}")
        click.echo(json.dumps({"iteration": iteration, "label_source": label, "benchmark": s.benchmark,
                               "mode": s.mode, "problems": s.problems, "correct": s.correct, "accuracy": s.accuracy}))


@click.command("eval-judge")
@locked
@run_option
@iter_option
@click.option("--pairs", "pairs_src",
              help="Labeled step pairs: eft (the run's EFT test split), task or task:NAME (the task's EFT "
                   "test examples), or a file with problem, prefix, step_a, step_b, label. "
                   "Default: eft when iteration 0 has EFT test rows, else task.")
@click.option("--limit", type=click.IntRange(min=1), help="At most K pairs (each judged twice).")
@click.option("--verdict", type=click.Choice(["parse", "forced", "logprob"]),
              help="How a verdict is read: parse the output, force one when the output has none, or the "
                   "verdict tokens' probabilities without generating. Default: search.verdict in run.yaml.")
@click.option("--save", is_flag=True, help="Also write the figures to RUN/eval/judge-M<N>-<pairs>.json.")
@click.option("--if-needed", is_flag=True,
              help="With --save: skip when that file holds this computation (same model weights, pairs, verdict "
                   "mode, judge template) and is unchanged since (for make).")
def eval_judge(run_dir, iteration, pairs_src, limit, verdict, save, if_needed):
    """The judge accuracy of M(N) on labeled step pairs, each judged in both A/B orders (greedy).

    Prints accuracy (unparseable counts as wrong), swap consistency, first-position win rate,
    unparseable rate and, for forced/logprob verdicts, the calibration of P(A) (reliability table,
    Brier score, ECE) as one JSON line.

    \b
    Example: psr eval-judge --run runs/demo --iter 1 --save
    """
    from builder.analysis.judge_eval import run_eval_judge
    from builder.store import Run

    run = Run.open(run_dir)
    if run.config.search.strategy == "solution":  # make init/iter call this for every run
        say(f"judge of M{iteration}: not measured; this run's judge scores whole solutions (search.strategy "
            "solution), eval-judge measures pairwise step verdicts (read judgments.score, docs/baseline.md)")
        return
    res = run_eval_judge(run, iteration, pairs_src, limit, verdict, save, if_needed)
    if res.figures is None:
        say(f"judge of M{iteration}: {res.path} is up to date, skipped (--if-needed)")
        return
    scores = res.scores
    say(f"judge of M{iteration} on {scores.pairs} pairs from {res.source} (both orders, verdict {scores.verdict}): "
        f"accuracy {_fmt(scores.accuracy)}, swap consistency {_fmt(scores.swap_consistency)}, "
        f"unparseable {_fmt(scores.unparseable_rate)}")
    for row in scores.calibration:
        say(f"  P(A) {row['bin']:<11} {row['judgments']:>5} judgments  mean P(A) {row['mean_p_a']:.3f}  "
            f"A better {row['a_better_rate']:.3f}")
    if save:
        say(f"written to {res.path}")
    click.echo(json.dumps(res.figures))


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"

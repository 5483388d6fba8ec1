"""`psr generate`, `psr seal`, `psr pairs`: the step-wise self-judged search and its pairs."""

from __future__ import annotations

import click

from builder.commands.options import (
    executor_options,
    force_option,
    iter_option,
    label_option,
    locked,
    quiet_option,
    report_removed,
    run_option,
    say,
)


@click.command()
@run_option
@iter_option
@click.option("--shard", metavar="I/K", help="Only the chunks c with c % K == I (K independent processes cover all).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first K problems (by problem_id hash order).")
@executor_options
@force_option
@quiet_option
def generate(run_dir, iteration, shard, limit, executor, address, force, quiet):
    """Search over iteration N's problems with M(N); writes trees, nodes and judgments.

    Resumable: complete chunks are skipped, so rerun the same command after a crash. A sealed
    iteration is left alone unless --force (which removes its data first). Several processes on
    one iteration share its chunks: each computes the chunks no other has claimed, then waits for
    the others' (and computes those whose process died), so a second one on a free core helps.

    \b
    Examples:
      psr generate --run runs/demo --iter 1
      psr generate --run R --iter 1 --shard 0/4    # one of 4 processes; then `psr seal`
      psr generate --run R --iter 1 --executor ray --address auto   # chunks on a Ray cluster
    """
    from builder.progress import SearchProgress, live_enabled
    from builder.search.iteration import generate_iteration
    from builder.store import Run

    run = Run.open(run_dir)
    with SearchProgress(_problem_count(run, iteration, limit), live_enabled(quiet)) as progress:
        report = generate_iteration(run, iteration, shard, limit, force, progress=progress, executor=executor,
                                    address=address)
    if report.sealed:
        say(f"iteration {iteration} is sealed; nothing to do")
        return
    report_removed(report.removed)
    say(_summary(report))


def _problem_count(run, iteration, limit) -> int:
    from builder.store import read_table

    n = read_table(run, "problems", iteration).num_rows
    return min(n, limit) if limit else n


def _summary(r) -> str:
    i, k = r.shard
    shard = f" shard {i}/{k}:" if k > 1 else ""
    s = r.stats
    statuses = ", ".join(f"{v} {name}" for name, v in sorted(r.statuses.items())) or "none"
    rate = s.judge_calls / s.engine_seconds if s.engine_seconds else 0.0
    others = f", {len(r.by_others)} computed by another process" if r.by_others else ""
    return (f"iteration {r.iteration}:{shard} computed {len(r.computed)} chunk(s) ({r.n_problems} problems: {statuses}), "
            f"skipped {len(r.skipped)} complete{others}, of {r.n_chunks}; {s.rounds} max rounds, {s.engine_calls} engine calls, "
            f"{s.gen_tokens} gen tokens, {s.judge_calls} judge calls ({rate:.1f}/s engine), "
            f"{r.wall_seconds:.1f}s wall, {s.engine_seconds:.1f}s in the engine\n{_search_line(s)}")


def _search_line(s) -> str:
    """What the search did with its samples (the same figures as the manifest's search_totals)."""
    hist = " ".join(f"{d}:{n}" for d, n in sorted(s.distinct_hist.items(), key=lambda kv: int(kv[0]))) or "-"
    tie = f"{s.all_tie_rounds / s.judged_rounds:.0%}" if s.judged_rounds else "-"
    per_step = f"{s.judge_calls / s.accepted_steps:.1f}" if s.accepted_steps else "-"
    return (f"  search: {s.sampling_rounds} rounds, {s.samples} samples, {s.distinct} distinct "
            f"(distinct per round {hist}); {s.single_rounds} rounds with one distinct candidate (no judge call), "
            f"all-tie {tie} of {s.judged_rounds} judged rounds, {s.rollbacks} rollbacks, "
            f"{s.accepted_steps} accepted steps, {per_step} judge calls per accepted step "
            f"({s.judge_stages} judge stage engine calls)")


@click.command()
@locked
@run_option
@iter_option
def seal(run_dir, iteration):
    """Check every chunk of iteration N is present and verified, then write its manifest.

    \b
    Example:
      psr seal --run runs/demo --iter 1
    """
    from builder.search.iteration import seal_iteration
    from builder.store import Run

    report = seal_iteration(Run.open(run_dir), iteration)
    if report.already:
        say(f"iteration {iteration} is already sealed")
        return
    rows = ", ".join(f"{v} {t}" for t, v in report.rows.items())
    t = report.totals
    say(f"sealed iteration {iteration}: {rows}; {t['judge_calls']} judge calls, {t['gen_tokens']} gen tokens; "
        f"{t['single_rounds']} of {t['sampling_rounds']} rounds with one distinct candidate, {t['rollbacks']} rollbacks")


@click.command()
@locked
@run_option
@iter_option
@label_option("in part-checker.parquet, never in the default export")
@force_option
def pairs(run_dir, iteration, label, force):
    """Extract best-vs-worst step pairs from sealed iteration N, through counted quality gates.

    --label checker builds the oracle ablation instead: from the same rounds, a correct against a
    wrong candidate as the task's step checker labels them (tasks with a step checker only).

    \b
    Examples:
      psr pairs --run runs/demo --iter 1
      psr pairs --run runs/demo --iter 1 --label checker
    """
    from builder.pairs import build_pairs, gates_text
    from builder.store import ModelRef, Run

    run = Run.open(run_dir)
    oracle = ModelRef.trained_by(iteration, label).ablation
    report = build_pairs(run, iteration, force, label)
    if report.already:
        say(f"iteration {iteration}: {label + ' ' if oracle else ''}pairs already extracted ({gates_text(report.gates)}); "
            "--force redoes them")
    elif oracle:
        report_removed(report.removed)
        r = report.gates["rounds"]
        say(f"iteration {iteration}: {len(report.rows)} {label} (oracle-labelled) pairs ({gates_text(report.gates)}); "
            f"of {r['rounds']} rounds: {r['all_correct']} all correct, {r['all_wrong']} all wrong, "
            f"{r['single']} single candidate, {r['unlabelled']} unlabelled")
    else:
        report_removed(report.removed)
        say(f"iteration {iteration}: {len(report.rows)} pairs ({gates_text(report.gates)})")
    if not oracle and report.gates and not report.gates["kept"]:
        _no_pairs(run, iteration, report.gates)


def _no_pairs(run, iteration: int, gates: dict) -> None:
    """A valid outcome, not an error: the table is written (empty); `psr export` refuses it."""
    from builder.pairs import no_pairs_hint

    say(f"iteration {iteration} has 0 pairs, so M{iteration + 1} cannot be trained from it: "
        + no_pairs_hint(gates, run.config.search.strategy, run.root, iteration))

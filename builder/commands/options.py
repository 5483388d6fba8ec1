"""Option bundles shared by commands (--run, --iter, --force, --quiet, --executor) and small output helpers."""

from __future__ import annotations

import functools

import click


def _inherit_run(ctx, param, value):
    """--run given to a group (`psr init-data --run R import ...`) counts for its subcommands."""
    parent = ctx.parent
    while not value and parent is not None:
        value = parent.params.get("run_dir")
        parent = parent.parent
    if not value:
        raise click.MissingParameter(ctx=ctx, param=param)
    ctx.meta["psr.run_dir"] = value  # meta is shared by the whole context tree: cli.py names a full disk with it
    return value


def run_option(f):
    return click.option(
        "--run", "run_dir", envvar="PSR_RUN", callback=_inherit_run, type=click.Path(file_okay=False),
        help="Run directory (required; default: $PSR_RUN).", show_envvar=True,
    )(f)


def iter_option(f):
    return click.option("--iter", "iteration", required=True, type=click.IntRange(min=0), help="Iteration N.")(f)


def force_option(f):
    return click.option("--force", is_flag=True, help="Redo a sealed iteration: remove its files first (says what it removed).")(f)


def label_option(what: str):
    """--label judge|checker|replay: the loop's self-judged pairs, the oracle-labelled ablation, or
    the compute-matched control (iteration 0's SFT rows, no pairs)."""
    from builder.store.model_ref import JUDGE, LABELS

    return click.option("--label", default=JUDGE, show_default=True, type=click.Choice(LABELS),
                        help=f"judge: the model's self-judged pairs; checker: the oracle ablation "
                             f"(pairs labelled by the task's step checker) {what}; replay: the "
                             f"compute-matched control (iteration 0's SFT rows for as many optimizer "
                             f"steps as M<N+1> took, no pairs).")


def quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, help="No progress display (also off when stderr is not a terminal).")(f)


def executor_options(f):
    """--executor local|ray and --address (docs/cluster.md)."""
    f = click.option("--address", envvar="RAY_ADDRESS", show_envvar=True, metavar="HOST:PORT|auto",
                     help="Ray cluster to join (with --executor ray); default: start a local one.")(f)
    return click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                        help="Run the chunks in this process, or as tasks on Ray actors "
                             "(resources: run.yaml executor.ray).")(f)


def say(message: str) -> None:
    """Summaries go to stderr so stdout stays clean for data."""
    click.echo(message, err=True)


def report_removed(removed: list) -> None:
    if removed:
        say(f"--force: removed {len(removed)} file(s) of the sealed iteration: " + ", ".join(str(p) for p in removed[:5])
            + (" ..." if len(removed) > 5 else ""))


def locked(f):
    """Run the command alone on its --run and --iter (`psr push`: on the run) under the run lock
    (builder/store/lock.py); adds --wait SECONDS. Another holder: exit 2 naming it."""

    @click.option("--wait", "lock_wait", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
                  help="When another writer holds the run lock (of this iteration; push: of the run), "
                       "wait up to SECONDS for it (default: exit 2 at once).")
    @functools.wraps(f)
    def wrapper(*args, lock_wait, **kwargs):
        from builder.store import Run
        from builder.store.lock import describe, run_lock

        root = Run.open(kwargs["run_dir"]).root  # no lock folder in a path that is not a run
        iteration = kwargs.get("iteration")
        ctx = click.get_current_context()
        command = ctx.command_path + ("" if iteration is None else f" --iter {iteration}")
        with run_lock(root, iteration, command, wait=lock_wait) as left:
            if left:
                say(f"took over the lock of {describe(left)}, which ended without releasing it")
            return f(*args, **kwargs)

    return wrapper

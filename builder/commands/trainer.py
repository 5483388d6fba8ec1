"""`psr export`, `psr config`, `psr train`: hand an iteration to Axolotl (builder/trainer/)."""

from __future__ import annotations

import click

from builder.commands.options import iter_option, label_option, locked, run_option, say


@click.command()
@locked
@run_option
@iter_option
@click.option("--force", is_flag=True, help="Export again even when done from the same inputs.")
@label_option("exported to RUN/trainer/iteration=N/checker/")
def export(run_dir, iteration, force, label):
    """Write iteration N's trainer input file.

    \b
    N >= 1: RUN/trainer/iteration=N/pairs.parquet (prompt, chosen, rejected) from the sealed pairs;
    N = 0:  RUN/trainer/iteration=0/sft.parquet (Axolotl input_output rows) from IFT + EFT train.
    Terminal steps end with the model's EOS text, intermediate steps carry none.
    Only the judge's pairs are exported unless --label checker (then only the oracle's, into
    RUN/trainer/iteration=N/checker/pairs.parquet); --label replay writes iteration 0's SFT rows
    to RUN/trainer/iteration=N/replay/sft.parquet. Done once per input: changed pairs (or
    M(N)'s tokenizer) export again, and `psr train` then retrains M(N+1).

    \b
    Example: psr export --run runs/demo --iter 1
    """
    from builder.store import ModelRef, Run
    from builder.store.model_ref import M1_GIVEN
    from builder.trainer.export import export_iteration

    res = export_iteration(Run.open(run_dir), iteration, force=force, label=label)
    if res.status == "skipped":
        say(M1_GIVEN)
        return
    dropped = "; ".join(f"dropped {n} ({why})" for why, n in res.dropped.items())
    verb = {"unchanged": "already exported", "written": "exported", "replaced": "replaced"}[res.status]
    ref = ModelRef.trained_by(iteration, label)
    oracle = (f"; oracle-labelled ({label}) pairs, an ablation" if ref.oracle else
              "; iteration 0's SFT rows, the compute-matched control" if ref.control else "")
    say(f"{verb}: {res.path} ({res.rows} rows{'; ' + dropped if dropped else ''}{oracle})")


@click.command()
@locked
@run_option
@iter_option
@click.option("--no-validate", is_flag=True, help="Only render; skip Axolotl's validation.")
@label_option("(RUN/trainer/iteration=N/checker/axolotl.yaml, output models/M<N+1>-checker)")
def config(run_dir, iteration, no_validate, label):
    """Render RUN/trainer/iteration=N/axolotl.yaml and validate it with Axolotl.

    The template is trainer_configs/sft.yaml (N = 0) or dpo.yaml (N >= 1), deep-merged with
    run.yaml trainer.sft.overrides / trainer.dpo.overrides (and trainer.dpo.nll_weight). --label
    replay renders sft.yaml with max_steps = the optimizer steps M(N+1) took. Validation (Axolotl's validate_config
    and normalize_config) runs in the trainer environment when it exists, once per config content
    and Axolotl version. Needs M(N) and the exported file (`psr export`): else exit 2.

    \b
    Example: psr config --run runs/demo --iter 1
    """
    from builder.store import Run
    from builder.store.model_ref import M1_GIVEN
    from builder.trainer.configure import configure_iteration

    res = configure_iteration(Run.open(run_dir), iteration, label, validate=not no_validate)
    if res.path is None:
        say(M1_GIVEN)
        return
    state = "written" if res.changed else "unchanged"
    note = {"off": "not validated: --no-validate", "validated": "validated by Axolotl",
            "no-env": f"not validated: no trainer environment at '{res.env}'; run `make trainer`"}.get(res.validation)
    if note is None:
        normalized = "" if res.normalized else "; normalize_config skipped: base model is not a local folder"
        note = f"valid for Axolotl {res.axolotl or '?'}{normalized}"
    say(f"{state}: {res.path} ({note})")


@click.command(context_settings={"ignore_unknown_options": True})
@locked
@run_option
@iter_option
@click.option("--launcher", type=click.Choice(["accelerate", "torchrun"]), help="Multi-GPU launcher (default: trainer.launcher).")
@click.option("--force", is_flag=True, help="Retrain even when M(N+1) is up to date (removes it first).")
@label_option("trained into models/M<N+1>-checker, M<N+1> untouched")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def train(run_dir, iteration, launcher, force, label, extra):
    """Run `axolotl train` on iteration N's config in the trainer environment: M(N) -> M(N+1).

    Output goes to RUN/trainer/iteration=N/train.log and the terminal. Arguments after `--` go to
    `axolotl train` as they are; launcher arguments after a second `--`. Does nothing when M(N+1)
    was trained from the same config, data, base model and arguments (--force retrains it).
    Needs M(N), the export and a current config: else exit 2 naming the step to run first.

    \b
    Example: psr train --run runs/q7b --iter 1 --launcher accelerate -- --max-steps 10 -- --num_processes 8
    """
    from builder.store import ModelRef, Run
    from builder.store.model_ref import M1_GIVEN
    from builder.trainer.train import train_iteration

    run = Run.open(run_dir)
    res = train_iteration(run, iteration, launcher=launcher, extra=tuple(extra), force=force, label=label)
    name = ModelRef.trained_by(iteration, label).name
    if res.status == "skipped":
        say(f"{M1_GIVEN} (M1: {res.model})")
    elif res.status == "exists":
        say(f"{name} exists; nothing to do ({res.model}; --force retrains it)")
    else:
        say(f"trained {name}: {res.model} in {res.seconds:.0f} s (log: {res.log})")

"""Scripted store fixtures for the trainer tests: a run whose iteration 1 holds real pairs rows.

The pairs are written by hand (a stand-in for `psr generate` + `psr pairs`, which are another
issue's work) but are real rows of the pairs schema, rendered with the tiny model's own chat
template, so the export, the config and Axolotl see exactly what the loop would produce.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builder.prompts import ChatRenderer, load_template
from builder.store import init_run, seal, write_table

PROBLEM = "13 + 9 - 4"
STEPS = ["Step 1: 13 + 9 = 22\n", "Step 2: 22 - 4 = 18\n", "Step 3: The answer is \\boxed{18}\n"]
WRONG = ["Step 1: 13 + 9 = 21\n", "Step 2: 22 - 4 = 19\n", "Step 3: The answer is \\boxed{17}\n"]


def make_run(tmp_path: Path, tiny_model_dir, *sets: str):
    """A demo-preset run whose M0 is the tiny model (M1 too, copied, so iteration 1 can train).

    Without iteration 0's IFT stage unless `sets` turn it on: it trains a model inside init-data
    (tests/test_own_stage.py and the e2e loop cover it)."""
    run = init_run(tmp_path / "run", "demo", [f"models.M0={tiny_model_dir}", "init_data.own_steps.ift_steps=0", *sets])
    return run


def add_model(run, n: int, source) -> str:
    dest = Path(run.models_dir()) / f"M{n}"
    shutil.copytree(source, dest, dirs_exist_ok=True)
    return str(dest)


def pair_row(renderer, tmpl, depth: int, chosen: str, rejected: str, *, final: bool, rejected_terminal: bool,
             prompt: str | None = None) -> dict:
    prefix = "".join(STEPS[: depth - 1])
    return {
        "pair_id": f"t0/n{depth}#0", "tree_id": "t0", "problem_id": "p0", "parent_id": f"n{depth}",
        "depth": depth, "chosen_node": f"c{depth}", "rejected_node": f"r{depth}",
        "prompt": renderer.generation_prompt(tmpl, PROBLEM, STEPS[: depth - 1]) if prompt is None else prompt,
        "prefix": prefix, "chosen": chosen, "rejected": rejected, "chosen_wins": 9, "rejected_wins": 1,
        "margin": 8.0, "is_final_step": final, "chosen_terminal": final, "rejected_terminal": rejected_terminal,
        "chosen_correct": True, "rejected_correct": False, "label_source": "judge",
        "round": None, "chosen_rank": None, "rejected_rank": None,
    }


def demo_pairs(model_dir) -> list[dict]:
    """One intermediate pair, one final pair, a mixed one (rejected ends early), and two bad rows."""
    renderer = ChatRenderer(str(model_dir))
    tmpl = load_template("reasoning_arith")
    return [
        pair_row(renderer, tmpl, 1, STEPS[0], WRONG[0], final=False, rejected_terminal=False),
        pair_row(renderer, tmpl, 3, STEPS[2], WRONG[2], final=True, rejected_terminal=True),
        pair_row(renderer, tmpl, 2, STEPS[1], WRONG[2].replace("3", "2", 1), final=False, rejected_terminal=True),
        pair_row(renderer, tmpl, 2, STEPS[1], "", final=False, rejected_terminal=False),          # empty rejected
        pair_row(renderer, tmpl, 2, STEPS[1], WRONG[1], final=False, rejected_terminal=False, prompt="  "),  # empty prompt
    ]


def seal_pairs(run, iteration: int, rows: list[dict]) -> None:
    """Write the pairs of `iteration` and seal it (the real loop seals, then records pairs)."""
    write_table(run, "pairs", iteration, "pairs", rows)
    seal(run, iteration, ["pairs"], {"stand_in": "tests/trainer_helpers.py"})


def dpo_run(tmp_path: Path, tiny_model_dir, *sets: str):
    """A run with M1 present and a sealed iteration 1 holding demo_pairs."""
    run = make_run(tmp_path, tiny_model_dir, *sets)
    add_model(run, 1, tiny_model_dir)
    seal_pairs(run, 1, demo_pairs(run.model_path(1)))
    return run


def fake_trainer(root: Path, version: str = "0.19.0") -> Path:
    """A stand-in trainer venv, for machines without Axolotl (it comes with `make trainer`): a real
    python whose `axolotl` package appends each validate_config call to ROOT/calls.log, and an
    `axolotl train` that copies base_model to output_dir (a DPO config: records one optimizer step per
exported pair, builder/trainer/optimizer_steps.py) and logs the call. Everything around it
    is real: the subprocesses, their environment, the result file, the config and the markers."""
    import sys
    import textwrap

    site = root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    pkg = site / "axolotl" / "utils"
    pkg.mkdir(parents=True)
    (site / f"axolotl-{version}.dist-info").mkdir()
    log = root / "calls.log"
    (site / "axolotl" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    (pkg / "__init__.py").write_text("")
    (pkg / "dict.py").write_text("class DictDefault(dict):\n    pass\n")
    (pkg / "import_helper.py").write_text("class Trainer:\n    pass\n\n\ndef get_cls_from_module_str(name):\n    return Trainer\n")
    (pkg / "config.py").write_text(textwrap.dedent(f"""\
        def validate_config(cfg):
            with open({str(log)!r}, "a") as fh:
                fh.write("validate\\n")
            return cfg


        def normalize_config(cfg):
            pass
        """))
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nPYTHONPATH="{site}:$PYTHONPATH" exec {sys.executable} "$@"\n')
    # a DPO run records its optimizer steps as builder.trainer.eos_dpo does; here: one per exported pair
    (bin_dir / "axolotl").write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import shutil, sys, yaml
        import pyarrow.parquet as pq
        from builder.trainer.optimizer_steps import write_steps
        cfg = yaml.safe_load(open(sys.argv[2]))
        shutil.copytree(cfg["base_model"], cfg["output_dir"])
        if cfg.get("rl"):
            write_steps(cfg["output_dir"], pq.read_metadata(cfg["datasets"][0]["path"]).num_rows)
        with open({str(log)!r}, "a") as fh:
            fh.write("train\\n")
        """))
    for exe in bin_dir.iterdir():
        exe.chmod(0o755)
    return root


def calls(trainer: Path) -> list[str]:
    log = trainer / "calls.log"
    return log.read_text().split() if log.exists() else []


def set_key(run, item: str) -> None:
    """Change one run.yaml key (KEY=VALUE, as `psr init --set`), as a user editing the file would."""
    import yaml

    from builder.config import apply_override

    data = yaml.safe_load(run.config_path.read_text())
    apply_override(data, item)
    run.config_path.write_text(yaml.safe_dump(data, sort_keys=False))

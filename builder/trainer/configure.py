"""`psr config`: check the iteration's inputs, render and write its Axolotl config, validate it once.

Validation is a step with a done marker (builder/store/done.py) whose fingerprint is what
Axolotl's verdict depends on: the config's content, the Axolotl version that judges it, and
whether normalize_config runs (a local base model). Where the trainer venv lives (trainer.env) is
not part of it: another venv with the same Axolotl keeps an unchanged config validated, and a
changed key of the config (a trainer.*.overrides value, a template) validates it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError
from builder.store import ModelRef, Run
from builder.store.model_ref import JUDGE, skips_iteration


@dataclass(slots=True)
class ConfigResult:
    path: Path | None  # None: iteration 0 skipped (models.M1 given)
    changed: bool = False
    validation: str = "skipped"  # validated (done before) | valid (validated now) | off | no-env
    axolotl: str | None = None
    normalized: bool = True
    env: str = ""


def require_inputs(run: Run, iteration: int, label: str = JUDGE) -> Path:
    """M(N) and the exported file must exist before a config is written or trained: else exit 2
    naming the step to run first (the model's own message names `psr train` of the iteration before)."""
    from builder.trainer.export import export_path

    run.require_model(iteration)
    data = export_path(run, iteration, label)
    if not data.is_file():
        flag = ModelRef.trained_by(iteration, label).flag
        raise InputError(f"no training file {data}; run `psr export --run {run.root} --iter {iteration}{flag}` first")
    return data


def configure_iteration(run: Run, iteration: int, label: str = JUDGE, validate: bool = True) -> ConfigResult:
    from builder.store.done import is_done, mark_done
    from builder.trainer.axolotl_validate import validate_with_axolotl
    from builder.trainer.env import find_env
    from builder.trainer.render import base_model, write_config

    ModelRef.trained_by(iteration, label).trainer_dir(run)  # a label at iteration 0: exit 2 before the M1 rule
    if skips_iteration(run, iteration):
        return ConfigResult(None)
    require_inputs(run, iteration, label)
    path, changed = write_config(run, iteration, label)
    trainer = find_env(run.config.trainer.env, run.root) if validate else None
    if trainer is None:
        return ConfigResult(path, changed, "off" if not validate else "no-env", env=run.config.trainer.env)
    base = base_model(run, iteration)
    step, fp = validation_step(iteration, label), validation_fingerprint(path, trainer, base)
    if is_done(run, step, fp):
        return ConfigResult(path, changed, "validated")
    res = validate_with_axolotl(path, trainer, base)
    mark_done(run, step, fp, [], {"axolotl": res.get("axolotl")})  # the verdict is the output; the config is its input
    return ConfigResult(path, changed, "valid", res.get("axolotl"), bool(res.get("normalized")))


def validation_step(iteration: int, label: str = JUDGE) -> str:
    return f"config/iteration={iteration}" + (f"/{label}" if ModelRef.trained_by(iteration, label).ablation else "")


def validation_fingerprint(config: Path, trainer, base: str) -> str:
    from builder.store.done import fingerprint
    from builder.trainer.env import is_local_model

    return fingerprint({"config": config_content_id(config), "axolotl": axolotl_version(trainer),
                        "normalize": is_local_model(base)})


def config_content_id(config: Path) -> str:
    """What a config says, not how it is written: its keys and values (order and comments aside)."""
    import yaml

    from builder.ids import content_id

    return content_id(json.dumps(yaml.safe_load(config.read_text()), sort_keys=True, default=str), 32)


def axolotl_version(trainer) -> str:
    """The trainer venv's Axolotl version from its package metadata (no process started); the venv's
    path when it has none to read, so an unknown Axolotl is never taken for a known one."""
    found = sorted(Path(trainer.root).glob("lib/python*/site-packages/axolotl-*.dist-info"))
    return found[-1].name.removeprefix("axolotl-").removesuffix(".dist-info") if found else f"unknown at {trainer.root}"

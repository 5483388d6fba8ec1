"""`psr config`: render an iteration's Axolotl config from trainer_configs/ and run.yaml.

Template (trainer_configs/sft.yaml for iteration 0, dpo.yaml for N >= 1) <- run.yaml
trainer.<stage>.overrides (deep-merged; a null deletes a key) <- per-iteration values filled into
the "{{name}}" placeholders: base_model = M(N), output_dir = RUN/models/M{N+1}, the exported file,
this iteration's own dataset_prepared_path, and the run's seed. The per-iteration paths cannot be
overridden: they are what makes iterations immutable and chained.

`label="checker"` renders the oracle ablation's config (RUN/trainer/iteration=N/checker/axolotl.yaml):
the same template and overrides, its own export and cache, output RUN/models/M{N+1}-checker.
`label="replay"` renders the compute-matched control: the SFT template and trainer.sft overrides on
iteration 0's rows, from M(N), with max_steps = the optimizer steps M(N+1) took (its trained.json)
and the DPO stage's optimizer and learning-rate schedule (SCHEDULE_KEYS): at the SFT stage's own
rate (demo: 2e-3 against DPO's 1e-6) nine steps took demo-frontier's M2-replay from 65.5 % to 56.3 %
on the frontier, a control that any trained model beats.

The DPO stage's loss keys (trainer.dpo.nll_weight) are rendered into Axolotl's dpo_loss_type /
dpo_loss_weights, which Axolotl 0.19 passes to TRL's DPOConfig loss_type / loss_weights.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from builder.errors import InputError, PsrError
from builder.store import ModelRef, Run, atomic
from builder.store.model_ref import JUDGE, M1_GIVEN, skips_iteration
from builder.trainer.export import export_path, label_dir, prepared_path

FIXED_KEYS = ("base_model", "output_dir", "datasets", "dataset_prepared_path")
_PLACEHOLDER = re.compile(r"^\{\{(\w+)\}\}$")


def config_path(run: Run, iteration: int, label: str = JUDGE) -> Path:
    return label_dir(run, iteration, label) / "axolotl.yaml"


def output_dir(run: Run, iteration: int, label: str = JUDGE) -> Path:
    """M(N+1), or M(N+1)-checker for the ablation: the ablation never overwrites the loop's model."""
    return run.models_dir() / ModelRef.trained_by(iteration, label).name


def stage(run: Run, iteration: int, label: str = JUDGE):
    """trainer.dpo for pairs; trainer.sft for iteration 0 and the replay control (iteration 0's rows)."""
    return run.config.trainer.dpo if ModelRef.trained_by(iteration, label).from_pairs else run.config.trainer.sft


def templates_dir() -> Path:
    """trainer_configs/, shipped in the package (builder/resources.py)."""
    from builder.resources import data_dir

    return data_dir("trainer_configs")


def template_path(name: str) -> Path:
    """A template by file name in trainer_configs/ or by path."""
    path = Path(name).expanduser()
    for cand in ([path] if path.is_absolute() else [templates_dir() / path, Path.cwd() / path]):
        if cand.is_file():
            return cand
    raise InputError(f"trainer template '{name}' not found (looked in {templates_dir()} and the current directory)")


def render_config(run: Run, iteration: int, label: str = JUDGE) -> dict:
    """The Axolotl config of iteration N (of its `label` pairs) as a plain dict."""
    ref = ModelRef.trained_by(iteration, label)
    label_dir(run, iteration, label)
    if skips_iteration(run, iteration):
        raise PsrError(M1_GIVEN)
    st = stage(run, iteration, label)
    extra = loss_keys(st) if ref.from_pairs else replay_steps(run, iteration) if ref.control else None
    return render_stage(run, st, "dpo" if ref.from_pairs else "sft", {
        "base_model": base_model(run, iteration),
        "output_dir": str(output_dir(run, iteration, label)),
        "dataset": str(export_path(run, iteration, label)),
        "dataset_prepared_path": str(prepared_path(run, iteration, label)),
        "seed": run.config.seed,
    }, extra)


LOSS_KEYS = ("dpo_loss_type", "dpo_loss_weights")


def loss_keys(st) -> dict:
    """trainer.dpo.nll_weight as Axolotl keys: DPO (sigmoid) plus TRL's 'sft' loss (the NLL of the
    chosen completion, averaged over its tokens) at that weight; nothing for 0 (the template's plain DPO)."""
    if not st.nll_weight:
        return {}
    clash = [k for k in LOSS_KEYS if k in st.overrides]
    if clash:
        raise InputError(f"run.yaml trainer.dpo.nll_weight and trainer.dpo.overrides.{clash[0]} both set the loss: keep one")
    return {"dpo_loss_type": ["sigmoid", "sft"], "dpo_loss_weights": [1.0, float(st.nll_weight)]}


def replay_steps(run: Run, iteration: int) -> dict:
    """max_steps of the replay control: the optimizer steps M(N+1) took, from its trained.json."""
    from builder.store.atomic import read_json

    judge = ModelRef.trained_by(iteration)
    record = read_json(label_dir(run, iteration) / "trained.json") or {}
    steps = record.get("optimizer_steps")
    if not record:
        raise InputError(f"--label replay matches the optimizer steps of {judge.name}, which is not trained; "
                         f"run `psr train --run {run.root} --iter {iteration}` first")
    if not isinstance(steps, int) or steps < 1:
        raise InputError(f"{label_dir(run, iteration) / 'trained.json'} records no optimizer steps ({judge.name} was "
                         f"trained before they were recorded); run `psr train --run {run.root} --iter {iteration} --force` first")
    dpo = stage_keys(run.config.trainer.dpo)
    return {"max_steps": steps, **{k: dpo.get(k) for k in SCHEDULE_KEYS}}  # None: the SFT value is dropped too


# what the compute-matched control takes from the DPO stage besides the step count
SCHEDULE_KEYS = ("learning_rate", "optimizer", "lr_scheduler", "warmup_steps", "warmup_ratio", "weight_decay",
                 "max_grad_norm")


def uses_stage(run: Run) -> bool:
    """Iteration 0 has an IFT stage (init_data.own_steps, builder/initdata/own_stage.py)."""
    return run.config.init_data.own_steps.ift_steps > 0 and not skips_iteration(run, 0)


def stage_model(run: Run) -> Path:
    """M0 after iteration 0's IFT stage: what the SFT of M1 continues from."""
    return run.models_dir() / "M0-ift"


def base_model(run: Run, iteration: int) -> str:
    """What iteration N trains from: M(N); iteration 0 continues from M0-ift when it had an IFT stage."""
    return str(stage_model(run)) if iteration == 0 and uses_stage(run) else run.model_path(iteration)


def render_stage(run: Run, st, name: str, values: dict, extra: dict | None = None) -> dict:
    """Template <- trainer.<name>.overrides <- `extra` (ours, e.g. a stage's max_steps) <- placeholders."""
    fixed = [k for k in FIXED_KEYS if k in st.overrides]
    if fixed:
        raise InputError(f"run.yaml trainer.{name}.overrides.{fixed[0]}: set per iteration by `psr config`, cannot be overridden")
    path = template_path(st.template)
    cfg = fill(deep_merge(stage_keys(st), extra or {}), values, origin=str(path))
    if isinstance(cfg.get("deepspeed"), str):
        cfg["deepspeed"] = resolve_file(cfg["deepspeed"])
    return cfg


def stage_keys(st) -> dict:
    """A stage's template with its run.yaml overrides merged in, placeholders not yet filled."""
    path = template_path(st.template)
    try:
        template = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return deep_merge(template, st.overrides)


def deep_merge(base: dict, over: dict) -> dict:
    """Nested dicts merge key by key; any other value replaces; None removes the key."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def fill(node, values: dict, origin: str):
    """Replace every string that is exactly "{{name}}" by values[name] (keeping its type)."""
    if isinstance(node, dict):
        return {k: fill(v, values, origin) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, values, origin) for v in node]
    if isinstance(node, str) and (m := _PLACEHOLDER.match(node)):
        if m.group(1) not in values:
            raise InputError(f"{origin}: unknown placeholder {node} (known: {', '.join(values)})")
        return values[m.group(1)]
    return node


def resolve_file(ref: str) -> str:
    """A relative file (the DeepSpeed json) is found in trainer_configs/ or the current directory."""
    p = Path(ref).expanduser()
    if p.is_absolute():
        return str(p)
    for base in (templates_dir(), Path.cwd()):
        if (base / p).is_file():
            return str((base / p).resolve())
    return ref


def render_text(cfg: dict, iteration: int) -> str:
    head = (f"# Axolotl config of iteration {iteration}, rendered by `psr config` from trainer_configs/ and run.yaml;"
            " edit run.yaml (trainer.*.overrides), not this file.\n")
    return head + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=1000)


def write_config(run: Run, iteration: int, label: str = JUDGE) -> tuple[Path, bool]:
    """Render and write RUN/trainer/iteration=N/axolotl.yaml; untouched when the content is the same."""
    text = render_text(render_config(run, iteration, label), iteration)
    path = config_path(run, iteration, label)
    if path.exists() and path.read_text() == text:
        return path, False
    atomic.write_text(path, text)
    return path, True

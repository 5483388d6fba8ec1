"""A run directory: its frozen config and where everything of it lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from builder.config import RunConfig, apply_override, dump_config, load_config, load_preset, validate_config
from builder.errors import InputError, PsrError
from builder.store.atomic import write_text
from builder.store.model_ref import JUDGE, ModelRef

CONFIG_NAME = "run.yaml"


@dataclass(slots=True)
class Run:
    root: Path
    config: RunConfig

    @classmethod
    def open(cls, path: str | os.PathLike | None) -> "Run":
        if not path:
            raise InputError("no run directory: pass --run RUN_DIR or set PSR_RUN")
        root = Path(path)
        cfg_path = root / CONFIG_NAME
        if not cfg_path.exists():
            raise InputError(f"{root}: not a run directory (no {CONFIG_NAME}); create it with `psr init {root} --preset demo`")
        return cls(root.resolve(), load_config(cfg_path))

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def table_dir(self, table: str, iteration: int) -> Path:
        return self.data_dir / table / f"iteration={iteration}"

    def manifest_path(self, iteration: int) -> Path:
        return self.data_dir / "manifests" / f"iteration={iteration}.json"

    def work_dir(self, iteration: int) -> Path:
        """Scratch state of long jobs (chunk markers); never read by SQL."""
        return self.root / "work" / f"iteration={iteration}"

    def trainer_dir(self, iteration: int) -> Path:
        return self.root / "trainer" / f"iteration={iteration}"

    def models_dir(self) -> Path:
        return self.root / "models"

    def model_path(self, n: int, label: str = JUDGE) -> str:
        """M(n)'s path or Hub id (builder/store/model_ref.py); label "checker" / "replay": M(n)-checker / M(n)-replay."""
        return ModelRef(n, label).path(self)

    def require_model(self, n: int, label: str = JUDGE) -> str:
        """M(n)'s path (or Hub id), with a one-line error naming the command that builds a missing local one.

        The one "does M(n) exist" check: a local model exists when its folder has a config.json.
        A missing model is a step not run yet: exit 2, like every step whose inputs do not exist.
        """
        ref = ModelRef(n, label)
        model = ref.path(self)
        p = Path(model)
        if p.is_absolute() and not (p / "config.json").is_file():
            if ref.ablation:
                pairs = "`psr pairs`, " if ref.from_pairs else ""
                raise InputError(f"model {ref.name} not found at {p}; build it with {pairs}`psr export`, "
                                 f"`psr config` and `psr train` with --run {self.root} --iter {n - 1}{ref.flag}")
            if n == 0:
                how = f"`psr model tiny {p}` (or set models.M0 in run.yaml)"
            else:
                how = f"`psr train --run {self.root} --iter {n - 1}`" + (" (or set models.M1 in run.yaml)" if n == 1 else "")
            raise InputError(f"model M{n} not found at {p}; build it with {how}")
        return model

    def resolve_ref(self, ref: str) -> str:
        """A relative path that exists (or looks local) is taken relative to the run dir; else a Hub id."""
        p = Path(ref)
        if p.is_absolute():
            return str(p)
        local = self.root / p
        if local.exists() or ref.startswith(("models/", "./", "../")):
            return str(local)
        return ref


def init_run(root: Path, preset: str, overrides: list[str], force: bool = False) -> Run:
    root = Path(root)
    cfg_path = root / CONFIG_NAME
    if cfg_path.exists() and not force:
        raise PsrError(f"{cfg_path} exists: a run's config is frozen (use --force to overwrite it)")
    data = load_preset(preset)
    for item in overrides:
        apply_override(data, item)
    cfg = validate_config(data, f"preset '{preset}' with --set overrides")
    root.mkdir(parents=True, exist_ok=True)
    write_text(cfg_path, f"# psr run config (preset: {preset}); frozen for this run\n" + dump_config(cfg))
    return Run(root.resolve(), cfg)

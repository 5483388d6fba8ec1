"""The trainer environment: where Axolotl lives and the process environment it runs with.

Axolotl pins its own torch/transformers/TRL, so it runs in its own venv (`make trainer`) or in one
the user points `trainer.env` at. We only ever talk to it through subprocesses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from builder.errors import PsrError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

# Axolotl phones home by default; W&B would try the network.
QUIET_ENV = {"AXOLOTL_DO_NOT_TRACK": "1", "DO_NOT_TRACK": "1", "WANDB_MODE": "disabled"}
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass(slots=True, frozen=True)
class TrainerEnv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def axolotl(self) -> Path:
        return self.bin / "axolotl"


def candidates(env: str) -> list[Path]:
    """A relative trainer.env is looked up in the current directory, then in the repository."""
    p = Path(env).expanduser()
    return [p] if p.is_absolute() else [Path.cwd() / p, REPO_ROOT / p]


def find_env(env: str) -> TrainerEnv | None:
    for path in candidates(env):
        if (path / "bin" / "axolotl").exists() and (path / "bin" / "python").exists():
            return TrainerEnv(path.absolute())
    return None


def require_env(env: str) -> TrainerEnv:
    found = find_env(env)
    if found is None:
        raise PsrError(
            f"no trainer environment at '{env}' (no bin/axolotl there); run `make trainer` "
            "or set trainer.env in run.yaml to a venv with Axolotl"
        )
    return found


def process_env(trainer: TrainerEnv, offline: bool) -> dict[str, str]:
    """Our environment plus: the venv's bin/ first on PATH (axolotl execs `accelerate`), the repo on
    PYTHONPATH (the config's trainer_cls lives in builder.trainer.eos_dpo), telemetry off, and the
    Hub offline when the model is local."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(trainer.root)
    env["PATH"] = os.pathsep.join([str(trainer.bin), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    env.update(QUIET_ENV)
    if offline:
        env.update(OFFLINE_ENV)
    return env


def is_local_model(path: str) -> bool:
    return Path(path).is_dir()

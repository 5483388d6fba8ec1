"""The trainer environment: where Axolotl lives and the process environment it runs with.

Axolotl pins its own torch/transformers/TRL, so it runs in its own venv (`make trainer`) or in one
the user points `trainer.env` at. We only ever talk to it through subprocesses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from builder.errors import PsrError

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the installed (or source) builder package
REPO_ROOT = PACKAGE_DIR.parent  # a source checkout's root (in a wheel install: site-packages)

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


def candidates(env: str, run_dir: Path | None = None) -> list[Path]:
    """A relative trainer.env is looked up in the current directory, then in the run directory.

    Never beside the package: installed from a wheel, that is site-packages."""
    p = Path(env).expanduser()
    if p.is_absolute():
        return [p]
    return [Path.cwd() / p] + ([Path(run_dir) / p] if run_dir is not None else [])


def find_env(env: str, run_dir: Path | None = None) -> TrainerEnv | None:
    for path in candidates(env, run_dir):
        if (path / "bin" / "axolotl").exists() and (path / "bin" / "python").exists():
            return TrainerEnv(path.absolute())
    return None


def require_env(env: str, run_dir: Path | None = None) -> TrainerEnv:
    found = find_env(env, run_dir)
    if found is None:
        where = " or the run directory" if run_dir is not None and not Path(env).expanduser().is_absolute() else ""
        raise PsrError(
            f"no trainer environment at '{env}' (no bin/axolotl there, relative to the current directory{where}); "
            "run `make trainer` or set trainer.env in run.yaml to a venv with Axolotl"
        )
    return found


def package_only_path() -> Path:
    """A folder whose one entry is a link to the builder package, for the trainer's PYTHONPATH.

    The config's trainer_cls lives in builder.trainer.eos_dpo, so Axolotl must import builder; but
    the folder holding builder is, in a non-editable install, this venv's site-packages, whose
    transformers/TRL would shadow the trainer venv's own pins."""
    import tempfile

    from builder.ids import content_id

    folder = Path(tempfile.gettempdir()) / f"psr-builder-path-{content_id(str(PACKAGE_DIR), 12)}"
    link = folder / "builder"
    if not link.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(PACKAGE_DIR, target_is_directory=True)
        except FileExistsError:  # another process made it first
            pass
    return folder


def process_env(trainer: TrainerEnv, offline: bool, threads: int | str | None = None) -> dict[str, str]:
    """Our environment plus: the venv's bin/ first on PATH (axolotl execs `accelerate`), the builder
    package alone on PYTHONPATH (see package_only_path), telemetry off, the Hub offline when the
    model is local, and OMP_NUM_THREADS when `threads` (run.yaml trainer.threads) is set."""
    env = dict(os.environ)
    if threads is not None:  # accelerate keeps an inherited OMP_NUM_THREADS, else pins 1 thread
        env["OMP_NUM_THREADS"] = str(usable_cpus() if threads == "auto" else threads)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(trainer.root)
    env["PATH"] = os.pathsep.join([str(trainer.bin), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(package_only_path()), env.get("PYTHONPATH", "")] if p)
    env.update(QUIET_ENV)
    if offline:
        env.update(OFFLINE_ENV)
    return env


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def is_local_model(path: str) -> bool:
    return Path(path).is_dir()

"""`psr train`: run `axolotl train` on an iteration's config in the trainer venv, then check M(N+1).

Output streams to the terminal and to RUN/trainer/iteration=N/train.log. Idempotent: when
M(N+1) was trained from the same config, data, base model and arguments (its done marker,
builder/store/done.py), nothing runs; a changed input retrains it; forced, it retrains anyway.
`label="checker"` trains the oracle ablation M(N+1)-checker from RUN/trainer/iteration=N/checker/,
`label="replay"` the compute-matched control M(N+1)-replay from RUN/trainer/iteration=N/replay/.
trained.json records the optimizer steps the trainer took when it reports them
(builder/trainer/optimizer_steps.py: the DPO trainer does), which the control then matches.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError, PsrError
from builder.store import ModelRef, Run, atomic
from builder.store.model_ref import JUDGE, skips_iteration
from builder.trainer.env import is_local_model, process_env, require_env
from builder.trainer.render import base_model, config_path, output_dir, render_config, render_text

LAUNCHERS = ("accelerate", "torchrun")


@dataclass(slots=True)
class TrainResult:
    model: Path
    status: str  # trained | exists | skipped
    seconds: float = 0.0
    log: Path | None = None


def output_model(run: Run, iteration: int, label: str = JUDGE) -> Path:
    return output_dir(run, iteration, label)


def train_iteration(run: Run, iteration: int, launcher: str | None = None, extra: tuple[str, ...] = (),
                    force: bool = False, echo=sys.stderr, label: str = JUDGE) -> TrainResult:
    """Train M(N+1) unless it was trained from the same config, data, base model and arguments and
    is unchanged since (builder/store/done.py); `force` retrains it. Missing inputs: exit 2."""
    from builder.store.done import is_done, mark_done
    from builder.trainer.export import label_dir

    folder = label_dir(run, iteration, label)
    if skips_iteration(run, iteration):
        return TrainResult(Path(run.model_path(1)), "skipped")
    out = output_model(run, iteration, label)
    cfg, data = _current_inputs(run, iteration, label)
    step, fp = train_step(iteration, label), train_fingerprint(run, iteration, cfg, data, extra)
    if not force and (is_done(run, step, fp) or _trained_before(run, step, fp, folder, cfg, data, out)):
        return TrainResult(out, "exists")
    trainer = require_env(run.config.trainer.env, run.root)
    launcher = launcher or run.config.trainer.launcher
    if launcher and launcher not in LAUNCHERS:
        raise PsrError(f"unknown launcher '{launcher}': use one of {', '.join(LAUNCHERS)}")
    log = folder / "train.log"
    cmd, seconds = run_axolotl(run, trainer, cfg, out, log, f"for iteration {iteration}",
                               is_local_model(run.model_path(iteration)), launcher=launcher, extra=extra, echo=echo)
    _write_lineage(run, iteration, cfg, cmd, seconds, label)
    mark_done(run, step, fp, [out])
    return TrainResult(out, "trained", seconds, log)


def train_step(iteration: int, label: str = JUDGE) -> str:
    return f"train/iteration={iteration}" + (f"/{label}" if ModelRef.trained_by(iteration, label).ablation else "")


def train_fingerprint(run: Run, iteration: int, cfg: Path, data: Path, extra: tuple[str, ...]) -> str:
    """What M(N+1) depends on: the config's and the data's content, the base model's weights and the
    arguments given to `axolotl train` (run.yaml trainer.extra_args and those after `--`)."""
    from builder.store.done import file_hash, fingerprint, model_id
    from builder.trainer.configure import config_content_id

    return fingerprint({"config": config_content_id(cfg), "data": file_hash(data), "base": model_id(base_model(run, iteration)),
                        "args": [*run.config.trainer.extra_args, *extra]})


def _trained_before(run: Run, step: str, fp: str, folder: Path, cfg: Path, data: Path, out: Path) -> bool:
    """A model trained before step markers existed: its trained.json names this config and data and it
    loads. Recorded as done instead of retrained (hours on a 7B model); never over an existing marker."""
    from builder.store.done import mark_done, marker_path
    from builder.store.atomic import read_json
    from builder.store.lineage import sha256_file

    record = read_json(folder / "trained.json") or {}
    if marker_path(run, step).exists() or not record:
        return False
    same = (record.get("config", {}).get("sha256") == sha256_file(cfg)
            and record.get("data", {}).get("sha256") == sha256_file(data))
    if not same or model_problem(out) is not None:
        return False
    mark_done(run, step, fp, [out])
    return True


def run_axolotl(run: Run, trainer, cfg: Path, out: Path, log: Path, what: str, offline: bool,
                launcher: str | None = None, extra: tuple[str, ...] = (), echo=sys.stderr) -> tuple[list[str], float]:
    """`axolotl train cfg` into a clean `out`, streamed to `log`: the command and its seconds.

    `offline` keeps the Hub unreachable, for a local base model (a Hub id must stay resolvable).

    Raises a one-line PsrError naming `what` and the log when Axolotl fails or `out` does not load.
    """
    if out.exists():  # a forced rerun or the leftovers of an interrupted one: start clean
        shutil.rmtree(out)
    cmd = [str(trainer.axolotl), "train", str(cfg), *(["--launcher", launcher] if launcher else []),
           *run.config.trainer.extra_args, *extra]
    start = time.monotonic()
    code = stream(cmd, log, process_env(trainer, offline=offline, threads=run.config.trainer.threads), echo)
    seconds = time.monotonic() - start
    if code != 0:
        raise PsrError(f"axolotl train failed (exit {code}) {what}; see {log} ({failure_line(log)})")
    problem = model_problem(out)
    if problem:
        raise PsrError(f"axolotl train finished {what} but {out.name} is not usable: {problem}; see {log}")
    return cmd, seconds


def _write_lineage(run: Run, iteration: int, cfg: Path, cmd: list[str], seconds: float, label: str = JUDGE) -> None:
    """RUN/trainer/iteration=N/trained.json: what M(N+1) was trained from, beside the data."""
    from builder.store.lineage import model_fingerprint, sha256_file
    from builder.pairs.checker import ORACLE_NOTE
    from builder.trainer.export import export_path, label_dir
    from builder.trainer.optimizer_steps import read_steps

    data, out = export_path(run, iteration, label), output_model(run, iteration, label)
    record = {
        "model": model_fingerprint(str(out)),
        "base_model": model_fingerprint(base_model(run, iteration)),
        "config": {"path": str(cfg), "sha256": sha256_file(cfg)},
        "data": {"path": str(data), "sha256": sha256_file(data)},
        "command": cmd, "wall_seconds": round(seconds, 1), "optimizer_steps": read_steps(out),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label_source": label, **({"note": ORACLE_NOTE} if ModelRef.trained_by(iteration, label).oracle else {}),
    }
    path = label_dir(run, iteration, label) / "trained.json"
    atomic.write_json(path, record, indent=2)


def _current_inputs(run: Run, iteration: int, label: str = JUDGE) -> tuple[Path, Path]:
    """(config, data) of iteration N, all present and current; else exit 2 naming the step to run."""
    from builder.trainer.configure import require_inputs

    data = require_inputs(run, iteration, label)  # M(N) (its tokenizer shaped the export) and the export
    path = config_path(run, iteration, label)
    flag = ModelRef.trained_by(iteration, label).flag
    hint = f"run `psr config --run {run.root} --iter {iteration}{flag}` first"
    if not path.exists():
        raise InputError(f"no Axolotl config for iteration {iteration} ({path}); {hint}")
    if path.read_text() != render_text(render_config(run, iteration, label), iteration):
        raise InputError(f"{path} is out of date with run.yaml or the templates; {hint}")
    base = base_model(run, iteration)
    if base != run.model_path(iteration) and not (Path(base) / "config.json").is_file():
        raise InputError(f"no model {base} to continue from (init_data.own_steps); run `psr init-data --run {run.root}` first")
    return path, data


def stream(cmd: list[str], log: Path, env: dict, echo) -> int:
    """Run cmd, copying its combined output to `log` and to `echo` as it comes (progress bars too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as fh:
        fh.write(f"$ {' '.join(cmd)}\n".encode())
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        try:
            while chunk := os.read(proc.stdout.fileno(), 65536):
                fh.write(chunk)
                fh.flush()
                if echo is not None:
                    echo.write(chunk.decode(errors="replace"))
                    echo.flush()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait(timeout=30)
            raise
        return proc.wait()


def model_problem(path: Path) -> str | None:
    """None when `path` holds a model that loads: config, weights (headers readable), tokenizer."""
    if not (path / "config.json").is_file():
        return f"{path} has no config.json"
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("pytorch_model*.bin"))
    if not weights:
        return f"{path} has no weight files"
    if not any((path / n).is_file() for n in ("tokenizer.json", "tokenizer_config.json")):
        return f"{path} has no tokenizer"
    try:
        from safetensors import safe_open
        from transformers import AutoConfig, AutoTokenizer

        for w in weights:
            if w.suffix == ".safetensors":
                with safe_open(str(w), framework="pt") as fh:
                    fh.keys()
        AutoConfig.from_pretrained(path)
        AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001 - any load failure means "not usable"
        return f"{path} does not load ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    return None


# an exception line of a traceback ("ValueError: ...", "torch.OutOfMemoryError: ...")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b")
# accelerate's wrapper around the training process's own failure: it names the command, not the cause
LAUNCHER_LINE = "subprocess.CalledProcessError"
TOO_LITTLE_DATA = ("the training data may fill less than one batch (micro_batch_size x gradient_accumulation_steps, "
                   "after sample_packing): add rows or lower micro_batch_size")


def failure_line(log: Path) -> str:
    """Why the trainer failed, in one line: its own last exception line, else the log's last line."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").replace("\r", "\n").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    errors = [ln for ln in lines if EXCEPTION_LINE.match(ln) and not ln.startswith(LAUNCHER_LINE)]
    line = (errors or lines or ["empty log"])[-1][:300]
    return f"{line}; {TOO_LITTLE_DATA}" if line.startswith("ZeroDivisionError") else line

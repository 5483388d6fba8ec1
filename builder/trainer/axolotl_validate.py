"""Validate a rendered Axolotl config with Axolotl itself, inside the trainer venv.

Runs Axolotl's `validate_config` then `normalize_config` (which loads the base model's config, so
it is skipped with a note when the base model is not a local folder), and imports the config's
`trainer_cls` with its TRL guard. A failure comes back as one line with Axolotl's own message.
`psr config` records a passing result as done (builder/trainer/configure.py), so an unchanged
config is not re-validated on every `make iter`.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from builder.errors import PsrError
from builder.trainer.env import TrainerEnv, is_local_model, process_env

_SCRIPT = r'''
import json, sys
out, path, normalize = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
res = {"ok": False}
try:
    import yaml
    from axolotl.utils.config import normalize_config, validate_config
    from axolotl.utils.dict import DictDefault
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    cfg = validate_config(DictDefault(raw))
    if normalize:
        normalize_config(cfg)
    if raw.get("trainer_cls"):
        import importlib
        from axolotl.utils.import_helper import get_cls_from_module_str
        cls = get_cls_from_module_str(raw["trainer_cls"])
        check = getattr(importlib.import_module(cls.__module__), "check_trl_contract", None)
        if check is not None:
            check()
    import axolotl
    res = {"ok": True, "normalized": normalize, "axolotl": axolotl.__version__}
except BaseException as exc:
    res = {"ok": False, "error": type(exc).__name__ + ": " + str(exc)}
with open(out, "w") as fh:
    json.dump(res, fh)
'''


def validate_with_axolotl(config: Path, trainer: TrainerEnv, base_model: str, timeout: float = 300) -> dict:
    """Run Axolotl's validation on `config` in the trainer venv; raises PsrError with its message."""
    normalize = is_local_model(base_model)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [str(trainer.python), "-c", _SCRIPT, str(out), str(config), "1" if normalize else "0"],
            env=process_env(trainer, offline=normalize), capture_output=True, text=True, timeout=timeout,
        )
        if not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PsrError(f"{config}: Axolotl validation did not run (exit {proc.returncode}): {tail[0]}")
        result = json.loads(out.read_text())
    if not result["ok"]:
        raise PsrError(f"{config}: Axolotl rejects it: {one_line(result['error'])}")
    return result


def one_line(message: str, limit: int = 600) -> str:
    parts = [" ".join(line.split()) for line in message.splitlines()]
    text = "; ".join(p for p in parts if p)
    return text if len(text) <= limit else text[: limit - 3] + "..."

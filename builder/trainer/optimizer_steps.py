"""How many optimizer steps a training run took, recorded by the trainer beside the model it saved.

Written inside the Axolotl venv by builder.trainer.eos_dpo (through store/atomic.py, which imports
there: its dependencies are in that venv too), read by
`psr train` into the iteration's trained.json, from which the compute-matched control
(`--label replay`, builder/trainer/render.py) takes its max_steps.
"""

from __future__ import annotations

import json
from pathlib import Path

STEPS_FILE = "psr_optimizer_steps.json"


def write_steps(folder: str | Path, steps: int) -> None:
    """Write STEPS_FILE into `folder` atomically, so a reader never sees half of it."""
    from builder.store.atomic import write_json

    write_json(Path(folder) / STEPS_FILE, {"optimizer_steps": int(steps)})


def read_steps(folder: str | Path) -> int | None:
    """The recorded step count, None when the trainer recorded none (SFT, or a model trained before)."""
    path = Path(folder) / STEPS_FILE
    try:
        steps = json.loads(path.read_text()).get("optimizer_steps")
    except (OSError, ValueError, AttributeError):
        return None
    return steps if isinstance(steps, int) and steps > 0 else None

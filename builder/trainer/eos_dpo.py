"""Step-wise DPO trainer for Axolotl: the data decides where EOS goes, not TRL.

Loaded by `axolotl train` through the config key `trainer_cls: builder.trainer.eos_dpo.StepDPOTrainer`,
so this module runs INSIDE the Axolotl venv: it imports only Axolotl/TRL, the standard library and
builder.trainer.optimizer_steps (standard library only: it records the optimizer step count).

Why: TRL 1.9's `DPOTrainer._prepare_dataset` appends `tokenizer.eos_token` to every string
chosen/rejected that does not already end with it (its inner `add_eos`, fed
`self._tokenizer.eos_token`). For step-level pairs that trains every intermediate step as if the
solution ended there. Our export already puts the EOS text after terminal steps only, so the trainer
must add nothing.

How (least invasive): while TRL's own `_prepare_dataset` runs, `self._tokenizer` is a read-through
proxy whose `eos_token` is "" - every string ends with "", so `add_eos` changes nothing. The real
tokenizer is still passed to the tokenization step (`processing_class`), and is restored right after.

Guard: (1) before training, TRL's `_prepare_dataset` source must still contain that `add_eos`
reading `self._tokenizer.eos_token` (else the proxy may no longer be what stops the append);
(2) after preparation, every tokenized chosen/rejected must end with the EOS id exactly when its
string ends with the EOS text, and never with two. Either failure raises EosPolicyError.
"""

from __future__ import annotations

import inspect
import os
import sys

from axolotl.core.trainers.dpo.trainer import AxolotlDPOTrainer
from trl import DPOTrainer

from builder.trainer.optimizer_steps import write_steps

# What the proxy relies on in trl/trainer/dpo_trainer.py (TRL 1.9.0).
_CONTRACT = ("def add_eos(", "example[\"chosen\"] + eos_token", "self._tokenizer.eos_token")
_CHECK_LIMIT = 100_000  # rows verified per dataset (all of them in any realistic step-DPO round)


class EosPolicyError(RuntimeError):
    """The installed TRL does not behave the way the EOS policy assumes."""


def check_trl_contract() -> None:
    """Fail loudly if TRL's EOS append is no longer the code this module neutralises."""
    import trl

    try:
        src = inspect.getsource(DPOTrainer._prepare_dataset)
    except (OSError, TypeError, AttributeError) as exc:
        raise EosPolicyError(f"TRL {trl.__version__}: cannot read DPOTrainer._prepare_dataset ({exc})") from None
    missing = [s for s in _CONTRACT if s not in src]
    if missing:
        raise EosPolicyError(
            f"TRL {trl.__version__}: DPOTrainer._prepare_dataset no longer matches the EOS append that "
            f"builder.trainer.eos_dpo disables (missing {missing}); re-check the EOS policy "
            "(docs/training.md, builder/trainer/export.py) before training"
        )


class _NoEosTokenizer:
    """Read-through tokenizer proxy whose eos_token is "", so TRL's add_eos is a no-op."""

    eos_token = ""

    def __init__(self, tokenizer):
        object.__setattr__(self, "_real", tokenizer)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __setattr__(self, name, value):
        setattr(self._real, name, value)


class StepDPOTrainer(AxolotlDPOTrainer):
    """AxolotlDPOTrainer that trains chosen/rejected strings exactly as exported (EOS only where written)."""

    def __init__(self, *args, **kwargs):
        check_trl_contract()
        super().__init__(*args, **kwargs)

    def train(self, *args, **kwargs):
        """TRL's training, then its optimizer step count beside the model (builder/trainer/optimizer_steps.py):
        the compute-matched control (`--label replay`) trains for as many."""
        result = super().train(*args, **kwargs)
        if self.is_world_process_zero():
            write_steps(self.args.output_dir, self.state.global_step)
        return result

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        real = self._tokenizer
        eos_text, eos_id = real.eos_token, real.eos_token_id
        self._tokenizer = _NoEosTokenizer(real)
        try:
            prepared = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        finally:
            self._tokenizer = real
        counts = verify_eos(prepared, eos_text, eos_id)
        _say(f"builder.trainer.eos_dpo: TRL EOS append disabled for the {dataset_name} dataset; "
             f"{counts['rows']} rows checked, EOS ends {counts['chosen_eos']} chosen and "
             f"{counts['rejected_eos']} rejected (terminal steps only)")
        return prepared


def verify_eos(dataset, eos_text: str, eos_id: int) -> dict:
    """Every tokenized completion ends with one EOS id iff its string ends with the EOS text."""
    from datasets import IterableDataset

    rows = dataset.take(64) if isinstance(dataset, IterableDataset) else dataset
    counts = {"rows": 0, "chosen_eos": 0, "rejected_eos": 0}
    for i, row in enumerate(rows):
        if i >= _CHECK_LIMIT:
            break
        counts["rows"] += 1
        for side in ("chosen", "rejected"):
            text, ids = row.get(side), row.get(f"{side}_ids")
            if not isinstance(text, str):  # conversational rows: TRL adds no EOS there
                continue
            if ids is None:
                raise EosPolicyError(f"TRL's prepared dataset has no '{side}_ids' column; cannot verify the EOS policy")
            wants = bool(eos_text) and text.endswith(eos_text)
            ends = len(ids) > 0 and ids[-1] == eos_id
            doubled = len(ids) > 1 and ids[-1] == eos_id and ids[-2] == eos_id
            if wants != ends or doubled:
                raise EosPolicyError(
                    f"row {i} {side}: string ends with EOS={wants} but tokens end with EOS={ends}"
                    f"{' (twice)' if doubled else ''}: the trainer would not train what was exported"
                )
            counts[f"{side}_eos"] += wants
    return counts


def _say(message: str) -> None:
    if os.environ.get("RANK", "0") == "0":
        print(message, file=sys.stderr, flush=True)

"""Show what the DPO trainer will actually train on: run INSIDE the Axolotl venv.

    PYTHONPATH=<repo> <trainer-venv>/bin/python -m builder.trainer.probe RUN/trainer/iteration=N/axolotl.yaml OUT.json [--stock]

Builds the trainer exactly the way `axolotl train` does (load_cfg -> load_preference_datasets ->
setup_model_and_trainer, so the config's trainer_cls and TRL's own data preparation run), then
writes the decoded prompt_ids / chosen_ids / rejected_ids of the trainer's tokenized train dataset,
plus any TRL "Mismatch between tokenized prompt" warning (a step silently cut at the boundary).
`axolotl preprocess --debug` cannot show this: it prints the strings before TRL touches them.
Imports only Axolotl and the standard library.
"""

from __future__ import annotations

import json
import logging
import sys


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if "Mismatch between tokenized prompt" in msg:
            self.messages.append(msg)


def probe(config: str, limit: int = 1000, stock: bool = False) -> dict:
    """Decoded rows of the trainer's train dataset; with stock=True also those of Axolotl's stock
    DPO trainer on the same config (trainer_cls removed), the control that shows TRL's append."""
    from axolotl.cli.args import TrainerCliArgs
    from axolotl.cli.config import load_cfg
    from axolotl.common.datasets import load_preference_datasets
    from axolotl.train import setup_model_and_trainer

    collect = _Collect()
    trl_log = logging.getLogger("trl")
    trl_log.addHandler(collect)
    trl_log.setLevel(min(trl_log.level or logging.WARNING, logging.WARNING))
    cfg = load_cfg(config)
    meta = load_preference_datasets(cfg=cfg, cli_args=TrainerCliArgs())
    trainer, _model, tokenizer, _peft, _proc = setup_model_and_trainer(cfg, meta)
    result = {
        "trainer_cls": f"{type(trainer).__module__}.{type(trainer).__name__}",
        "eos_token": tokenizer.eos_token, "eos_token_id": tokenizer.eos_token_id,
        "rows": _decoded(trainer.train_dataset, tokenizer, limit), "prefix_warnings": collect.messages,
    }
    if stock:
        cfg.trainer_cls = None
        stock_trainer = setup_model_and_trainer(cfg, meta)[0]
        result["stock_trainer_cls"] = type(stock_trainer).__name__
        result["stock_rows"] = _decoded(stock_trainer.train_dataset, tokenizer, limit)
    return result


def _decoded(dataset, tokenizer, limit: int) -> list[dict]:
    rows = []
    for i, row in enumerate(dataset):
        if i >= limit:
            break
        rows.append({
            "prompt": tokenizer.decode(row["prompt_ids"]),
            "chosen": tokenizer.decode(row["chosen_ids"]),
            "rejected": tokenizer.decode(row["rejected_ids"]),
            "chosen_ids": list(row["chosen_ids"]),
            "rejected_ids": list(row["rejected_ids"]),
        })
    return rows


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[2:] not in ([], ["--stock"]):
        print(__doc__, file=sys.stderr)
        return 2
    result = probe(argv[0], stock=argv[2:] == ["--stock"])
    with open(argv[1], "w") as fh:
        json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

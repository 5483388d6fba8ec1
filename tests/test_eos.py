"""The EOS policy, proven on what the DPO trainer actually trains on (TRL's tokenized dataset).

An exported demo iteration (one intermediate, one final, one mixed pair on the tiny model) goes
through Axolotl's own loading and trainer construction in the Axolotl venv
(builder.trainer.probe, the same calls `axolotl train` makes). Decoded chosen_ids/rejected_ids:
an intermediate step has no EOS, a terminal step ends with exactly one. The stock Axolotl DPO
trainer on the same data is the control: it appends EOS to the intermediate step (the behaviour
we stop), so the test would fail if our trainer_cls were not in effect. TRL's prompt-prefix
mismatch warning counts as an error.
"""

import json
import subprocess

import pytest

from builder.trainer.env import find_env, process_env
from builder.trainer.export import export_iteration
from builder.trainer.render import write_config
from tests.trainer_helpers import STEPS, WRONG, dpo_run

TRAINER = find_env(".venv-axolotl")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(TRAINER is None, reason="needs the trainer venv (make trainer)")]
EOS = "<|im_end|>"


def _in_trainer_venv(args, cwd, timeout=600):
    proc = subprocess.run([str(TRAINER.python), *args], cwd=cwd, env=process_env(TRAINER, offline=True),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_trainer_trains_eos_only_after_terminal_steps(tmp_path, tiny_model_dir):
    run = dpo_run(tmp_path, tiny_model_dir)
    export_iteration(run, 1)
    config, _ = write_config(run, 1)
    out = tmp_path / "probe.json"
    _in_trainer_venv(["-m", "builder.trainer.probe", str(config), str(out), "--stock"], cwd=tmp_path)
    got = json.loads(out.read_text())
    assert got["trainer_cls"] == "builder.trainer.eos_dpo.StepDPOTrainer"
    assert got["eos_token"] == EOS
    assert got["prefix_warnings"] == []  # TRL's tokenize(prompt) prefix check: a warning is an error here
    eos_id = got["eos_token_id"]
    rows = {r["chosen"].split(":")[0]: r for r in got["rows"]}
    inter, final, mixed = rows["Step 1"], rows["Step 3"], rows["Step 2"]
    # intermediate pair: the exact step text, no EOS / end-of-turn anywhere
    assert (inter["chosen"], inter["rejected"]) == (STEPS[0], WRONG[0])
    assert eos_id not in inter["chosen_ids"] + inter["rejected_ids"]
    # final pair: each side ends with exactly one EOS
    assert (final["chosen"], final["rejected"]) == (STEPS[2] + EOS, WRONG[2] + EOS)
    for ids in (final["chosen_ids"], final["rejected_ids"]):
        assert ids[-1] == eos_id and ids.count(eos_id) == 1
    # mixed pair: intermediate chosen, terminal rejected
    assert eos_id not in mixed["chosen_ids"] and mixed["rejected_ids"][-1] == eos_id
    assert mixed["rejected_ids"].count(eos_id) == 1
    # the prompt is trained as exported (previous steps included, no EOS closing the assistant turn)
    assert final["prompt"].endswith("assistant\n" + STEPS[0] + STEPS[1])
    # control: Axolotl's stock DPO trainer on the same file appends EOS to the intermediate step
    stock = {r["chosen"].split(":")[0]: r for r in got["stock_rows"]}
    assert stock["Step 1"]["chosen"] == STEPS[0] + EOS and stock["Step 1"]["chosen_ids"][-1] == eos_id
    assert stock["Step 3"]["chosen_ids"].count(eos_id) == 1  # no double EOS on terminal steps either way


GUARD = r'''
import sys
from builder.trainer import eos_dpo
assert not any(m in sys.modules for m in ("builder.config", "builder.store", "builder.errors", "duckdb")), "heavy toolkit imports"
eos_dpo.check_trl_contract()  # the installed TRL matches
from trl import DPOTrainer
real = DPOTrainer._prepare_dataset
def changed(self, dataset, processing_class, args, dataset_name):  # a TRL that appends differently
    return dataset
DPOTrainer._prepare_dataset = changed
try:
    eos_dpo.check_trl_contract()
    raise SystemExit("guard did not notice a changed TRL")
except eos_dpo.EosPolicyError as exc:
    print("contract:", exc)
DPOTrainer._prepare_dataset = real
ok = [{"chosen": "Step 1: a\n", "rejected": "Step 1: b\n", "chosen_ids": [5, 6], "rejected_ids": [5, 7]},
      {"chosen": "Step 2: c\n<|im_end|>", "rejected": "Step 2: d\n", "chosen_ids": [8, 2], "rejected_ids": [9]}]
assert eos_dpo.verify_eos(ok, "<|im_end|>", 2) == {"rows": 2, "chosen_eos": 1, "rejected_eos": 0}
for bad in ([dict(ok[0], chosen_ids=[5, 6, 2])], [dict(ok[1], chosen_ids=[8, 2, 2])], [dict(ok[1], chosen_ids=[8])]):
    try:
        eos_dpo.verify_eos(bad, "<|im_end|>", 2)
        raise SystemExit(f"verify_eos accepted {bad}")
    except eos_dpo.EosPolicyError as exc:
        print("data:", exc)
print("GUARD OK")
'''


def test_guard_fails_loudly_when_trl_changes(tmp_path):
    script = tmp_path / "guard.py"  # a file, so inspect.getsource sees the stand-in's code
    script.write_text(GUARD)
    proc = _in_trainer_venv([str(script)], cwd=tmp_path, timeout=300)
    assert "GUARD OK" in proc.stdout
    assert proc.stdout.count("data:") == 3 and "no longer matches" in proc.stdout

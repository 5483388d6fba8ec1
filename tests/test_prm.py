"""PRM step rewards (builder/initdata/prm.py) on locally built RANDOM-weight models of each convention,
read out by hand here; EFT mining with a PRM scorer, a SIGKILLed job rerun; a model of neither kind.

The random models are real transformers models (a Qwen2ForTokenClassification with 2 labels, a
Qwen2ForCausalLM) with the demo tokenizer plus the marker token; their rewards mean nothing, which
is fine: the tests check WHERE and WHAT is read, against a forward pass and a softmax done here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.config import Prm
from builder.errors import InputError
from builder.initdata.prm import HFPrm, PrmInput, separator_text, tag_text
from tests.helpers import invoke

CPU = type("EngineCfg", (), {"device": "cpu", "dtype": "float32", "threads": 1})()
ITEMS = [PrmInput("3 + 4 - 2", ["Step 1: 3 + 4 = 7\n", "Step 2: 7 - 2 = 5\n"]),
         PrmInput("9 - 1 + 5 + 2", ["Step 1: 9 - 1 = 8\n", "Step 2: 8 + 5 = 13\n", "Step 3: 13 + 2 = 15\n"]),
         PrmInput("1 + 1", ["Step 1: 1 + 1 = 3\n"])]


def _tiny(tiny_model_dir, out: Path, head: str, marker: str, seed: int = 0) -> Path:
    """The demo tokenizer plus `marker` as one added token, and a random 2-layer Qwen2 `head` model."""
    import torch
    from transformers import (
        AutoTokenizer,
        Qwen2Config,
        Qwen2ForCausalLM,
        Qwen2ForTokenClassification,
    )

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", marker]})
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256,
                         pad_token_id=tok.pad_token_id, num_labels=2)
    torch.manual_seed(seed)
    model = (Qwen2ForTokenClassification if head == "classifier" else Qwen2ForCausalLM)(config)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def separator_prm(tiny_model_dir, tmp_path_factory):
    return _tiny(tiny_model_dir, tmp_path_factory.mktemp("prm") / "sep", "classifier", "<extra_0>")


@pytest.fixture(scope="module")
def tag_prm(tiny_model_dir, tmp_path_factory):
    return _tiny(tiny_model_dir, tmp_path_factory.mktemp("prm") / "tag", "causal", "ки")


def _forward(path: Path, head: str, ids: list[int]):
    """One unpadded sequence through the saved model: logits [T, C] as a list of lists."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

    cls = AutoModelForTokenClassification if head == "classifier" else AutoModelForCausalLM
    with torch.no_grad():
        return cls.from_pretrained(path).eval()(torch.tensor([ids])).logits[0].tolist()


def _positions_by_hand(tok, text: str, marker: str) -> list[int]:
    """The token position of the k-th marker: the token count of the text up to and including it, minus 1."""
    out, start = [], 0
    while (at := text.find(marker, start)) >= 0:
        start = at + len(marker)
        out.append(len(tok(text[:start], add_special_tokens=False)["input_ids"]) - 1)
    return out


def test_separator_reward_is_class_1_at_each_separator(separator_prm):
    from transformers import AutoTokenizer

    settings = Prm()
    prm = HFPrm(str(separator_prm), settings, CPU)
    assert prm.kind == "separator"
    got = prm.step_rewards(ITEMS)  # one batch of 3, padded
    tok = AutoTokenizer.from_pretrained(separator_prm)
    for item, rewards in zip(ITEMS, got, strict=True):
        text = separator_text(tok, settings, item)
        assert text.count("<extra_0>") == len(item.steps) and "<|im_start|>system\n" + settings.system in text
        ids = tok(text, add_special_tokens=False)["input_ids"]
        pos = _positions_by_hand(tok, text, "<extra_0>")
        assert len(pos) == len(item.steps) and all(ids[p] == tok.convert_tokens_to_ids("<extra_0>") for p in pos)
        logits = _forward(separator_prm, "classifier", ids)
        hand = [math.exp(logits[p][1]) / (math.exp(logits[p][0]) + math.exp(logits[p][1])) for p in pos]
        assert rewards == pytest.approx(hand, abs=1e-5)
    assert len({round(r, 6) for rs in got for r in rs}) > 3  # distinct positions, distinct reads


def test_tag_reward_is_plus_over_plus_and_minus_at_each_tag(tag_prm):
    from transformers import AutoTokenizer

    settings = Prm()
    prm = HFPrm(str(tag_prm), settings, CPU)
    assert prm.kind == "tag"
    got = prm.step_rewards(ITEMS)
    tok = AutoTokenizer.from_pretrained(tag_prm)
    plus, minus = tok.convert_tokens_to_ids("+"), tok.convert_tokens_to_ids("-")
    assert plus != minus and tok.unk_token_id not in (plus, minus)
    for item, rewards in zip(ITEMS, got, strict=True):
        text = tag_text(settings, item)
        assert text == item.problem + " " + "\n".join(s.strip() + " ки" for s in item.steps)
        ids = tok(text)["input_ids"]
        pos = _positions_by_hand(tok, text, "ки")
        logits = _forward(tag_prm, "causal", ids)
        # P(+) / (P(+) + P(-)) of the full next-token softmax: the normaliser cancels
        hand = [math.exp(logits[p][plus]) / (math.exp(logits[p][plus]) + math.exp(logits[p][minus])) for p in pos]
        assert len(pos) == len(item.steps) and rewards == pytest.approx(hand, abs=1e-5)


def test_kind_setting_overrides_detection_and_a_model_of_neither_kind_is_refused(tiny_model_dir, separator_prm):
    with pytest.raises(InputError, match=f"PRM {tiny_model_dir}: neither a step-separator PRM"):
        HFPrm(str(tiny_model_dir), Prm(), CPU)  # the demo M0: a causal LM without the tag token
    # told it is a tag PRM: its tokenizer lacks the tag, said
    with pytest.raises(InputError, match="no single token for"):
        HFPrm(str(tiny_model_dir), Prm(kind="tag"), CPU)
    assert HFPrm(str(separator_prm), Prm(kind="separator"), CPU).kind == "separator"


def test_cli_refuses_a_model_of_neither_kind_with_exit_2_before_any_work(tmp_path, tiny_model_dir):
    from builder.initdata import jobs
    from tests.helpers import make_run

    run = make_run(tmp_path, "demo")
    res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}", "--policy",
                 str(tiny_model_dir), "--scorer", f"prm:{tiny_model_dir}")
    assert res.exit_code == 2, res.output
    assert f"PRM {tiny_model_dir}: neither" in res.output and "Traceback" not in res.output
    assert not jobs.job_dir(run, "eft").exists()  # nothing pinned or written
    res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}", "--scorer", "/models/x")
    assert res.exit_code == 2 and "expected rollouts or prm:PATH_OR_ID" in res.output


# ---- mining with a PRM scorer, and a SIGKILLed job ----------------------------------------------------
KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from builder.initdata.prm import HFPrm
from builder.config import Prm
from builder.store import Run
from tests import test_initdata_eft as t, test_prm as p

class KillingTeacher(t.ScriptedTeacher):
    def ask(self, messages, **kw):
        if {kill} and self.calls:  # the second chunk's judging: SIGKILL, mid-job
            os.kill(os.getpid(), signal.SIGKILL)
        return super().ask(messages, **kw)

run = Run.open({run!r})
t.ScriptedTeacher = KillingTeacher
p.mine(run, {tmp!r}, {tiny!r}, {prm!r})
"""


def mine(run, tmp_path, tiny_model_dir, prm_dir):
    """The scripted EFT job of test_initdata_eft, scored by the PRM at prm_dir."""
    from tests.test_initdata_eft import _scripted_eft

    prm = HFPrm(str(prm_dir), Prm(), CPU)
    return _scripted_eft(Path(tmp_path), Path(tiny_model_dir), run=run, prm=prm,
                         options={"scorer": f"prm:{prm_dir}"})[1]


def _job_output(run) -> dict:
    from builder.initdata import jobs
    from builder.initdata.eft import candidates_path
    from builder.store import read_table

    return {"eft": read_table(run, "eft", 0).to_pylist(), "pairs": jobs.read_jsonl(jobs.log_path(run, "eft")),
            "candidates": jobs.read_jsonl(candidates_path(run)),
            "counts": json.loads(jobs.summary_path(run, "eft").read_text())["counts"]}


def _run_script(root, run, tmp, tiny, prm, kill):
    script = KILL_SCRIPT.format(root=str(root), run=str(run.root), tmp=str(tmp), tiny=str(tiny), prm=str(prm),
                                kill=kill)
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=600)


def test_prm_scored_job_records_scores_and_survives_sigkill(tmp_path, tiny_model_dir, separator_prm):
    from builder.initdata import jobs
    from builder.store import init_run
    from tests.test_initdata_eft import SEARCH_SETS

    root = Path(__file__).resolve().parent.parent
    judge = tmp_path / "judge_test.txt"  # what _scripted_eft writes too: the same run config both times
    judge.write_text("Judge the next step.\n{question_and_partial_steps}\nA: {step_a}\nB: {step_b}\n")
    sets = [*SEARCH_SETS, f"prompts.judge={judge}", "search.verdict=parse", "engine.threads=1"]
    killed = init_run(tmp_path / "killed", "demo", sets)
    res = _run_script(root, killed, tmp_path, tiny_model_dir, separator_prm, kill=True)
    assert res.returncode == -9, res.stderr[-2000:]
    assert jobs.marker(killed, "eft", 0) is not None and jobs.marker(killed, "eft", 1) is None
    rep = mine(killed, tmp_path, tiny_model_dir, separator_prm)  # the rerun: resumes at chunk 1
    assert rep.computed == [1] and rep.skipped == [0]
    whole = init_run(tmp_path / "whole", "demo", sets)
    assert _run_script(root, whole, tmp_path, tiny_model_dir, separator_prm, kill=False).returncode == 0
    a, b = _job_output(killed), _job_output(whole)
    assert a == b
    k = a["counts"]
    assert k["pairs"] > 0 and k["rollouts"] == 0 and len(a["candidates"]) == k["candidates"]
    assert {c["scorer"] for c in a["candidates"]} == {p["scorer"] for p in a["pairs"]} == {f"prm:{separator_prm}"}
    assert all(0 < c["score"] < 1 for c in a["candidates"])
    score = {c["node_id"]: c["score"] for c in a["candidates"]}
    assert all(p["best_score"] == score[p["best_id"]] > score[p["worst_id"]] == p["worst_score"] for p in a["pairs"])
    summary = json.loads(jobs.summary_path(killed, "eft").read_text())
    assert summary["scorer"] == f"prm:{separator_prm}" and f"scored by prm:{separator_prm}" in a["eft"][0]["source"]
    assert jobs.job(killed, "eft").load_plan()["prm"]["kind"] == "auto"


# ---- the demo PRM: `psr model tiny-prm`, then `init-data eft --scorer prm:` through the CLI ----------
@pytest.mark.slow
def test_tiny_prm_trains_deterministically_and_scores_a_cli_eft_job(tmp_path, tiny_model_dir):
    """A short training (what a full one reaches is measured, not asserted: README): same seed, same
    weights; the saved PRM is a separator-kind PRM that `psr init-data eft --scorer prm:` runs end to
    end with the tiny model as policy and teacher."""
    from safetensors.torch import load_file

    from builder.initdata import jobs
    from builder.store import read_table
    from tests.helpers import make_run

    outs = [tmp_path / "prm-a", tmp_path / "prm-b"]
    for out in outs:
        res = invoke("model", "tiny-prm", out, "--steps", 6, "--batch", 8, "--held-out", 30)
        assert res.exit_code == 0, res.output
        assert "agrees with the checker on" in res.output
    a, b = (load_file(o / "model.safetensors") for o in outs)
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    report = json.loads((outs[0] / "prm_eval.json").read_text())["held_out"]
    assert report["sites"] == 30 == report["right_steps"] + report["wrong_steps"]
    assert HFPrm(str(outs[0]), Prm(), CPU).kind == "separator"

    import shutil

    run = make_run(tmp_path, "demo", "search.width=2", "search.max_steps=2", "search.mcts.simulations=2",
                   "search.max_step_tokens=10", "search.judge_max_tokens=6", "engine.threads=1")
    shutil.copytree(tiny_model_dir, run.root / "models" / "M0")
    res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}", "--limit", 2,
                 "--scorer", f"prm:{outs[0]}", "--judge-max-tokens", 6, "--chunk-size", 1)
    assert res.exit_code == 0, res.output
    summary = json.loads(jobs.summary_path(run, "eft").read_text())
    k = summary["counts"]
    assert summary["scorer"] == f"prm:{outs[0]}" and k["rollouts"] == 0 and k["candidates"] > 0
    assert len(jobs.read_jsonl(run.work_dir(0) / "eft_candidates.jsonl")) == k["candidates"]
    assert len(read_table(run, "eft", 0)) == 2 * k["kept"]

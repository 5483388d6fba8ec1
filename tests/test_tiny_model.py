"""The tiny demo model survives a save/reload with AutoTokenizer/AutoModelForCausalLM unchanged."""

import os

import pytest

from builder.models.tiny import task_corpus, train_tokenizer

STRINGS = [
    "13 + 9 - 4",
    "Step 1: 13 + 9 = 22\n",
    "Step 2: 22 - 4 = 18\nStep 3: The answer is \\boxed{18}\n",
    "Check: 22 - 4 = 18. A: 18 correct. B: 17 wrong. [[A]]",
    "Judge the next step.\n13 + 9 - 4\nA: Step 1: 13 + 9 = 22\nB: Step 1: 13 + 9 = 21\n",
    "Solve step by step: 40 - 38 + 7",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
    "  leading spaces and\ttabs",
    "Ünïcödé café 日本",
    "12345678901234567890",
    "it's they're we'll I'd",
    "\n\n\nStep 4:",
    "a,b;c:d!e?f",
    "\\frac{1}{2} = 0.5",
    "<|endoftext|>",
    "x = -7 * (3 / 4)",
    "(hello) [world] {x}",
    "x\n\n  y\r\n z",
    "A:Step B;Step",
    "#include <stdio.h>",
]


@pytest.fixture(scope="module")
def reloaded(tiny_model_dir):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir), AutoModelForCausalLM.from_pretrained(tiny_model_dir)


def test_reloaded_ids_match_in_memory_tokenizer(reloaded):
    in_memory = train_tokenizer(task_corpus("arithmetic", seed=0), vocab_size=384)
    tok, _ = reloaded
    # AutoTokenizer rebuilds Qwen2's own pipeline from vocab + merges: ours must be that pipeline
    assert str(tok.backend_tokenizer.pre_tokenizer) == str(in_memory.backend_tokenizer.pre_tokenizer)
    assert str(tok.backend_tokenizer.normalizer) == str(in_memory.backend_tokenizer.normalizer)
    for s in STRINGS:
        assert tok(s)["input_ids"] == in_memory(s)["input_ids"], s
        assert tok.decode(tok(s)["input_ids"]) == s, s
    messages = [{"role": "user", "content": "Solve step by step: 13 + 9 - 4"}]
    a = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    b = in_memory.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert a == b == "<|im_start|>user\nSolve step by step: 13 + 9 - 4<|im_end|>\n<|im_start|>assistant\n"
    assert tok(a)["input_ids"] == in_memory(b)["input_ids"]


def test_specials_and_digits(reloaded):
    tok, model = reloaded
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        assert tok.convert_tokens_to_ids(special) is not None
        assert len(tok(special)["input_ids"]) == 1
    assert len(tok("1234567890")["input_ids"]) == 10  # one token per digit
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert model.generation_config.pad_token_id == tok.pad_token_id
    assert model.config.model_type == "qwen2" and model.config.tie_word_embeddings


def test_model_generates(reloaded):
    import torch

    tok, model = reloaded
    ids = tok("Solve step by step: 1 + 2", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=5, do_sample=False, min_new_tokens=5)
    assert out.shape[1] == ids["input_ids"].shape[1] + 5


def test_seeded_weights_are_deterministic(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    from builder.models.tiny import build_tiny_model

    again = build_tiny_model(tmp_path / "again", seed=0)
    a, b = load_file(tiny_model_dir / "model.safetensors"), load_file(again / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_cli_model_tiny(tmp_path):
    import json

    from click.testing import CliRunner

    from builder.cli import cli

    out = tmp_path / "M0"
    result = CliRunner().invoke(cli, ["model", "tiny", str(out), "--layers", "2", "--hidden", "64", "--heads", "2",
                                      "--intermediate", "96", "--seed", "1"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (2, 64, 2)
    assert (out / "tokenizer.json").exists() and "tiny model" in result.output

    bad = CliRunner().invoke(cli, ["model", "tiny", str(tmp_path / "x"), "--hidden", "66", "--heads", "4"])
    assert bad.exit_code == 2 and "multiple of --heads" in bad.output

"""Verdict modes (builder/verdicts.py): parse, forced, logprob.

Search-logic rules run on the SCRIPTED engine (tests/scripted_engine.py); the probability path
runs on the real tiny model with the hf engine and is compared with a direct transformers forward
pass; template and tokenizer checks use the real templates and the tiny model's tokenizer.
"""

import math

import pytest

from builder.engines import Request, TokenPair, load_engine
from builder.errors import InputError
from builder.prompts import ChatRenderer, VerdictSpec, load_template, load_verdict_spec
from builder.verdicts import Verdicts, p_of_a, verdict_tokens
from tests.scripted_engine import ScriptedEngine

SPEC = VerdictSpec("judge_arith", " [[", ("A", "B"), "]]")
TOKENS = TokenPair((35, 36), ("A", "B"))


def prompt(a: int, b: int) -> str:
    return f"A: Step 1: cand {a}\nB: Step 1: cand {b}\nJudge the next step.\n"


def test_forced_continues_exactly_the_outputs_without_a_verdict():
    engine = ScriptedEngine(judge=lambda r: "Check. [[B]]" if r.prompt.startswith("A: Step 1: cand 0") else "Check: 3 + 4")
    requests = [Request(prompt(0, 1)), Request(prompt(1, 0))]  # only the first output has a verdict
    out = Verdicts("forced", SPEC, TOKENS).judge(engine, requests)
    assert len(engine.calls) == 1 and len(engine.score_calls) == 1
    assert engine.score_calls[0] == [prompt(1, 0) + "Check: 3 + 4 [["]  # own output, then the prefix
    assert (out[0].verdict, out[0].source, out[0].p_a) == ("B", "parsed", None)
    assert (out[1].verdict, out[1].source) == ("B", "forced")  # scripted scores prefer the lower index (0, shown as B)
    assert out[1].p_a == pytest.approx(1 / (1 + math.exp(1.6)))
    assert out[1].raw == "Check: 3 + 4" and out[1].n_tokens == 4
    verdicts = Verdicts("forced", SPEC, TOKENS)
    assert [verdicts.written(v) for v in out] == ["Check. [[B]]", "Check: 3 + 4 [[B]]"]


def test_forced_makes_no_scoring_call_when_every_output_has_a_verdict():
    engine = ScriptedEngine()
    out = Verdicts("forced", SPEC, TOKENS).judge(engine, [Request(prompt(0, 1)), Request(prompt(2, 1))])
    assert engine.score_calls == []
    assert [(v.verdict, v.source) for v in out] == [("A", "parsed"), ("B", "parsed")]


def test_parse_leaves_missing_verdicts_undecided():
    engine = ScriptedEngine(judge=lambda r: "no verdict")
    [v] = Verdicts("parse").judge(engine, [Request(prompt(0, 1))])
    assert (v.verdict, v.source, v.p_a, v.raw) == (None, None, None, "no verdict") and engine.score_calls == []


def test_logprob_generates_nothing_and_scores_prompt_plus_prefix():
    engine = ScriptedEngine()
    out = Verdicts("logprob", SPEC, TOKENS).judge(engine, [Request(prompt(0, 1)), Request(prompt(1, 0))])
    assert engine.calls == []  # no generation at all
    assert engine.score_calls == [[prompt(0, 1) + "[[", prompt(1, 0) + "[["]]  # leading space dropped
    assert [(v.verdict, v.source, v.n_tokens, v.raw) for v in out] == [("A", "logprob", 0, ""), ("B", "logprob", 0, "")]
    assert Verdicts("logprob", SPEC, TOKENS).written(out[1]) == "[[B]]"


def test_p_of_a_is_the_two_way_softmax():
    assert p_of_a(math.log(0.3), math.log(0.1)) == pytest.approx(0.75)
    assert p_of_a(-1.0, -1.0) == 0.5 and p_of_a(0.0, -1e6) == 1.0 and p_of_a(-1e6, 0.0) == 0.0


def test_template_without_prefix_is_an_input_error_naming_it(tiny_model_dir, tmp_path):
    plain = tmp_path / "my_judge.txt"
    plain.write_text("A: {step_a}\nB: {step_b}\n")
    tok = ChatRenderer(tiny_model_dir).tokenizer
    for mode in ("forced", "logprob"):
        with pytest.raises(InputError, match=r"my_judge\.txt.*no verdict_prefix.*search.verdict=" + mode):
            Verdicts.prepare(mode, str(plain), ScriptedEngine(), tok)
    assert Verdicts.prepare("parse", str(plain), ScriptedEngine(), tok).mode == "parse"


def test_header_is_not_part_of_the_template_and_multi_token_verdicts_are_refused(tiny_model_dir, tmp_path):
    assert load_template("judge_paper").startswith("Please act as an impartial judge")
    assert load_verdict_spec("judge_paper").prefix == "\n\n[[" and load_verdict_spec("reasoning_paper") is None
    tok = ChatRenderer(tiny_model_dir).tokenizer
    assert verdict_tokens(tok, load_verdict_spec("judge_paper")).ids == tuple(
        tok("A", add_special_tokens=False)["input_ids"] + tok("B", add_special_tokens=False)["input_ids"])
    long = tmp_path / "long_judge.txt"
    long.write_text('---\nverdict_prefix: "Winner: "\nverdicts: [assistant A, assistant B]\n---\nA: {step_a}\n')
    with pytest.raises(InputError, match=r"long_judge\.txt.*'assistant A'.*not one token"):
        Verdicts.prepare("logprob", str(long), ScriptedEngine(), tok)
    bad = tmp_path / "bad_judge.txt"
    bad.write_text('---\nverdict_prefix: "[["\nverdict: [A, B]\n---\nA: {step_a}\n')
    with pytest.raises(InputError, match=r"bad_judge\.txt.*header takes"):
        load_verdict_spec(str(bad))


def test_hf_logprob_verdicts_equal_the_argmax_of_direct_transformers_logits(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    renderer = ChatRenderer(tiny_model_dir)
    engine = load_engine("hf", str(tiny_model_dir), {"device": "cpu", "threads": 1, "max_batch_tokens": 400})
    verdicts = Verdicts.prepare("logprob", "judge_arith", engine, renderer.tokenizer)
    tmpl = load_template("judge_arith")
    # prompts of different lengths, so the engine pads (left) and splits into several forward passes
    cases = [("3 + 4 - 2", [], "Step 1: 3 + 4 = 7\n", "Step 1: 3 + 4 = 8\n"),
             ("9 - 1 + 5", ["Step 1: 9 - 1 = 8\n"], "Step 2: 8 + 5 = 13\n", "Step 2: 8 + 5 = 12\n"),
             ("2 + 2", [], "Step 1: 2 + 2 = 4\n\\boxed{4}", "Step 1: 2 + 2 = 5\n"),
             ("7 + 8 - 6", ["Step 1: 7 + 8 = 15\n", "Step 2: 15 - 6 = 9\n"], "\\boxed{9}", "\\boxed{8}")]
    prompts = [renderer.judge_prompt(tmpl, p, s, a, b) for p, s, a, b in cases for a, b in ((a, b), (b, a))]
    out = verdicts.resolve(engine, prompts, None)

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    a_id, b_id = verdicts.tokens.ids
    for p, v in zip(prompts, out, strict=True):
        ids = renderer.tokenizer(p + "[[", add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), -1)
        assert v.verdict == ("A" if logp[a_id] >= logp[b_id] else "B")
        assert v.p_a == pytest.approx(float(torch.softmax(logp[[a_id, b_id]], 0)[0]), abs=1e-4)
        assert v.source == "logprob" and v.n_tokens == 0

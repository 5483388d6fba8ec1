"""The hf engine on the real tiny demo model (random weights, so it writes random text).

Assertions hold for any text: counts, finish reasons consistent with token counts, stop strings
never in the output, determinism, and a greedy decode recomputed by hand with forward passes.
"""

import math

import pytest

from builder.engines import Request, engine_settings, load_engine
from builder.engines.hf import batch_seed, plan_batches
from builder.errors import InputError

STOP = (" ", "1", "=")  # frequent single characters, so random text hits them


def chat(problem: str) -> str:
    return f"<|im_start|>user\nSolve step by step: {problem}<|im_end|>\n<|im_start|>assistant\n"


PROMPTS = [chat(f"{a} + {a % 7} - {a % 5}") for a in range(10, 74)]  # 64 prompts, lengths vary


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    """One intra-op thread: several times faster for this tiny model on a shared 2-core machine.
    The setting is process-wide, so the previous thread count is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    yield load_engine("hf", str(tiny_model_dir), {"device": "cpu", "threads": 1})
    torch.set_num_threads(before)


@pytest.fixture
def count_generate(engine, monkeypatch):
    """Counts `model.generate` calls by wrapping the real method (not replacing it)."""
    calls = []
    real = engine.model.generate

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out.sequences.shape[0])
        return out

    monkeypatch.setattr(engine.model, "generate", counting)
    return calls


def test_engine_info_names_library_model_and_settings(engine, tiny_model_dir):
    import transformers

    assert engine.info.name == "hf"
    assert engine.info.version == transformers.__version__
    assert engine.info.model == str(tiny_model_dir)
    assert engine.info.settings == {"dtype": "float32", "device": "cpu", "max_batch_tokens": 65536, "threads": 1}


def test_n_samples_per_request_and_consistent_finish_reasons(engine):
    requests = [Request(p, n=3, temperature=1.0, top_p=0.95, max_tokens=12, stop=STOP, seed=i)
                for i, p in enumerate(PROMPTS[:8])]
    out = engine.generate(requests)
    assert [len(c) for c in out] == [3] * 8
    flat = [c for cs in out for c in cs]
    for c in flat:
        assert not any(s in c.text for s in STOP)
        assert 1 <= c.n_tokens <= 12
        assert c.logprob < 0 and math.isfinite(c.logprob)
        if c.finish_reason == "length":
            assert c.n_tokens == 12
        else:
            assert c.finish_reason in ("stop", "eos")
    assert any(c.finish_reason == "stop" for c in flat)
    assert len({c.text for c in flat}) > 8  # samples differ


def test_stop_string_cuts_the_greedy_text_exactly(engine):
    """The text with stops is the no-stop text cut just before its first stop string."""
    from collections import Counter

    plain = engine.generate([Request(p, max_tokens=24) for p in PROMPTS[:16]])
    # stop on the character greedy text uses most, so most outputs get cut somewhere
    stop = (Counter("".join(c.text for [c] in plain)).most_common(1)[0][0], "1")
    stopped = engine.generate([Request(p, max_tokens=24, stop=stop) for p in PROMPTS[:16]])
    n_stopped = 0
    for [full], [cut] in zip(plain, stopped):
        first = min((i for i in (full.text.find(s) for s in stop) if i != -1), default=None)
        if first is None:
            assert (cut.text, cut.finish_reason, cut.n_tokens) == (full.text, full.finish_reason, full.n_tokens)
            continue
        n_stopped += 1
        assert cut.finish_reason == "stop"
        assert cut.text == full.text[:first]
        assert 1 <= cut.n_tokens <= full.n_tokens
        assert cut.logprob >= full.logprob - 1e-4  # a prefix of the same tokens
    assert n_stopped > 0


def test_stop_string_straddling_prompt_and_output_does_not_stop(engine):
    """Prompts end in "\n" and models then write "Step 2: ": a stop "\nStep " must not fire there.

    Here: stop = "\n" + the first greedy character. Only the generated text counts, as in vLLM.
    """
    [[plain]] = engine.generate([Request(PROMPTS[0], max_tokens=12)])
    stop = "\n" + plain.text[:1]
    [[c]] = engine.generate([Request(PROMPTS[0], max_tokens=12, stop=(stop,))])
    assert PROMPTS[0].endswith("\n") and stop not in plain.text
    assert (c.text, c.n_tokens, c.finish_reason) == (plain.text, plain.n_tokens, plain.finish_reason)


def test_same_seeds_same_outputs_other_seeds_other_outputs(engine):
    def run(seed):
        return engine.generate([Request(p, n=4, temperature=1.0, max_tokens=10, seed=seed) for p in PROMPTS[:6]])

    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_greedy_is_deterministic_batch_independent_and_copied_n_times(engine):
    alone = engine.generate([Request(PROMPTS[3], max_tokens=10)])[0][0]
    batched = engine.generate([Request(p, n=2, max_tokens=10) for p in PROMPTS[:16]])
    assert batched[3][0] == batched[3][1]
    same = (batched[3][0].text, batched[3][0].n_tokens, batched[3][0].finish_reason)
    assert same == (alone.text, alone.n_tokens, alone.finish_reason)  # left padding changes nothing
    assert batched[3][0].logprob == pytest.approx(alone.logprob, abs=1e-4)
    assert engine.generate([Request(p, n=2, max_tokens=10) for p in PROMPTS[:16]]) == batched


def test_greedy_tokens_and_logprob_match_a_hand_decode(engine):
    """Forward passes + argmax by hand: same text, token count and summed raw log-softmax."""
    import torch

    prompt, steps = PROMPTS[5], 6
    ids = engine.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    generated, total = [], 0.0
    with torch.inference_mode():
        for _ in range(steps):
            logprobs = torch.log_softmax(engine.model(ids).logits[0, -1].float(), dim=-1)
            token = int(logprobs.argmax())
            generated.append(token)
            total += float(logprobs[token])
            if token in engine.eos_ids:
                break
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    [[c]] = engine.generate([Request(prompt, max_tokens=steps)])
    assert c.n_tokens == len(generated)
    assert c.logprob == pytest.approx(total, abs=1e-3)
    expected = "eos" if generated[-1] in engine.eos_ids else "length"
    assert c.finish_reason == expected
    assert c.text == engine.tokenizer.decode([t for t in generated if t not in engine.eos_ids],
                                             skip_special_tokens=True)


def test_eos_is_reported_and_counted(engine, monkeypatch):
    """Declare the greedy first token to be an EOS id: generation must end there, as "eos"."""
    import torch

    ids = engine.tokenizer(PROMPTS[0], add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        first = int(engine.model(ids).logits[0, -1].argmax())
    monkeypatch.setattr(engine, "eos_ids", engine.eos_ids + [first])
    [[eos, copy]] = engine.generate([Request(PROMPTS[0], n=2, temperature=0.0, max_tokens=5)])
    assert eos == copy
    assert (eos.finish_reason, eos.n_tokens, eos.text) == ("eos", 1, "")


def test_64_requests_run_as_one_batched_generate(engine, count_generate):
    requests = [Request(p, n=2, temperature=0.7, max_tokens=8, seed=i) for i, p in enumerate(PROMPTS)]
    out = engine.generate(requests)
    assert len(out) == 64 and all(len(c) == 2 for c in out)
    assert count_generate == [128]


def test_token_budget_and_sampling_params_split_batches(engine, count_generate, monkeypatch):
    requests = [Request(p, n=2, temperature=0.7, max_tokens=8, seed=i) for i, p in enumerate(PROMPTS)]
    requests += [Request(p, max_tokens=4) for p in PROMPTS[:5]]  # a second group: greedy
    monkeypatch.setattr(engine, "max_batch_tokens", 2000)
    out = engine.generate(requests)
    assert [len(c) for c in out] == [2] * 64 + [1] * 5
    assert sum(count_generate) == 128 + 5
    assert 2 < len(count_generate) < 20  # batched, but within the budget


def test_plan_batches_groups_sorts_and_respects_budget():
    reqs = [Request("a", n=2, temperature=1.0, max_tokens=10), Request("b", max_tokens=10),
            Request("c", n=2, temperature=1.0, max_tokens=10), Request("d", n=2, temperature=1.0, max_tokens=10)]
    lens = [30, 5, 10, 20]
    # sampled group sorted by prompt length: c(10), d(20), a(30); cost = (longest + 10) * rows
    assert plan_batches(reqs, lens, 10**6) == [[1], [2, 3, 0]]
    assert sorted(plan_batches(reqs, lens, 120)) == [[0], [1], [2, 3]]  # (20+10)*4 = 120 fits, a starts anew
    assert sorted(plan_batches(reqs, lens, 1)) == [[0], [1], [2], [3]]  # over budget alone still runs


def test_batch_seed_is_stable():
    assert batch_seed([1, 2, 3]) == batch_seed([1, 2, 3]) != batch_seed([1, 2, 4])
    assert 0 <= batch_seed([0]) < 2**63


def test_empty_request_list_and_bad_requests(engine, count_generate):
    assert engine.generate([]) == []
    with pytest.raises(InputError, match="request 1: need n >= 1"):
        engine.generate([Request("a"), Request("b", n=0)])
    with pytest.raises(InputError, match="request 0: empty stop string"):
        engine.generate([Request("a", stop=("",))])
    assert count_generate == []


def test_run_config_engine_section_loads(tiny_model_dir, tmp_path):
    """The run config's engine section itself is what engines take: "auto" means the engine chooses."""
    from tests.helpers import make_run

    cfg = make_run(tmp_path, "demo", "engine.dtype=auto", "engine.device=auto", "engine.max_batch_tokens=1000").config
    engine = load_engine("hf", str(tiny_model_dir), cfg.engine)
    settings = engine.info.settings
    assert settings["device"] in ("cpu", "cuda") and settings["max_batch_tokens"] == 1000
    assert settings["dtype"] == ("float32" if settings["device"] == "cpu" else "bfloat16")


def test_settings_errors_and_flattening(tiny_model_dir):
    with pytest.raises(InputError, match="unknown engine 'nope'"):
        load_engine("nope", str(tiny_model_dir), {})
    with pytest.raises(InputError, match="engine hf: unknown setting 'batch_size'"):
        load_engine("hf", str(tiny_model_dir), {"batch_size": 4})
    with pytest.raises(InputError, match="engine hf: setting 'max_batch_tokens': .*integer"):
        load_engine("hf", str(tiny_model_dir), {"max_batch_tokens": "many"})
    # a dict of the config's shape: None means the default; other engines' parts are carried, unused
    cfg = engine_settings("vllm", {"dtype": None, "device": "cuda", "vllm": {"max_model_len": 2048},
                                   "openai": {"base_url": "x"}})
    assert (cfg.name, cfg.dtype, cfg.device, cfg.vllm.max_model_len) == ("vllm", "auto", "cuda", 2048)

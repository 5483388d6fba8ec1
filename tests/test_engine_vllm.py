"""The vllm engine against a STAND-IN `vllm` module: vLLM ships CUDA builds only and cannot run here.

The stand-in records the arguments the engine passes and answers with objects shaped like vLLM's
RequestOutput/CompletionOutput (fields as in vllm/outputs.py). A real run is bench/vllm_smoke.py
on a GPU machine. Also checks that the CPU import paths never import vllm.
"""

import subprocess
import sys
import types
from dataclasses import dataclass, field

import pytest

from builder.engines import Request, load_engine
from builder.errors import InputError, PsrError


@dataclass
class FakeCompletionOutput:  # same field names as vllm.outputs.CompletionOutput
    index: int
    text: str
    token_ids: list
    cumulative_logprob: float | None
    logprobs: list | None = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None


@dataclass
class FakeRequestOutput:
    request_id: str
    prompt: str
    outputs: list = field(default_factory=list)
    finished: bool = True


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeLLM:
    instances: list = []

    def __init__(self, **kwargs):
        self.init_kwargs = kwargs
        self.generate_calls = []
        self.script = {}  # prompt -> list of FakeCompletionOutput (in any order)
        FakeLLM.instances.append(self)

    def generate(self, prompts, sampling_params=None, *, use_tqdm=True):
        self.generate_calls.append({"prompts": list(prompts), "sampling_params": sampling_params, "use_tqdm": use_tqdm})
        return [FakeRequestOutput(str(i), p, self.script[p]) for i, p in enumerate(prompts)]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__version__ = "0.0-standin"
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    FakeLLM.instances = []
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_constructor_passes_llm_arguments_with_defaults(fake_vllm):
    engine = load_engine("vllm", "/models/M1", {"dtype": "bfloat16", "device": "cuda", "max_batch_tokens": 4096,
                                                "vllm": {"tensor_parallel_size": 4, "max_model_len": 4096}})
    [llm] = FakeLLM.instances
    expected = {"model": "/models/M1", "tensor_parallel_size": 4, "enable_prefix_caching": True,
                "gpu_memory_utilization": 0.9, "max_model_len": 4096, "seed": 0, "dtype": "bfloat16"}
    assert llm.init_kwargs == expected
    assert engine.info.name == "vllm" and engine.info.version == "0.0-standin"
    assert engine.info.model == "/models/M1"
    assert engine.info.settings == {k: v for k, v in expected.items() if k != "model"}


def test_defaults_come_from_the_run_config(fake_vllm):
    # The engine restates no default: what it hands vLLM is the config's (max_model_len 4096, not None).
    engine = load_engine("vllm", "/m", {})
    [llm] = FakeLLM.instances
    assert llm.init_kwargs["max_model_len"] == 4096 and engine.info.settings["max_model_len"] == 4096
    assert llm.init_kwargs["dtype"] == "auto" and llm.init_kwargs["tensor_parallel_size"] == 1


def test_unknown_setting_is_an_input_error(fake_vllm):
    with pytest.raises(InputError, match="engine vllm: unknown setting.*tensor_parallel"):
        load_engine("vllm", "/m", {"vllm": {"tensor_parallel": 2}})


def test_one_generate_call_with_exact_sampling_params_and_mapped_outputs(fake_vllm):
    engine = load_engine("vllm", "/m", {})
    llm = FakeLLM.instances[0]
    llm.script = {
        "p0": [
            FakeCompletionOutput(1, "Step 1: b", [5, 6, 7], -2.5, finish_reason="stop", stop_reason="\nStep "),
            FakeCompletionOutput(0, "Step 1: a", [1, 2], -1.0, finish_reason="length", stop_reason=None),
        ],
        "p1": [FakeCompletionOutput(0, r"\boxed{3}", [9], -0.5, finish_reason="stop", stop_reason=None)],
        "p2": [FakeCompletionOutput(0, "x", [4, 4], -0.1, finish_reason="stop", stop_reason=151643)],
    }
    requests = [
        Request("p0", n=2, temperature=0.5, top_p=0.95, max_tokens=128, stop=("\nStep ",), seed=11),
        Request("p1", max_tokens=64, seed=3),
        Request("p2", max_tokens=8),
    ]
    out = engine.generate(requests)

    [call] = llm.generate_calls
    assert call["prompts"] == ["p0", "p1", "p2"]
    assert call["use_tqdm"] is False
    assert [p.kwargs for p in call["sampling_params"]] == [
        dict(n=2, temperature=0.5, top_p=0.95, max_tokens=128, stop=["\nStep "], seed=11, logprobs=0),
        dict(n=1, temperature=0.0, top_p=1.0, max_tokens=64, stop=[], seed=3, logprobs=0),
        dict(n=1, temperature=0.0, top_p=1.0, max_tokens=8, stop=[], seed=0, logprobs=0),
    ]
    assert [[(c.text, c.finish_reason, c.n_tokens, c.logprob) for c in cs] for cs in out] == [
        [("Step 1: a", "length", 2, -1.0), ("Step 1: b", "stop", 3, -2.5)],  # ordered by index
        [(r"\boxed{3}", "eos", 1, -0.5)],  # stop with stop_reason None: the model's EOS
        [("x", "eos", 2, -0.1)],  # stopped on an extra EOS token id from generation_config
    ]


def test_empty_request_list_makes_no_call(fake_vllm):
    engine = load_engine("vllm", "/m", {})
    assert engine.generate([]) == []
    assert FakeLLM.instances[0].generate_calls == []


def test_missing_vllm_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(PsrError, match=r"vllm is not installed to use the vllm engine: pip install 'psr-builder\[vllm\]'"):
        load_engine("vllm", "/m", {})


def test_cpu_import_paths_never_import_vllm():
    code = (
        "import sys, builder, builder.engines, builder.engines.hf, builder.engines.vllm, builder.prompts, builder.steps\n"
        "assert 'vllm' not in sys.modules, 'vllm imported'\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


STANDIN_PACKAGE = '''
"""Stand-in vllm package for running bench/vllm_smoke.py on CPU (vLLM itself cannot run here)."""
from types import SimpleNamespace as NS
__version__ = "0.0-standin"
class SamplingParams:
    def __init__(self, **kw):
        self.__dict__.update(kw)
class LLM:
    def __init__(self, **kw):
        self.kw = kw
    def generate(self, prompts, sampling_params=None, *, use_tqdm=True):
        return [NS(outputs=[NS(index=i, text="Step 1: 48 / 2 = 24. [[B]]", token_ids=[1, 2, 3], cumulative_logprob=-1.5,
                               finish_reason="stop", stop_reason="\\nStep ") for i in range(sp.n)])
                for p, sp in zip(prompts, sampling_params)]
'''


def test_vllm_smoke_script_runs_end_to_end_on_the_standin(tmp_path, tiny_model_dir):
    """Keeps bench/vllm_smoke.py from rotting: prompts render, steps and verdicts parse, exit 0."""
    import os
    from pathlib import Path

    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text(STANDIN_PACKAGE)
    script = Path(__file__).resolve().parent.parent / "bench" / "vllm_smoke.py"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, str(script), str(tiny_model_dir), "--width", "3"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "steps: 4 prompts x 3 samples" in result.stdout
    assert "verdicts ['B', 'B', 'B', 'B', 'B', 'B', 'B', 'B'] (0 unparseable)" in result.stdout
    assert result.stdout.rstrip().endswith("OK")


@dataclass
class FakeLogprob:  # vllm.sequence.Logprob
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


def test_score_next_restricts_one_greedy_token_to_the_pair_and_reads_both_logprobs(fake_vllm):
    from builder.engines import TokenPair

    engine = load_engine("vllm", "/m", {})
    llm = FakeLLM.instances[0]
    llm.script = {
        "j0[[": [FakeCompletionOutput(0, "A", [35], -0.1, logprobs=[{35: FakeLogprob(-0.1), 36: FakeLogprob(-2.5),
                                                                      7: FakeLogprob(-3.0)}], finish_reason="length")],
        # B outside the returned top list: bounded by the lowest listed value
        "j1[[": [FakeCompletionOutput(0, "A", [35], -0.3, logprobs=[{35: FakeLogprob(-0.3), 9: FakeLogprob(-4.0)}],
                                      finish_reason="length")],
    }
    out = engine.score_next(["j0[[", "j1[["], TokenPair((35, 36), ("A", "B")))
    [call] = llm.generate_calls
    assert call["prompts"] == ["j0[[", "j1[["]
    assert call["sampling_params"].kwargs == dict(n=1, temperature=0.0, max_tokens=1, logprobs=20,
                                                  allowed_token_ids=[35, 36], seed=0)
    assert out == [(-0.1, -2.5), (-0.3, -4.0)]
    assert engine.score_next([], TokenPair((35, 36), ("A", "B"))) == [] and len(llm.generate_calls) == 1

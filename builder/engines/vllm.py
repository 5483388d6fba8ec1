"""The vLLM engine: one `LLM.generate` call for the whole request list, on one or more GPUs.

vLLM is imported in the constructor only (CUDA builds only, kept out of the CPU install), so
importing this module costs nothing. vLLM schedules and batches the list itself; prefix caching
(on by default) lets the many prompts that share a problem and its accepted steps reuse their KV
cache. With `n > 1` and a seed, vLLM seeds the i-th sample with `seed + i`: callers give
different requests seeds at least n apart when two requests may share a prompt.

`score_next` generates ONE greedy token per prompt restricted to the two given tokens
(`allowed_token_ids`), with the top `SCORE_LOGPROBS` log-probabilities: the generated token is
always one of the two, so its log-probability is always returned. vLLM computes logprobs from the
unrestricted distribution; should the other token fall outside the returned top list, it gets the
lowest returned log-probability, an upper bound on its own (the verdict is unaffected).
"""

from __future__ import annotations

from builder.engines import check_requests
from builder.engines.base import Completion, EngineInfo, Request, TokenPair
from builder.errors import need

# The LLM's own seed; every request carries its own sampling seed, so this one only fixes
# anything vLLM samples outside a request. The shared device/max_batch_tokens settings mean
# nothing to vLLM (it places and batches by itself).
LLM_SEED = 0
SCORE_LOGPROBS = 20  # vLLM's default max_logprobs


class VLLMEngine:
    def __init__(self, model: str, settings):
        """`settings`: the run config's engine section (builder.config.Engine); its vllm part are LLM arguments."""
        vllm = need("vllm", "vllm", "the vllm engine")
        self._sampling_params = vllm.SamplingParams
        llm_args = {**settings.vllm.model_dump(), "seed": LLM_SEED, "dtype": settings.dtype}
        self.llm = vllm.LLM(model=model, **llm_args)
        self.info = EngineInfo(name="vllm", version=getattr(vllm, "__version__", "unknown"), model=model,
                               settings=llm_args)

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        check_requests(requests)
        if not requests:
            return []
        params = [
            self._sampling_params(n=r.n, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens,
                                  stop=list(r.stop), seed=r.seed, logprobs=0)
            for r in requests
        ]
        outputs = self.llm.generate([r.prompt for r in requests], sampling_params=params, use_tqdm=False)
        return [[completion(c) for c in sorted(out.outputs, key=lambda c: c.index)] for out in outputs]


    def score_next(self, prompts: list[str], tokens: TokenPair) -> list[tuple[float, float]]:
        if not prompts:
            return []
        params = self._sampling_params(n=1, temperature=0.0, max_tokens=1, logprobs=SCORE_LOGPROBS,
                                       allowed_token_ids=list(tokens.ids), seed=0)
        outputs = self.llm.generate(list(prompts), sampling_params=params, use_tqdm=False)
        return [pair_logprobs(out.outputs[0].logprobs[0], tokens.ids) for out in outputs]


def pair_logprobs(top: dict, ids: tuple[int, int]) -> tuple[float, float]:
    """(logprob of ids[0], of ids[1]) from one position's {token id: Logprob}; a token not listed
    gets the lowest listed value (an upper bound)."""
    values = {int(k): float(getattr(v, "logprob", v)) for k, v in top.items()}
    floor = min(values.values())
    return values.get(ids[0], floor), values.get(ids[1], floor)


def completion(output) -> Completion:
    """Map a vLLM CompletionOutput onto the engine-neutral Completion."""
    return Completion(
        text=output.text,
        finish_reason=finish_reason(output.finish_reason, output.stop_reason),
        n_tokens=len(output.token_ids),
        logprob=output.cumulative_logprob,
    )


def finish_reason(reason: str | None, stop_reason) -> str:
    """vLLM says "stop" for both a stop string (stop_reason = the string) and an EOS/stop token
    (stop_reason None, or the token id for extra EOS ids from generation_config): split them."""
    if reason != "stop":  # "length", or "abort" (not expected offline): not a finished step
        return "length"
    return "stop" if isinstance(stop_reason, str) else "eos"

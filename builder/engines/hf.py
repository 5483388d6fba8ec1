"""The transformers engine: batched `model.generate` over a whole request list, CPU or one GPU.

Requests with identical sampling parameters are grouped, sorted by prompt length (less padding)
and cut into sub-batches bounded by a token budget; each sub-batch is ONE `generate` call with
left padding and `num_return_sequences = n`. Torch is seeded from the sub-batch's request seeds
before each call, so the same request list gives the same outputs (an output depends on its
batch-mates, as with any batched sampler). Greedy requests are generated once and copied n times.
Stop strings are matched in the generated text only (as vLLM does), never across the prompt.
"""

from __future__ import annotations

from itertools import groupby

from builder.engines import check_requests
from builder.engines.base import Completion, EngineInfo, Request, TokenPair
from builder.errors import need



def _sampling_key(r: Request) -> tuple:
    return (r.temperature, r.top_p, r.max_tokens, tuple(r.stop), r.n)


def batch_seed(seeds: list[int]) -> int:
    """A torch seed derived from the request seeds of one sub-batch (stable across processes)."""
    from builder.ids import seed_of_text

    return seed_of_text(repr(list(seeds)))


def plan_batches(requests: list[Request], prompt_lens: list[int], max_batch_tokens: int) -> list[list[int]]:
    """Request indices per `generate` call: same sampling params, padded cost within the budget.

    Cost of a sub-batch = (longest prompt + max_tokens) * sequences, the size of its padded
    token grid; a single request over budget still gets its own sub-batch.
    """
    order = sorted(range(len(requests)), key=lambda i: (_sampling_key(requests[i]), prompt_lens[i], i))
    batches = []
    for _, group in groupby(order, key=lambda i: _sampling_key(requests[i])):
        current: list[int] = []
        for i in group:
            r = requests[i]
            rows = _rows(r) * (len(current) + 1)
            if current and (prompt_lens[i] + r.max_tokens) * rows > max_batch_tokens:
                batches.append(current)
                current = []
            current.append(i)
        batches.append(current)
    return batches


def plan_forward(prompt_ids: list[list[int]], max_batch_tokens: int) -> list[list[int]]:
    """Prompt indices per forward pass, by length, padded grid (rows x longest) within the budget."""
    batches, current = [], []
    for i in sorted(range(len(prompt_ids)), key=lambda i: (len(prompt_ids[i]), i)):
        if current and len(prompt_ids[i]) * (len(current) + 1) > max_batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def _rows(r: Request) -> int:
    """Sequences a request adds to the batch: greedy ones are generated once and copied."""
    return r.n if r.temperature > 0 else 1


class GeneratedStop:
    """Stops a row once its GENERATED text contains a stop string.

    Not HF's `stop_strings`: that checks the end of the whole sequence, prompt included, so a
    prompt ending in "\n" (every generation prompt does) plus a generated "Step " matches the
    stop string "\nStep " and cuts each step after its first tokens. Only the last few tokens are
    decoded per step: a stop string of b UTF-8 bytes spans at most b tokens.
    """

    def __init__(self, stop: tuple[str, ...], prompt_width: int, decode):
        self.stop, self.width, self.decode = stop, prompt_width, decode
        self.window = max(len(s.encode("utf-8")) for s in stop) + 4  # + room for special tokens

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        tails = input_ids[:, self.width:][:, -self.window:].tolist()
        done = [any(s in self.decode(tail) for s in self.stop) for tail in tails]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class HFEngine:
    def __init__(self, model: str, settings):
        """`settings`: the run config's engine section (builder.config.Engine)."""
        torch = need("torch", None, "the hf engine")
        transformers = need("transformers", None, "the hf engine")
        device = settings.device if settings.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = settings.dtype if settings.dtype != "auto" else ("float32" if device == "cpu" else "bfloat16")
        self.max_batch_tokens = settings.max_batch_tokens
        if settings.threads:
            # Process-wide. On a busy small CPU, one thread is several times faster for tiny models:
            # intra-op threads wait on each other when the cores are shared (measured in bench/engine.py).
            torch.set_num_threads(settings.threads)
        self.device = device
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = transformers.AutoModelForCausalLM.from_pretrained(model, dtype=getattr(torch, dtype))
        self.model.to(device).eval()
        self.eos_ids = _eos_ids(self.model.generation_config, self.tokenizer)
        self.info = EngineInfo(
            name="hf",
            version=transformers.__version__,
            model=model,
            settings={"dtype": dtype, "device": device, "max_batch_tokens": self.max_batch_tokens,
                      "threads": torch.get_num_threads()},
        )

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        check_requests(requests)
        prompt_ids = [self.tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
        results: list[list[Completion] | None] = [None] * len(requests)
        for batch in plan_batches(requests, [len(p) for p in prompt_ids], self.max_batch_tokens):
            outs = self._generate_batch([requests[i] for i in batch], [prompt_ids[i] for i in batch])
            for i, completions in zip(batch, outs):
                results[i] = completions
        return results

    def _generate_batch(self, requests: list[Request], prompt_ids: list[list[int]]) -> list[list[Completion]]:
        """One `generate` call for requests that share their sampling parameters."""
        import torch

        r0 = requests[0]
        inputs = self.tokenizer.pad({"input_ids": prompt_ids}, padding=True, return_tensors="pt").to(self.device)
        torch.manual_seed(batch_seed([r.seed for r in requests]))
        with torch.inference_mode():
            width = inputs["input_ids"].shape[1]
            criteria = [GeneratedStop(r0.stop, width, self._decode)] if r0.stop else []
            out = self.model.generate(**inputs, generation_config=self._generation_config(r0),
                                      stopping_criteria=criteria)
        tokens = out.sequences[:, width:].tolist()
        logprobs = _token_logprobs(out.logits, out.sequences[:, width:])
        rows = _rows(r0)
        completions = [self._completion(tokens[k], logprobs[k], r0.stop) for k in range(len(tokens))]
        grouped = [completions[i * rows:(i + 1) * rows] for i in range(len(requests))]
        return [g * r0.n if rows == 1 else g for g in grouped]

    def score_next(self, prompts: list[str], tokens: TokenPair) -> list[tuple[float, float]]:
        """One forward pass per sub-batch (no generation): log-softmax of the last position's logits."""
        prompt_ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        results: list[tuple[float, float] | None] = [None] * len(prompts)
        for batch in plan_forward(prompt_ids, self.max_batch_tokens):
            for i, pair in zip(batch, self._score_batch([prompt_ids[i] for i in batch], tokens.ids)):
                results[i] = pair
        return results

    def _score_batch(self, prompt_ids: list[list[int]], ids: tuple[int, int]) -> list[tuple[float, float]]:
        import torch

        inputs = self.tokenizer.pad({"input_ids": prompt_ids}, padding=True, return_tensors="pt").to(self.device)
        mask = inputs["attention_mask"]
        # left padding: positions count real tokens only, as generate() does, so a padded row
        # scores exactly like the same prompt alone
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = self.model(input_ids=inputs["input_ids"], attention_mask=mask, position_ids=positions,
                                logits_to_keep=1).logits[:, -1, :]
        logp = torch.log_softmax(logits.float(), dim=-1)[:, list(ids)]
        return [(float(a), float(b)) for a, b in logp.tolist()]

    def _generation_config(self, r: Request):
        from transformers import GenerationConfig

        sample = r.temperature > 0
        # Every knob is set explicitly: HF would otherwise fill in top_k=50 and whatever the
        # checkpoint's generation_config.json says (repetition penalty, its own temperature...).
        # Greedy leaves the sampling knobs unset (HF warns about knobs it would ignore).
        knobs = {"temperature": r.temperature, "top_p": r.top_p, "top_k": 0} if sample else {}
        return GenerationConfig(
            max_new_tokens=r.max_tokens,
            do_sample=sample,
            **knobs,
            repetition_penalty=1.0,
            num_return_sequences=_rows(r),
            eos_token_id=self.eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_logits=True,
        )

    def _completion(self, tokens: list[int], logprobs: list[float], stop: tuple[str, ...]) -> Completion:
        n, reason = _finish(tokens, self.eos_ids, stop, self._decode, self.tokenizer.pad_token_id)
        text = self._decode(tokens[:n] if reason != "eos" else tokens[: n - 1])
        if reason == "stop":
            text = _cut_at_stop(text, stop)
        return Completion(text=text, finish_reason=reason, n_tokens=n, logprob=float(sum(logprobs[:n])))

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def _eos_ids(generation_config, tokenizer) -> list[int]:
    """Token ids that mean "the model ended its answer": generation config's EOS ids and the tokenizer's."""
    ids = generation_config.eos_token_id
    ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def _token_logprobs(logits, tokens) -> list[list[float]]:
    """Log-softmax of the raw logits at each generated token, one row per sequence.

    Computed step by step so only one [rows, vocab] float32 tensor exists at a time.
    """
    import torch

    if not logits:
        return [[] for _ in range(tokens.shape[0])]
    cols = [
        torch.log_softmax(step.float(), dim=-1).gather(1, tokens[:, t : t + 1].to(step.device)).squeeze(1)
        for t, step in enumerate(logits)
    ]
    return torch.stack(cols, dim=1).tolist()


def _finish(tokens: list[int], eos_ids: list[int], stop, decode, pad_id) -> tuple[int, str]:
    """(generated tokens that count, finish reason) for one padded output row.

    A stop string counts up to the token that completes it; EOS counts itself. After either, HF
    pads the row (often with the EOS id itself), which is why the stop check comes first.
    """
    eos_at = next((i for i, t in enumerate(tokens) if t in eos_ids), None)
    limit = len(tokens) if eos_at is None else eos_at
    stop_at = _stop_prefix(tokens[:limit], stop, decode) if stop else None
    if stop_at is not None:
        return stop_at, "stop"
    if eos_at is not None:
        return eos_at + 1, "eos"
    n = len(tokens)
    while n and pad_id is not None and tokens[n - 1] == pad_id:
        n -= 1
    return n, "length"


def _stop_prefix(tokens: list[int], stop, decode) -> int | None:
    """Fewest leading tokens whose text contains a stop string (binary search), or None."""
    def hit(k: int) -> bool:
        text = decode(tokens[:k])
        return any(s in text for s in stop)

    if not tokens or not hit(len(tokens)):
        return None
    lo, hi = 1, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if hit(mid) else (mid + 1, hi)
    return lo


def _cut_at_stop(text: str, stop) -> str:
    """Text before the earliest stop string."""
    cut = min((i for i in (text.find(s) for s in stop) if i != -1), default=len(text))
    return text[:cut]

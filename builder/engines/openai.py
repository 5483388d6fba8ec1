"""The OpenAI-compatible HTTP engine: `vllm serve`, SGLang, `transformers serve` or a hosted API.

`generate` sends each fully rendered prompt to /completions (raw text, no chat template: the
search continues partial assistant turns). `chat` sends each prompt as ONE user message to
/chat/completions, for teacher prompts whose chat template lives on the server. Settings
(run.yaml engine.openai): base_url, model (served name; default the engine's model argument),
api_key_env (name of the environment variable holding the key; unset or empty: the placeholder key
EMPTY, which servers without authentication ignore),
concurrency (threads), timeout (seconds per HTTP call), max_retries, server (auto | openai |
vllm | transformers), chat (generate() goes through chat).

Transport is the maintained `openai` client: it retries HTTP 408/409/429/5xx, connection errors
and timeouts with exponential backoff (0.5 s doubling, at most 8 s, jittered), honours Retry-After,
and applies the timeout to every call. What stays here is ours: the request bodies, the server
differences below, one-line errors, and the usage counts (`retries` from the client's own count).

Server differences handled here (measured against each server):
- `n` ignored (transformers serve): missing choices are requested one by one with derived seeds.
- the stop string is returned inside the text (transformers serve): text is cut client-side.
- temperature alone does not sample (transformers serve): a `generation_config` JSON is sent.
- unknown fields (top_k...) give HTTP 422 and list prompts HTTP 400: neither is ever sent.
- finish_reason "stop" means stop string or EOS: "stop" when a stop string was found in the text
  or named in vLLM's `stop_reason`, else "eos". A server that excludes the stop string and gives
  no `stop_reason` (hosted OpenAI) reports every stop as "eos".
`score_next` asks /completions for one greedy token with `logprobs` (top log-probabilities by
token text; `allowed_token_ids` too on vLLM servers, so the token is one of the two); a server whose
response carries no logprobs is an InputError naming search.verdict (checked by `check_scoring`
before any work).
Token usage from each response's `usage` is summed.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from builder.engines.base import Completion, EngineInfo, Request, TokenPair
from builder.errors import InputError, PsrError, need

# A server without authentication still gets a key: the client requires one (vLLM's convention).
NO_KEY = "EMPTY"
SCORE_LOGPROBS = 5  # the most hosted OpenAI completions accept; vllm serve takes up to 20


class OpenAIEngine:
    def __init__(self, model: str, settings):
        """`settings`: the run config's engine section (builder.config.Engine); only its openai part applies."""
        cfg = settings.openai
        self.base_url = cfg.base_url.rstrip("/")
        self.model = cfg.model or model
        self.api_key_env = cfg.api_key_env
        self.concurrency = cfg.concurrency
        self.timeout = cfg.timeout
        self.max_retries = cfg.max_retries
        self.server = cfg.server
        self.chat_mode = cfg.chat
        self.usage = {"requests": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self._lock = threading.Lock()
        self.client = self._client()
        self.info = EngineInfo(
            name="openai", version="http", model=self.model,
            settings={"base_url": self.base_url, "concurrency": self.concurrency, "timeout": self.timeout,
                      "max_retries": self.max_retries, "server": self.server, "chat": self.chat_mode},
        )

    # ---- the engine interface -------------------------------------------------------------
    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        """Raw prompts to /completions (or chat when settings chat=true); request.n each, in order."""
        return self.chat(requests) if self.chat_mode else self._run(requests, chat=False)

    def chat(self, requests: list[Request]) -> list[list[Completion]]:
        """Each request's prompt as one user message to /chat/completions (the server's chat template)."""
        return self._run(requests, chat=True)

    def score_next(self, prompts: list[str], tokens: TokenPair) -> list[tuple[float, float]]:
        """Log-probabilities of the two tokens after each raw prompt, one HTTP call per prompt."""
        if not prompts:
            return []
        self._detect_server()
        with ThreadPoolExecutor(max_workers=min(self._workers(), len(prompts))) as pool:
            return list(pool.map(lambda p: self._score_one(p, tokens), prompts))

    def check_scoring(self, tokens: TokenPair) -> None:
        """One probe call, so a server without logprobs fails before the search starts."""
        self.score_next(["Answer A or B: "], tokens)

    def _score_one(self, prompt: str, tokens: TokenPair) -> tuple[float, float]:
        body = {"model": self.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "logprobs": SCORE_LOGPROBS}
        # vLLM's own request field, not the client's: sent as extra body
        extra = {"allowed_token_ids": list(tokens.ids)} if self.server == "vllm" else None
        data = self._http("POST", "/completions",
                          lambda: self.client.completions.with_raw_response.create(**body, extra_body=extra))
        logprobs = ((data.get("choices") or [{}])[0] or {}).get("logprobs") or {}
        top = (logprobs.get("top_logprobs") or [None])[0]
        if not top:
            raise InputError(f"engine openai: {self.base_url} returns no logprobs on /completions; "
                             "search.verdict forced/logprob needs them (vllm serve gives them): use search.verdict=parse")
        return text_pair_logprobs(top, tokens.texts)

    # ---- planning: one HTTP call per (request, seed) --------------------------------------
    def _run(self, requests: list[Request], chat: bool) -> list[list[Completion]]:
        if not requests:
            return []
        self._detect_server()  # before the threads start, so it runs once
        with ThreadPoolExecutor(max_workers=min(self._workers(), len(requests))) as pool:
            return list(pool.map(lambda r: self._complete_request(r, chat), requests))

    def _complete_request(self, r: Request, chat: bool) -> list[Completion]:
        """request.n completions: greedy is asked once and copied; missing choices are re-asked."""
        if r.temperature <= 0:
            return self._call(r, 1, r.seed, chat)[:1] * r.n
        want_n = 1 if self.server == "transformers" else r.n
        got = self._call(r, want_n, r.seed, chat)[: r.n]
        k = len(got)
        while len(got) < r.n:
            # n ignored by the server: one more call with a seed derived from the request's
            got += self._call(r, 1, extra_sample_seed(r.seed, k), chat)[:1]
            k += 1
        return got

    # ---- one HTTP call ---------------------------------------------------------------------
    def _call(self, r: Request, n: int, seed: int, chat: bool) -> list[Completion]:
        body = self._body(r, n, seed, chat)
        data = self._post("/chat/completions" if chat else "/completions", body)
        choices = data.get("choices") or []
        if not choices:
            raise PsrError(f"{self.base_url}: response without choices ({json.dumps(data)[:200]})")
        usage = data.get("usage") or {}
        completion_tokens = int(usage.get("completion_tokens") or 0)
        with self._lock:
            self.usage["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            self.usage["completion_tokens"] += completion_tokens
        per_choice = completion_tokens // len(choices) if choices else 0
        return [to_completion(c, r.stop, per_choice, chat) for c in sorted(choices, key=lambda c: c.get("index", 0))]

    def _body(self, r: Request, n: int, seed: int, chat: bool) -> dict:
        body = {"model": self.model, "max_tokens": r.max_tokens, "temperature": r.temperature, "seed": seed}
        if chat:
            body["messages"] = [{"role": "user", "content": r.prompt}]
        else:
            body["prompt"] = r.prompt
        if r.temperature > 0:
            body["top_p"] = r.top_p
        if n > 1:
            body["n"] = n
        if r.stop:
            body["stop"] = list(r.stop)
        if self.server == "transformers":
            # transformers serve samples only when the generation config says so; top_k 0 and
            # repetition_penalty 1 match the hf engine (HF would fill in top_k=50 otherwise)
            sample = r.temperature > 0
            gen = {"do_sample": sample, "repetition_penalty": 1.0, **({"top_k": 0} if sample else {})}
            body["generation_config"] = json.dumps(gen)
        return body

    def _client(self):
        openai = need("openai", "openai", "the openai engine")
        key = os.environ.get(self.api_key_env or "", "") or NO_KEY
        return openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=self.max_retries)

    def _post(self, path: str, body: dict) -> dict:
        api = self.client.chat.completions if path == "/chat/completions" else self.client.completions
        known = {k: body[k] for k in body if k != "generation_config"}
        extra = {"generation_config": body["generation_config"]} if "generation_config" in body else None
        return self._http("POST", path, lambda: api.with_raw_response.create(**known, extra_body=extra))

    def _http(self, method: str, path: str, send) -> dict:
        """One call through the client (which retries); the server's JSON as is, or a one-line PsrError."""
        import openai

        url = self.base_url + path
        try:
            raw = send()
        except openai.APIStatusError as exc:
            if not retried(exc.status_code):
                self._count(0)
                raise PsrError(f"{method} {url}: HTTP {exc.status_code}: {error_detail(exc)}") from None
            last = f"HTTP {exc.status_code}: {error_detail(exc)}"
        except openai.APITimeoutError:
            last = "timed out"
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            last = f"{type(cause).__name__}: {cause}".strip(": ")
        else:
            self._count(raw.retries_taken)
            try:
                return json.loads(raw.text)
            except json.JSONDecodeError:
                raise PsrError(f"{method} {url}: response is not JSON ({raw.text[:120]!r})") from None
        self._count(self.max_retries)
        raise PsrError(f"{method} {url}: failed after {self.max_retries + 1} attempt(s); last error {last} "
                       f"(timeout {self.timeout:g}s; check the server or raise engine.openai.timeout/max_retries)")

    def _count(self, retries: int) -> None:
        with self._lock:
            self.usage["requests"] += 1 + retries
            self.usage["retries"] += retries

    def _workers(self) -> int:
        """transformers serve generates one request at a time and seeds torch globally per request:
        parallel calls gain nothing and mix up the seeds, so it gets one worker."""
        return 1 if self.server == "transformers" else self.concurrency

    def _detect_server(self) -> None:
        """server=auto: ask GET /models once; transformers serve and vLLM mark their model entries."""
        if self.server != "auto":
            return
        self.server = server_kind(self._http("GET", "/models", self.client.models.with_raw_response.list))
        self.info.settings["server"] = self.server


def server_kind(models: dict) -> str:
    """'vllm' (owned_by vllm), 'transformers' (owned_by local with a load status), else 'openai'."""
    entries = models.get("data") or []
    if any(e.get("owned_by") == "vllm" for e in entries):
        return "vllm"
    if any(e.get("owned_by") == "local" or "status" in e for e in entries):
        return "transformers"
    return "openai"


def text_pair_logprobs(top: dict, texts: tuple[str, str]) -> tuple[float, float]:
    """(logprob of texts[0], of texts[1]) from {token text: logprob}; a token not listed gets the
    lowest listed value (an upper bound on its own)."""
    floor = min(float(v) for v in top.values())
    return float(top.get(texts[0], floor)), float(top.get(texts[1], floor))


def extra_sample_seed(seed: int, k: int) -> int:
    """Seed of the k-th extra sample of a request (stable across processes)."""
    from builder.ids import seed_of_text

    return seed_of_text(f"{seed}:{k}", bits=31)  # 31 bits: servers pass it to 32-bit signed seeds


def to_completion(choice: dict, stop: tuple[str, ...], n_tokens: int, chat: bool) -> Completion:
    """Map one choice: cut at the first stop string, and tell stop from EOS."""
    text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
    text = text or ""
    cut = cut_at_stop(text, stop)
    reason = choice.get("finish_reason") or "stop"
    if reason == "length":
        # a stop string inside a length-capped text still ends the step there
        return Completion(text=cut, finish_reason="stop" if cut != text else "length", n_tokens=n_tokens)
    named = isinstance(choice.get("stop_reason"), str) and choice["stop_reason"] in stop
    return Completion(text=cut, finish_reason="stop" if cut != text or named else "eos", n_tokens=n_tokens)


def cut_at_stop(text: str, stop) -> str:
    """Text before the earliest stop string (unchanged when none occurs)."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i != -1), default=len(text))
    return text[:cut]


def retried(status: int) -> bool:
    """The statuses the openai client retries (so a failure with one of them came after every retry)."""
    return status in (408, 409, 429) or status >= 500


def error_detail(exc) -> str:
    """The server's own words: FastAPI's `detail`, OpenAI's `error.message`, or the body as text."""
    body = exc.body
    if isinstance(body, dict):
        body = body.get("detail") or body.get("error") or body.get("message") or body
        if isinstance(body, dict):
            body = body.get("message") or body
    text = body if isinstance(body, str) else json.dumps(body) if body is not None else exc.response.text
    return " ".join(str(text).split())[:300] or exc.message

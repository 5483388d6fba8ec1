"""The OpenAI-compatible HTTP engine: `vllm serve`, SGLang, `transformers serve` or a hosted API.

`generate` sends each fully rendered prompt to /completions (raw text, no chat template: the
search continues partial assistant turns). `chat` sends each prompt as ONE user message to
/chat/completions, for teacher prompts whose chat template lives on the server. Settings
(run.yaml engine.openai): base_url, model (served name; default the engine's model argument),
api_key_env (name of the environment variable holding the key; unset or empty means no key),
concurrency (threads), timeout (seconds per HTTP call), max_retries, backoff (first delay;
doubles), server (auto | openai | vllm | transformers), chat (generate() goes through chat).

Server differences handled here (measured, docs/ENVIRONMENT.md):
- `n` ignored (transformers serve): missing choices are requested one by one with derived seeds.
- the stop string is returned inside the text (transformers serve): text is cut client-side.
- temperature alone does not sample (transformers serve): a `generation_config` JSON is sent.
- unknown fields (top_k...) give HTTP 422 and list prompts HTTP 400: neither is ever sent.
- finish_reason "stop" means stop string or EOS: "stop" when a stop string was found in the text
  or named in vLLM's `stop_reason`, else "eos". A server that excludes the stop string and gives
  no `stop_reason` (hosted OpenAI) reports every stop as "eos".
Retries: HTTP 429/5xx, connection errors and timeouts, with exponential backoff (Retry-After
honoured); other HTTP errors fail at once. Token usage from each response's `usage` is summed.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from builder.engines import check_settings
from builder.engines.base import Completion, EngineInfo, Request
from builder.errors import InputError, PsrError

KNOWN_SETTINGS = {
    "base_url", "model", "api_key_env", "concurrency", "timeout", "max_retries", "backoff", "server", "chat",
    # shared engine keys that mean nothing for a remote server
    "dtype", "device", "max_batch_tokens",
}
SERVERS = ("auto", "openai", "vllm", "transformers")
MAX_BACKOFF = 30.0
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIEngine:
    def __init__(self, model: str, settings: dict):
        check_settings("openai", settings, KNOWN_SETTINGS)
        self.base_url = str(settings.get("base_url", "http://127.0.0.1:8000/v1")).rstrip("/")
        self.model = str(settings.get("model") or model)
        self.api_key_env = settings.get("api_key_env", "OPENAI_API_KEY")
        self.concurrency = max(1, int(settings.get("concurrency", 8)))
        self.timeout = float(settings.get("timeout", 600.0))
        self.max_retries = max(0, int(settings.get("max_retries", 5)))
        self.backoff = float(settings.get("backoff", 0.5))
        self.server = settings.get("server", "auto")
        if self.server not in SERVERS:
            raise InputError(f"engine openai: server {self.server!r} is not one of {', '.join(SERVERS)}")
        self.chat_mode = bool(settings.get("chat", False))
        self.usage = {"requests": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self._lock = threading.Lock()
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

    def _post(self, path: str, body: dict) -> dict:
        return self._http("POST", path, body)

    def _http(self, method: str, path: str, body: dict | None) -> dict:
        """One JSON call with retries on 429/5xx, connection errors and timeouts."""
        url = self.base_url + path
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.usage["retries"] += 1
            with self._lock:
                self.usage["requests"] += 1
            try:
                return self._once(method, url, body)
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code not in RETRY_STATUS:
                    raise PsrError(f"{method} {url}: HTTP {exc.code}: {detail}") from None
                last, wait = f"HTTP {exc.code}: {detail}", _retry_after(exc)
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                last, wait = f"{type(reason).__name__}: {reason}".strip(": "), None
            if attempt < self.max_retries:
                time.sleep(wait if wait is not None else self._delay(attempt))
        raise PsrError(f"{method} {url}: failed after {self.max_retries + 1} attempt(s); last error {last} "
                       f"(timeout {self.timeout:g}s; check the server or raise engine.openai.timeout/max_retries)")

    def _once(self, method: str, url: str, body: dict | None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=self._headers())
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            raw = resp.read()
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise PsrError(f"{method} {url}: response is not JSON ({raw[:120]!r})") from None

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env or "", "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with jitter (so parallel threads do not retry in lockstep)."""
        return min(MAX_BACKOFF, self.backoff * 2**attempt) * (0.75 + 0.5 * random.random())

    def _workers(self) -> int:
        """transformers serve generates one request at a time and seeds torch globally per request:
        parallel calls gain nothing and mix up the seeds, so it gets one worker."""
        return 1 if self.server == "transformers" else self.concurrency

    def _detect_server(self) -> None:
        """server=auto: ask GET /models once; transformers serve and vLLM mark their model entries."""
        if self.server != "auto":
            return
        self.server = server_kind(self._http("GET", "/models", None))
        self.info.settings["server"] = self.server


def server_kind(models: dict) -> str:
    """'vllm' (owned_by vllm), 'transformers' (owned_by local with a load status), else 'openai'."""
    entries = models.get("data") or []
    if any(e.get("owned_by") == "vllm" for e in entries):
        return "vllm"
    if any(e.get("owned_by") == "local" or "status" in e for e in entries):
        return "transformers"
    return "openai"


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


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the body is a courtesy; the status code is the error
        raw = ""
    try:
        data = json.loads(raw)
        raw = data.get("detail") or data.get("error") or data.get("message") or raw
    except (json.JSONDecodeError, AttributeError):
        pass
    return " ".join(str(raw).split())[:300] or exc.reason


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return min(MAX_BACKOFF, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None

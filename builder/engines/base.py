"""The one engine interface every search, eval and data builder talks to.

An engine turns a list of fully rendered prompts into completions, batched. Implementations
(hf, vllm, openai) live beside this file and are created with `builder.engines.load_engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True, frozen=True)
class Request:
    prompt: str
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int = 0


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str  # "stop" | "eos" | "length"
    n_tokens: int
    logprob: float | None = None


@dataclass(slots=True)
class EngineInfo:
    name: str
    version: str
    model: str
    settings: dict = field(default_factory=dict)


class Engine(Protocol):
    info: EngineInfo

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in request order."""
        ...

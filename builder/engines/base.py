"""The one engine interface every search, eval and data builder talks to.

An engine turns a list of fully rendered prompts into completions, batched. Implementations
(hf, vllm, openai) live beside this file and are created with `builder.engines.load_engine`.
`score_next` (the judges' probability path, builder/verdicts.py) gives the log-probabilities of
two given tokens as the next token after each prompt, without generating text.
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


@dataclass(slots=True, frozen=True)
class TokenPair:
    """Two candidate next tokens: ids in the model's tokenizer and their texts (for HTTP servers
    that name tokens by text)."""
    ids: tuple[int, int]
    texts: tuple[str, str]


class Engine(Protocol):
    info: EngineInfo

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in request order."""
        ...

    def score_next(self, prompts: list[str], tokens: TokenPair) -> list[tuple[float, float]]:
        """Per prompt, (log P(tokens[0]), log P(tokens[1])) as the next token after the prompt."""
        ...

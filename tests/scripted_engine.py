"""A SCRIPTED stand-in engine for unit tests of the search logic only (never for end-to-end tests).

It answers generation requests (those with a stop string) with n scripted candidate steps, judge
requests (no stop string) with a scripted verdict text and, when given a `rollout` script, MCTS
rollout requests (no stop string, a prompt without the judge's "A: "/"B: " lines) with n scripted
continuations; `score_next` (forced/logprob verdicts) answers with scripted log-probabilities and
records its prompts in `score_calls`. It records every call and is fully deterministic.
End-to-end tests use the real tiny model with the hf engine instead.
"""

from __future__ import annotations

import hashlib
import re

from builder.engines.base import Completion, EngineInfo, Request

_SIDE = re.compile(r"^([AB]): (.*)$", re.M)
_CAND = re.compile(r"cand (\d+)")


def candidate_step(request: Request, i: int) -> tuple[str, str]:
    """Default candidate: 'cand i' plus a tag from the request seed; never terminal."""
    return f"Step 9: cand {i} s{request.seed % 1000}", "stop"


def prefer_lower(request: Request) -> str:
    """Judge that prefers the candidate with the lower index (a step without one ranks first)."""
    index = {}
    for side, text in _SIDE.findall(request.prompt):
        m = _CAND.search(text)
        index[side] = int(m[1]) if m else -1
    return "Check. [[A]]" if index["A"] < index["B"] else "Check. [[B]]"


def always_a(request: Request) -> str:
    return "[[A]]"


def hashed(request: Request) -> str:
    """Verdicts that look random but depend only on the prompt (A, B or unparseable)."""
    h = hashlib.sha256(request.prompt.encode()).digest()[0] % 3
    return ["[[A]]", "[[B]]", "no verdict"][h]


def score_lower(prompt: str) -> tuple[float, float]:
    """Log-probabilities of (A, B) that favour the lower candidate index, like `prefer_lower`."""
    verdict = prefer_lower(Request(prompt))
    return (-0.2, -1.8) if verdict.endswith("[[A]]") else (-1.8, -0.2)


class ScriptedEngine:
    """Stand-in engine: `step(request, i) -> (text, finish_reason)`, `judge(request) -> text`,
    `score(prompt) -> (log P(A), log P(B))`."""

    def __init__(self, step=candidate_step, judge=prefer_lower, rollout=None, score=score_lower):
        self.step, self.judge, self.rollout, self.score = step, judge, rollout, score
        self.calls: list[list[Request]] = []
        self.score_calls: list[list[str]] = []
        self.gen_calls = 0  # calls that carried generation requests (= tournament rounds so far)
        self.info = EngineInfo("scripted", "0", "scripted", {})

    def generate(self, requests: list[Request]) -> list[list[Completion]]:
        self.calls.append(list(requests))
        self.gen_calls += any(r.stop for r in requests)
        out = []
        for r in requests:
            if r.stop:
                out.append([self._completion(*self.step(r, i)) for i in range(r.n)])
            elif self.rollout is not None and len({side for side, _ in _SIDE.findall(r.prompt)}) < 2:
                out.append([self._completion(*self.rollout(r, i)) for i in range(r.n)])
            else:
                out.append([self._completion(self.judge(r), "eos")])
        return out

    def score_next(self, prompts: list[str], tokens) -> list[tuple[float, float]]:
        self.score_calls.append(list(prompts))
        return [self.score(p) for p in prompts]

    @staticmethod
    def _completion(text: str, reason: str) -> Completion:
        return Completion(text=text, finish_reason=reason, n_tokens=max(1, len(text.split())), logprob=-1.0)

"""Judge verdicts under one of three modes (run.yaml `search.verdict`): the one place that turns judge
prompts and the judge's outputs into (verdict, source, p_a, raw text, generated tokens).

- parse:   the last [[A]]/[[B]] of the generated output; none -> no verdict (source null).
- forced:  parse; an output without a verdict (also one cut at judge_max_tokens) is continued with
           the template's verdict prefix ("...\\n\\n[[" for the paper's prompt) and the verdict is the
           one of the two verdict tokens with the higher next-token probability (source "forced").
           All such continuations of a batch go to the engine in ONE `score_next` call.
- logprob: nothing is generated: the judge prompt plus the verdict prefix (leading whitespace
           dropped: the assistant's turn starts with it) gets one forward pass (source "logprob").

p_a = P(A) / (P(A) + P(B)) of the two verdict tokens (null for parsed verdicts); equal
probabilities go to A. The judge template declares its prefix and verdict strings in its header
(builder/prompts.py); each verdict string must be ONE token after the prefix in the model's
tokenizer, checked once per tokenizer: multi-token verdicts are refused (exit 2) rather than scored
by a rule that would differ between engines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from builder.engines.base import Completion, Request, TokenPair
from builder.errors import InputError
from builder.prompts import VerdictSpec

MODES = ("parse", "forced", "logprob")
SOURCES = ("parsed", "forced", "logprob")


@dataclass(slots=True)
class Verdict:
    verdict: str | None  # "A" | "B" | None
    source: str | None  # "parsed" | "forced" | "logprob" | None (no verdict)
    p_a: float | None
    raw: str
    n_tokens: int


_TOKEN_CACHE: dict = {}


def verdict_tokens(tokenizer, spec: VerdictSpec) -> TokenPair:
    """The verdict strings' token ids; an InputError unless each is one token right after the prefix."""
    key = (getattr(tokenizer, "name_or_path", id(tokenizer)), len(tokenizer), spec.prefix, spec.verdicts)
    if key in _TOKEN_CACHE:
        return _TOKEN_CACHE[key]

    def enc(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    ids = []
    for v in spec.verdicts:
        one = enc(v)
        prefixes = {spec.prefix, spec.prefix.lstrip()}
        if len(one) != 1 or any(enc(p + v) != enc(p) + one for p in prefixes):
            raise InputError(
                f"prompt template {spec.template!r}: verdict {v!r} after prefix {spec.prefix!r} is not one token "
                f"in the tokenizer of {key[0]} ({enc(spec.prefix + v)}); forced/logprob verdicts need one token "
                "per verdict string: change the header's verdict_prefix/verdicts or use search.verdict=parse")
        ids.append(one[0])
    if ids[0] == ids[1]:
        raise InputError(f"prompt template {spec.template!r}: the two verdicts are the same token")
    _TOKEN_CACHE[key] = TokenPair((ids[0], ids[1]), spec.verdicts)
    return _TOKEN_CACHE[key]


def p_of_a(logp_a: float, logp_b: float) -> float:
    """P(A) among the two verdicts from their log-probabilities (a logistic of the difference)."""
    d = logp_b - logp_a
    return 1.0 / (1.0 + math.exp(d)) if d < 700 else 0.0


def parsed(outputs: list[Completion]) -> list[Verdict]:
    """Verdicts by today's rule: the last [[A]]/[[B]] of each output, None where there is none."""
    from builder.steps import parse_verdict

    found = [parse_verdict(o.text) for o in outputs]
    return [Verdict(v, "parsed" if v else None, None, o.text, o.n_tokens) for v, o in zip(found, outputs)]


class Verdicts:
    """One verdict mode, ready to judge: the spec and token ids are checked when it is built."""

    def __init__(self, mode: str, spec: VerdictSpec | None = None, tokens: TokenPair | None = None):
        if mode not in MODES:
            raise InputError(f"search.verdict: {mode!r} is not one of {', '.join(MODES)}")
        self.mode, self.spec, self.tokens = mode, spec, tokens
        self.calls = 0  # engine calls made (generate and score_next), for the search's stats

    @classmethod
    def prepare(cls, mode: str, judge_template: str | None, engine, tokenizer) -> "Verdicts":
        """Check everything forced/logprob need before any work: the template's header, the one-token
        verdicts, an engine that scores next tokens (and, for HTTP servers, returns logprobs)."""
        if mode == "parse":
            return cls(mode)
        from builder.prompts import load_verdict_spec

        if judge_template is None:
            raise InputError(f"search.verdict={mode}: the judge template was given as text, not by name or "
                             "path, so its verdict declaration is unknown")
        if tokenizer is None:
            raise InputError(f"search.verdict={mode}: the renderer has no tokenizer to check the verdict tokens with")
        spec = load_verdict_spec(judge_template)
        if spec is None:
            raise InputError(f"prompt template {judge_template!r} declares no verdict_prefix in its header; "
                             f"search.verdict={mode} needs one (see builder/prompts.py)")
        if not callable(getattr(engine, "score_next", None)):
            raise InputError(f"engine {engine.info.name} cannot score next tokens; search.verdict={mode} needs it")
        tokens = verdict_tokens(tokenizer, spec)
        check = getattr(engine, "check_scoring", None)
        if callable(check):
            check(tokens)
        return cls(mode, spec, tokens)

    @property
    def generates(self) -> bool:
        """Whether judge requests are generated at all (not for logprob)."""
        return self.mode != "logprob"

    def judge(self, engine, requests: list[Request]) -> list[Verdict]:
        """Generate (parse/forced) and resolve: the whole judging of one batch of judge requests."""
        if not requests:
            return []
        outputs = None
        if self.generates:
            outputs = [cs[0] for cs in engine.generate(requests)]
            self.calls += 1
        return self.resolve(engine, [r.prompt for r in requests], outputs)

    def resolve(self, engine, prompts: list[str], outputs: list[Completion] | None) -> list[Verdict]:
        """Verdicts for judge prompts and (parse/forced) their generated outputs, in order."""
        if self.mode == "logprob":
            lead = self.spec.prefix.lstrip()
            scores = engine.score_next([p + lead for p in prompts], self.tokens) if prompts else []
            self.calls += bool(prompts)
            return [self._scored(s, "logprob", "", 0) for s in scores]
        out = parsed(outputs)
        missing = [i for i, v in enumerate(out) if v.verdict is None]
        if self.mode == "forced" and missing:
            # the judge's own output, then the verdict prefix: the model finishes its own judgment
            cont = [prompts[i] + outputs[i].text.rstrip() + self.spec.prefix for i in missing]
            self.calls += 1
            for i, s in zip(missing, engine.score_next(cont, self.tokens), strict=True):
                out[i] = self._scored(s, "forced", outputs[i].text, outputs[i].n_tokens)
        return out

    def written(self, v: Verdict) -> str:
        """The judgment as text with its verdict written out (a training target, e.g. an EFT row):
        the raw output for parsed verdicts, else raw + prefix + verdict string + suffix."""
        if v.source in (None, "parsed"):
            return v.raw
        head = v.raw.rstrip() + self.spec.prefix if v.raw.strip() else self.spec.prefix.lstrip()
        return head + self.spec.verdicts[0 if v.verdict == "A" else 1] + self.spec.suffix

    def _scored(self, logps: tuple[float, float], source: str, raw: str, n_tokens: int) -> Verdict:
        p_a = p_of_a(*logps)
        return Verdict("A" if p_a >= 0.5 else "B", source, p_a, raw, n_tokens)

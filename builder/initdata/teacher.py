"""ENGINE_SPEC strings and the teacher: a model asked plain user messages, through its chat template.

ENGINE_SPEC syntax (the first ':' separates the engine name):
  hf:PATH_OR_HUB_ID          transformers in this process
  vllm:PATH_OR_HUB_ID        vLLM in this process (GPU)
  openai:BASE_URL@MODEL      an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1@Qwen/Qwen2.5-72B-Instruct
  openai:MODEL               same, base URL from run.yaml engine.openai.base_url
Other settings (concurrency, timeout, api_key_env, dtype...) come from run.yaml's engine section.

A teacher message is rendered as one user turn: by the model's chat template through
`ChatRenderer` for hf/vllm, by the server (the /chat/completions endpoint) for openai.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.engines.base import Completion, Request
from builder.errors import InputError

NAMES = ("hf", "vllm", "openai")


@dataclass(slots=True, frozen=True)
class EngineSpec:
    name: str
    model: str
    base_url: str | None = None

    def __str__(self) -> str:
        if self.name == "openai" and self.base_url:
            return f"openai:{self.base_url}@{self.model}"
        return f"{self.name}:{self.model}"


def parse_engine_spec(text: str) -> EngineSpec:
    """'hf:PATH', 'vllm:PATH', 'openai:URL@MODEL' or 'openai:MODEL' -> EngineSpec; InputError otherwise."""
    name, sep, rest = (text or "").partition(":")
    name, rest = name.strip(), rest.strip()
    if not sep or name not in NAMES or not rest:
        raise InputError(f"engine spec {text!r}: expected hf:PATH, vllm:PATH, openai:BASE_URL@MODEL or openai:MODEL")
    if name != "openai":
        return EngineSpec(name, rest)
    if "@" in rest and rest.startswith(("http://", "https://")):
        url, _, model = rest.rpartition("@")
        if not model.strip() or url in ("http://", "https://"):
            raise InputError(f"engine spec {text!r}: openai:BASE_URL@MODEL needs both parts")
        return EngineSpec(name, model.strip(), url.rstrip("/"))
    if rest.startswith(("http://", "https://")):
        raise InputError(f"engine spec {text!r}: name the served model after '@' (openai:BASE_URL@MODEL)")
    return EngineSpec(name, rest)


def engine_settings(spec: EngineSpec, engine_cfg):
    """run.yaml's engine section for the spec's engine, the spec's URL and served model winning."""
    update = {"name": spec.name}
    if spec.name == "openai":
        served = {"model": spec.model, **({"base_url": spec.base_url} if spec.base_url else {})}
        update["openai"] = engine_cfg.openai.model_copy(update=served)
    return engine_cfg.model_copy(update=update)


def open_engine(spec: EngineSpec, engine_cfg):
    from builder.engines import load_engine

    return load_engine(spec.name, spec.model, engine_settings(spec, engine_cfg))


@dataclass(slots=True)
class Teacher:
    """Asks user messages and returns one completion each; `engine` is any engine of the spec."""

    spec: EngineSpec
    engine: object
    renderer: object = None  # ChatRenderer for in-process engines; None for openai (server-side template)
    calls: int = 0
    usage: dict = field(default_factory=lambda: {"completion_tokens": 0})

    @classmethod
    def open(cls, spec: EngineSpec | str, engine_cfg) -> "Teacher":
        spec = parse_engine_spec(spec) if isinstance(spec, str) else spec
        require_local(spec, "teacher")
        engine = open_engine(spec, engine_cfg)
        renderer = None
        if spec.name != "openai":
            from builder.prompts import ChatRenderer

            renderer = ChatRenderer(spec.model)
        return cls(spec, engine, renderer)

    def ask(self, messages: list[str], *, max_tokens: int, seed: int, temperature: float = 0.0) -> list[Completion]:
        """One greedy (by default) answer per user message, in order."""
        if not messages:
            return []
        # openai: the server applies the chat template; in-process engines get the rendered user turn
        texts = messages if self.renderer is None else [self.renderer.user_turn(m) for m in messages]
        reqs = [Request(t, temperature=temperature, max_tokens=max_tokens, seed=seed + i) for i, t in enumerate(texts)]
        out = self.engine.chat(reqs) if self.renderer is None else self.engine.generate(reqs)
        self.calls += len(messages)
        answers = [o[0] for o in out]
        self.usage["completion_tokens"] += sum(a.n_tokens for a in answers)
        return answers


    def judge(self, messages: list[str], verdicts, *, max_tokens: int, seed: int) -> list:
        """One builder.verdicts.Verdict per judge message under `verdicts` (a builder.verdicts.Verdicts)."""
        if verdicts.mode == "parse":
            from builder.verdicts import parsed

            return parsed(self.ask(messages, max_tokens=max_tokens, seed=seed))
        if self.renderer is None:
            raise InputError(f"teacher {self.spec}: verdict {verdicts.mode} needs raw prompts with the teacher's chat "
                             "template, which an openai teacher applies on the server: use --verdict parse")
        reqs = [Request(self.renderer.user_turn(m), temperature=0.0, max_tokens=max_tokens, seed=seed + i)
                for i, m in enumerate(messages)]
        out = verdicts.judge(self.engine, reqs)
        self.calls += len(messages)
        self.usage["completion_tokens"] += sum(v.n_tokens for v in out)
        return out


def policy_spec(policy: str, engine_cfg) -> EngineSpec:
    """--policy: an ENGINE_SPEC, or a model path / Hub id run with run.yaml's engine."""
    if policy.split(":", 1)[0] in NAMES and ":" in policy:
        return parse_engine_spec(policy)
    return EngineSpec(engine_cfg.name, policy)


def open_policy(spec: EngineSpec, engine_cfg):
    """(engine, ChatRenderer) of the policy; the renderer needs the model's tokenizer locally or on the Hub."""
    from builder.prompts import ChatRenderer

    require_local(spec, "policy")
    return open_engine(spec, engine_cfg), ChatRenderer(spec.model)


def require_local(spec: EngineSpec, role: str) -> None:
    """A path-like model that does not exist is a one-line error, not a Hub lookup traceback."""
    from pathlib import Path

    from builder.errors import PsrError

    p = Path(spec.model)
    if spec.name != "openai" and (p.is_absolute() or spec.model.startswith(".")) and not p.exists():
        raise PsrError(f"{role} model not found at {spec.model} (train or build it first, or pass --{role})")

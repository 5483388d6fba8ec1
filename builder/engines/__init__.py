"""Pick and build a generation engine by name: `load_engine("hf" | "vllm" | "openai", model_path, settings)`.

Engine modules are imported only when chosen, so `import builder.engines` never pulls in torch or
vLLM. `settings` is the run config's engine section (`builder.config.Engine`), which every engine
reads as a typed object: the defaults live in builder/config.py and nowhere else. A plain dict of
the same shape (benches, tests: {"device": "cpu", "vllm": {...}}) is validated into one first, None
values meaning "the default".
"""

from __future__ import annotations

from builder.engines.base import Completion, Engine, EngineInfo, Request, TokenPair
from builder.errors import InputError

ENGINES = {
    "hf": "builder.engines.hf:HFEngine",
    "vllm": "builder.engines.vllm:VLLMEngine",
    "openai": "builder.engines.openai:OpenAIEngine",
}

__all__ = ["Completion", "Engine", "EngineInfo", "Request", "TokenPair", "ENGINES", "load_engine", "engine_settings", "check_requests"]


def engine_settings(name: str, settings=None):
    """The typed engine section for engine `name`, from a config object or a dict of its shape."""
    from pydantic import ValidationError

    from builder.config import Engine as EngineSettings

    if isinstance(settings, EngineSettings):
        return settings if settings.name == name else settings.model_copy(update={"name": name})
    data = {k: v for k, v in (settings or {}).items() if v is not None}
    try:
        return EngineSettings.model_validate({**data, "name": name})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise InputError(f"engine {name}: unknown setting '{key}'") from None
        raise InputError(f"engine {name}: setting '{key}': {err['msg']}") from None


def check_requests(requests: list[Request]) -> None:
    """Reject requests no engine can serve, naming the first bad one."""
    for i, r in enumerate(requests):
        if r.n < 1 or r.max_tokens < 1 or r.temperature < 0 or not 0 < r.top_p <= 1:
            raise InputError(f"request {i}: need n >= 1, max_tokens >= 1, temperature >= 0, 0 < top_p <= 1 (got {r})")
        if any(not s for s in r.stop):
            raise InputError(f"request {i}: empty stop string")


def load_engine(name: str, model: str, settings=None) -> Engine:
    import importlib

    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)(str(model), engine_settings(name, settings))

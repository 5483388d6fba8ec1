"""Pick and build a generation engine by name: `load_engine("hf" | "vllm" | "openai", model_path, settings)`.

Engine modules are imported only when chosen, so `import builder.engines` never pulls in torch or
vLLM. `settings` is the run config's engine section: shared keys (dtype, device, max_batch_tokens)
plus an optional sub-dict named after the engine (e.g. settings["vllm"] = {"tensor_parallel_size": 2})
whose keys are merged in; other engines' sub-dicts and None values are dropped.
"""

from __future__ import annotations

from builder.engines.base import Completion, Engine, EngineInfo, Request
from builder.errors import InputError

ENGINES = {
    "hf": "builder.engines.hf:HFEngine",
    "vllm": "builder.engines.vllm:VLLMEngine",
    "openai": "builder.engines.openai:OpenAIEngine",
}

__all__ = ["Completion", "Engine", "EngineInfo", "Request", "ENGINES", "load_engine", "flatten_settings", "check_requests"]


def flatten_settings(name: str, settings: dict | None) -> dict:
    """Shared keys plus the engine's own sub-dict; None means "use the engine's default"."""
    settings = dict(settings or {})
    own = settings.pop(name, None) or {}
    flat = {k: v for k, v in settings.items() if k != "name" and not isinstance(v, dict)}
    flat.update(own)
    return {k: v for k, v in flat.items() if v is not None}


def check_settings(engine: str, settings: dict, known: set[str]) -> None:
    """One-line error naming the unknown keys, so a typo in run.yaml is not silently ignored."""
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InputError(f"engine {engine}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def check_requests(requests: list[Request]) -> None:
    """Reject requests no engine can serve, naming the first bad one."""
    for i, r in enumerate(requests):
        if r.n < 1 or r.max_tokens < 1 or r.temperature < 0 or not 0 < r.top_p <= 1:
            raise InputError(f"request {i}: need n >= 1, max_tokens >= 1, temperature >= 0, 0 < top_p <= 1 (got {r})")
        if any(not s for s in r.stop):
            raise InputError(f"request {i}: empty stop string")


def load_engine(name: str, model: str, settings: dict | None = None) -> Engine:
    import importlib

    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)(str(model), flatten_settings(name, settings))

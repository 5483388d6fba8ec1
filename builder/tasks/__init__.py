"""Task plugins: seeded problem generators with checkers (`get_task("arithmetic")`, `"reasoning_gym:gsm_symbolic"`)."""

from __future__ import annotations

from builder.errors import InputError
from builder.tasks.base import Task


def get_task(name: str, **options) -> Task:
    """Build a task by name; options are the task's keyword arguments (run.yaml `task_options`)."""
    if name == "arithmetic":
        from builder.tasks.arithmetic import ArithmeticTask

        return _build(ArithmeticTask, name, options)
    if name.startswith("reasoning_gym:"):
        from builder.tasks.reasoning_gym import ReasoningGymTask

        return _build(ReasoningGymTask, name, {"generator": name.split(":", 1)[1], **options})
    raise InputError(f"unknown task {name!r}: use 'arithmetic' or 'reasoning_gym:<generator>'")


def _build(cls, name: str, options: dict) -> Task:
    try:
        return cls(**options)
    except TypeError as exc:
        raise InputError(f"bad task_options for {name!r}: {exc}") from None


__all__ = ["Task", "get_task"]

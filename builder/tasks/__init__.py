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


def run_task(config, name: str | None = None) -> Task:
    """The task a run means by `name` (default: its own task).

    The run's task gets run.yaml `task_options`; a name under `task_variants` is the run's task with
    that variant's options on top (demo-frontier: `frontier`, longer chains than iteration 0 trained
    on); any other name is that task with its default options.
    """
    name = name or config.task
    if name == config.task:
        return get_task(name, **config.task_options)
    if name in config.task_variants:
        return get_task(config.task, **{**config.task_options, **config.task_variants[name]})
    return get_task(name)


def task_fingerprint(config) -> list:
    """What a run's task names mean, for fingerprints; a run without variants keeps its old ones."""
    return [config.task, config.task_options, *([config.task_variants] if config.task_variants else [])]


def _build(cls, name: str, options: dict) -> Task:
    try:
        return cls(**options)
    except TypeError as exc:
        raise InputError(f"bad task_options for {name!r}: {exc}") from None


__all__ = ["Task", "get_task", "run_task", "task_fingerprint"]

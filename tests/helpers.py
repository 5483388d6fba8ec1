"""Test helpers: build runs and rows for the store without any model."""

from __future__ import annotations

import json

from click.testing import CliRunner

from builder.cli import cli


def invoke(*args, env=None):
    """Run the real CLI in-process; returns the click Result."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def make_run(tmp_path, preset="demo", *sets):
    from builder.store import init_run

    return init_run(tmp_path / "run", preset, list(sets))


def problem_rows(n, start=0):
    from builder.problems import problem_id

    out = []
    for i in range(start, start + n):
        text = f"What is {i} + {i}?"
        out.append({"problem_id": problem_id(text), "source": "test", "split": "train", "problem": text,
                    "answer": str(2 * i), "meta": json.dumps({"i": i})})
    return out

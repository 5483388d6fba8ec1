"""docs/cluster.md: every `psr` and `ray` command of the guide parses (options and subcommands exist).

The commands that can run on a CPU machine also run for real elsewhere: `ray start --head` +
`psr generate --executor ray --address` + `psr seal` + `psr validate` in tests/test_executor_ray.py,
`--shard I/K` then `psr seal` in tests/test_search_e2e.py, `psr config` of the 7B preset (ZeRO-3) in
tests/test_wheel.py. GPU-only ones (vLLM engines, multi-node `psr train`) are only parsed here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import doc_commands, invoke

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "cluster.md"
VARS = {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "8", "TEACHER": "openai:http://127.0.0.1:8000/v1@t"}


def commands(prog: str) -> list[list[str]]:
    return doc_commands(GUIDE, prog, VARS)


def with_help(args: list[str]) -> list[str]:
    """--help right after the (sub)command names, so every option after it is still parsed."""
    i = next(k for k, a in enumerate(args) if a.startswith("-"))
    return [*args[:i], "--help", *args[i:]]


def test_the_guide_shows_the_commands_it_promises():
    psr = [" ".join(c[:2]) for c in commands("psr")]
    assert any("--executor ray --address auto" in " ".join(c) for c in commands("psr"))
    assert any("--shard 0/8" in " ".join(c) for c in commands("psr"))
    assert {"generate --run", "seal --run", "config --run", "train --run", "init-data eft"} <= set(psr)
    assert len(commands("ray")) == 2


@pytest.mark.parametrize("args", commands("psr"), ids=lambda a: " ".join(a[:3]))
def test_every_psr_command_of_the_guide_parses(args):
    res = invoke(*with_help(args))
    assert res.exit_code == 0 and "Usage:" in res.output, res.output


@pytest.mark.parametrize("args", commands("ray"), ids=lambda a: " ".join(a[:2]))
def test_every_ray_command_of_the_guide_parses(args):
    pytest.importorskip("ray")
    res = subprocess.run([sys.executable, "-m", "ray.scripts.scripts", *with_help(args)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "Usage:" in res.stdout, res.stdout + res.stderr

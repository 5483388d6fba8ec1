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


def doc_commands(path, prog, variables=None, fences=("bash",), inline=False):
    """The `prog ...` lines a Markdown file shows (fenced blocks whose language is in `fences`, and
    with `inline` also `prog ...` code spans), comments stripped, $VARS substituted, shlex-split
    without `prog`."""
    import re
    import shlex
    from pathlib import Path

    text, variables = Path(path).read_text(), variables or {}
    pattern = r"```(?:" + "|".join(re.escape(f) for f in fences) + r")\n(.*?)```"
    lines = [line for block in re.findall(pattern, text, flags=re.S) for line in block.replace("\\\n", " ").splitlines()]
    if inline:
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        lines += re.findall(r"`(" + re.escape(prog) + r" [^`]+)`", prose)
    out = []
    for line in lines:
        line = re.sub(r"\$(\w+)", lambda m: variables.get(m[1], m[0]), line.split(" # ")[0]).strip()
        if line.startswith(prog + " "):
            out.append(shlex.split(line)[1:])
    return out


def run_with_problems(root, model_dir, sets, problems, preset="demo"):
    """`psr init ROOT --preset PRESET` with models.M1=model_dir plus KEY=VALUE `sets`, then
    `psr problems add --iter 1 --limit problems`: a real run whose iteration 1 is ready to search."""
    from builder.store import Run

    args = [x for s in [f"models.M1={model_dir}", *sets] for x in ("--set", s)]
    res = invoke("init", root, "--preset", preset, *args)
    assert res.exit_code == 0, res.output
    assert invoke("problems", "add", "--run", root, "--iter", 1, "--limit", problems).exit_code == 0
    return Run.open(root)


def report_sections(run, out) -> dict:
    """`psr report --format json` of `run` into folder `out`; its sections (the command must succeed)."""
    res = invoke("report", "--run", run.root, "--format", "json", "--out", out)
    assert res.exit_code == 0, res.output
    return json.loads((out / "report.json").read_text())["sections"]

"""README.md and docs/cli.md: every `psr` command they show names real (sub)commands and options,
and the Makefile targets the README names exist and expand to `psr` commands that parse.

The docs write usage lines (`[--shard I/K]`, `(--problem ID | --tree ID)`, placeholders R, N, FILE),
so a line is checked against click's declared commands and options and `--help` of its command path,
not run. The make targets are expanded with `make -n` (nothing installed or trained); its recipe
lines that call `$(MAKE)` do run, so the run directory is a real one in tmp_path.
"""

import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from builder.cli import cli
from tests.helpers import doc_commands, invoke

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ([("README.md", c) for c in doc_commands(ROOT / "README.md", "psr", fences=("bash", ""), inline=True)]
         + [("docs/cli.md", c) for c in doc_commands(ROOT / "docs" / "cli.md", "psr", fences=("bash", ""), inline=True)])
WORD = re.compile(r"[a-z][a-z0-9-]*")
OPTION = re.compile(r"[\[(]*(--[a-z][a-z0-9-]*)")


def check_line(args: list[str]) -> list[str]:
    """The command path of a shown `psr` line; asserts each word of it is a real subcommand and each
    `--option` is declared by the command it is written after (its group's options before the
    subcommand)."""
    cmd, path, ctx, value_next = cli, [], click.Context(cli), False
    for tok in args:
        if value_next:
            value_next = False
            continue
        opt = OPTION.match(tok)
        if opt:
            declared = {o: p for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
            assert opt[1] in declared or opt[1] == "--help", f"psr {' '.join(path)}: no option {opt[1]} ({args})"
            param = declared.get(opt[1])
            value_next = param is not None and not param.is_flag and not param.count and "=" not in tok
        elif isinstance(cmd, click.Group) and WORD.fullmatch(tok):
            sub = cmd.get_command(ctx, tok)
            assert sub is not None, f"psr {' '.join(path)}: no subcommand {tok!r} ({args})"
            cmd, path = sub, [*path, tok]
    return path


def test_the_docs_show_the_loop():
    paths = {" ".join(check_line(a)) for _, a in SHOWN}
    assert {"init", "init-data", "generate", "seal", "pairs", "export", "config", "train", "eval", "eval-judge",
            "report", "show", "sql", "problems add", "model tiny"} <= paths
    assert any(src == "README.md" for src, _ in SHOWN)


@pytest.mark.parametrize("src,args", SHOWN, ids=[f"{s}:{' '.join(a)[:40]}" for s, a in SHOWN])
def test_every_shown_psr_command_parses(src, args):
    path = check_line(args)
    res = invoke(*path, "--help")
    assert res.exit_code == 0 and f" {' '.join(path)} " in res.output.splitlines()[0], res.output


def test_the_checker_catches_a_wrong_command_or_option():
    with pytest.raises(AssertionError, match="no subcommand 'generat'"):
        check_line(["generat", "--run", "R"])
    with pytest.raises(AssertionError, match="no option --shards"):
        check_line(["generate", "--run", "R", "--shards", "0/8"])
    with pytest.raises(AssertionError, match="no option --iter"):
        check_line(["init-data", "--run", "R", "--iter", "0"])  # the group has no --iter


def make_targets() -> set[str]:
    text = (ROOT / "README.md").read_text()
    return set(re.findall(r"\bmake (\w+)", text))


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("target", sorted(make_targets()))
def test_every_make_target_of_the_readme_expands(tmp_path, target):
    run = tmp_path / "run"
    assert invoke("init", run, "--preset", "demo").exit_code == 0
    res = subprocess.run(["make", "-n", "--no-print-directory", target, "N=1", f"RUN={run}", "PRESET=demo",
                          f"COMPARE={run}", f"COMPARE_OUT={tmp_path / 'cmp'}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    shown = [line.split(maxsplit=1)[1] for line in res.stdout.splitlines() if line.startswith(".venv/bin/psr ")]
    if target in ("iter", "init"):
        assert shown, res.stdout
    for line in shown:
        args = re.sub(r"\$\(\( (\d+) \+ 1 \)\)", lambda m: str(int(m[1]) + 1), line).split()
        check_line(args)

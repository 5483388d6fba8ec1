"""Run config validation, `psr init`, the CLI surface, and its help texts."""

import importlib
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from builder.cli import COMMANDS, cli
from builder.config import load_config, load_preset, preset_names, validate_config
from tests.helpers import invoke

ROOT = Path(__file__).resolve().parent.parent

def _runnable(group):
    """Command paths a user can run: every command but a group that needs a subcommand."""
    from builder.cli_docs import walk

    return {" ".join(p) for p, c in walk(group) if not isinstance(c, click.Group) or c.invoke_without_command}


def _loop_block() -> set[str]:
    """The command paths docs/cli.md's hand-written overview (its first fenced block) shows."""
    from tests.test_readme_commands import check_line

    text = (ROOT / "docs" / "cli.md").read_text()
    block = text.split("```", 2)[1]
    return {" ".join(check_line(shlex.split(ln.split(" # ")[0])[1:])) for ln in block.splitlines() if ln.startswith("psr ")}


def test_every_registered_command_is_in_the_docs_overview():
    registered = {name for name in cli.commands}
    assert registered == {getattr(importlib.import_module(f"builder.commands.{m}"), a).name for m, a in COMMANDS}
    assert _runnable(cli) == _loop_block()


def test_the_surface_check_notices_a_new_command():
    group = click.Group(commands=dict(cli.commands))
    group.add_command(click.Command("brand-new", help="A command the docs do not show."))
    assert _runnable(group) - _loop_block() == {"brand-new"}


def test_the_generated_command_reference_is_current():
    from builder.cli_docs import main

    assert main(["--check", str(ROOT / "docs" / "cli.md")]) == 0, "run python -m builder.cli_docs --write docs/cli.md"


def _all_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if hasattr(cmd, "commands"):
            yield from _all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(cli)], ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    res = invoke(*path, "--help")
    assert res.exit_code == 0
    cmd = cli
    for name in path:
        cmd = cmd.commands[name]
    assert cmd.help and len(cmd.help.strip()) > 20, f"psr {' '.join(path)} needs a useful --help"
    if " ".join(path) in _runnable(cli):
        assert "Example" in cmd.help and f"psr {' '.join(path)}" in res.output.split("Example", 1)[1], \
            f"psr {' '.join(path)} --help needs an example"


def test_help_does_not_import_heavy_modules():
    code = "import sys; from builder.cli import cli; import click.testing as t; t.CliRunner().invoke(cli, ['--help']);" \
           "print(','.join(m for m in ('torch','transformers','vllm','duckdb','datasets') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_validates_and_initialises_a_run(tmp_path, name):
    res = invoke("init", tmp_path / "r", "--preset", name)
    assert res.exit_code == 0, res.output
    assert load_config(tmp_path / "r" / "run.yaml") == validate_config(load_preset(name), name)
    assert load_config(tmp_path / "r" / "run.yaml").name == name


def test_the_presets_are_found():
    assert {"demo", "demo-srlm", "qwen2.5-math-7b", "qwen2.5-math-7b-srlm"} <= set(preset_names())


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """A presets folder of our own: write(name, text) adds one."""
    import builder.config

    monkeypatch.setattr(builder.config, "PRESETS_DIR", tmp_path / "presets")
    (tmp_path / "presets").mkdir()
    return lambda name, text: (tmp_path / "presets" / f"{name}.yaml").write_text(text)


def test_extends_deep_merges_mappings_and_replaces_everything_else(presets):
    presets("base", "seed: 1\nsearch: {width: 6, temperature: 0.7}\neval: {modes: [greedy, search], limit: 5}\n")
    presets("mid", "extends: base\nsearch: {width: 4}\neval: {modes: [greedy]}\n")
    presets("leaf", "extends: mid\nseed: 2\neval: {limit: null}\n")
    assert load_preset("leaf") == {"seed": 2, "search": {"width": 4, "temperature": 0.7},
                                   "eval": {"modes": ["greedy"], "limit": None}}
    assert load_preset("base")["search"]["width"] == 6  # the parent is not changed by its child


@pytest.mark.parametrize("files,needle", [
    ({"child": "extends: nope\n"}, "preset 'child': extends unknown preset 'nope' (available: child)"),
    ({"a": "extends: b\n", "b": "extends: a\n"}, "preset 'a': 'extends' makes a cycle (a -> b -> a)"),
    ({"a": "extends: a\n"}, "(a -> a)"),
])
def test_a_bad_extends_is_one_line_naming_the_preset(tmp_path, presets, files, needle):
    for name, text in files.items():
        presets(name, text)
    res = invoke("init", tmp_path / "r", "--preset", next(iter(files)))
    assert res.exit_code == 2 and needle in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "r").exists()


def test_init_writes_frozen_config_with_overrides(tmp_path):
    res = invoke("init", tmp_path / "r", "--preset", "qwen2.5-math-7b", "--set", "search.width=4",
                 "--set", "problems.per_iteration=[10, 20]")
    assert res.exit_code == 0, res.output
    cfg = load_config(tmp_path / "r" / "run.yaml")
    assert cfg.search.width == 4 and cfg.problems.per_iteration == [10, 20]
    assert cfg.engine.name == "vllm" and cfg.search.temperature == 0.5 and cfg.search.judge_orders == "both"
    again = invoke("init", tmp_path / "r", "--preset", "demo")
    assert again.exit_code == 1 and "frozen" in again.output


@pytest.mark.parametrize("override,needle", [
    ("search.widht=3", "key 'search.widht'"),
    ("search.width=many", "key 'search.width'"),
    ("engine.name=tgi", "key 'engine.name'"),
    ("nonsense", "KEY=VALUE"),
])
def test_bad_config_key_names_the_path(tmp_path, override, needle):
    res = invoke("init", tmp_path / "r", "--preset", "demo", "--set", override)
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output


def test_bad_run_yaml_names_the_key(tmp_path):
    invoke("init", tmp_path / "r", "--preset", "demo")
    path = tmp_path / "r" / "run.yaml"
    data = yaml.safe_load(path.read_text())
    data["search"]["max_rollbacks"] = "lots"
    path.write_text(yaml.safe_dump(data))
    res = invoke("sql", "SELECT 1", "--run", tmp_path / "r")
    assert res.exit_code == 2 and "search.max_rollbacks" in res.output


def test_missing_run_dir_is_one_line(tmp_path):
    res = invoke("sql", "SELECT 1", "--run", tmp_path / "nope")
    assert res.exit_code == 2 and "not a run directory" in res.output


def test_model_paths(tmp_path):
    from builder.store import init_run

    run = init_run(tmp_path / "r", "demo", [])
    assert run.model_path(0) == str(run.root / "models" / "M0")
    assert run.model_path(3) == str(run.root / "models" / "M3")
    run = init_run(tmp_path / "q", "qwen2.5-math-7b", ["models.M1=/ckpt/m1"])
    assert run.model_path(0) == "Qwen/Qwen2.5-Math-7B" and run.model_path(1) == "/ckpt/m1"


def test_model_tiny_from_run_skips_when_not_wanted_or_built(tmp_path):
    invoke("init", tmp_path / "q", "--preset", "qwen2.5-math-7b")
    res = invoke("model", "tiny", tmp_path / "q" / "models" / "M0", "--run", tmp_path / "q")
    assert res.exit_code == 0 and "does not build a tiny M0" in res.output
    assert not (tmp_path / "q" / "models").exists()
    invoke("init", tmp_path / "d", "--preset", "demo")
    out = tmp_path / "d" / "models" / "M0"
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    res = invoke("model", "tiny", out, "--run", tmp_path / "d")
    assert res.exit_code == 0 and "already holds a model" in res.output


def test_run_yaml_with_the_retired_openai_backoff_still_opens(tmp_path):
    # run.yaml files are dumped in full, so every run made before the openai client holds this key
    from builder.errors import InputError
    from builder.store import Run
    from tests.helpers import make_run

    run = make_run(tmp_path)
    data = yaml.safe_load(run.config_path.read_text())
    data["engine"]["openai"]["backoff"] = 0.5
    run.config_path.write_text(yaml.safe_dump(data))
    assert Run.open(run.root).config.engine.openai.max_retries == 5
    data["engine"]["openai"]["retry_delay"] = 1  # any other unknown key is still an error
    run.config_path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="engine.openai.retry_delay"):
        Run.open(run.root)

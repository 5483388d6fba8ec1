"""The built wheel is a working tool on its own: schemas and trainer templates ship inside it.

Builds the wheel from a copy of the checkout (no build isolation: offline, with this environment's
setuptools), installs it without dependencies into a fresh virtual environment, then layers this
environment's packages under it (a .pth line, added after the install so pip never sees them), and
runs the CLI from a folder outside the repository with no PYTHONPATH.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".git", ".venv*", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src, out, venv = tmp / "src", tmp / "dist", tmp / "venv"
    shutil.copytree(REPO, src, symlinks=True, ignore=SKIP)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "-w", str(out), str(src)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    [wheel] = out.glob("psr_builder-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                          str(wheel)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "layered-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return wheel, venv


def psr(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(venv / "bin" / "psr"), *args], cwd=cwd, env={**env, "HF_HUB_OFFLINE": "1"},
                          capture_output=True, text=True, timeout=300)


def test_wheel_carries_the_schemas_and_trainer_templates(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for yaml in (REPO / "schemas").glob("*.yaml"):
        assert f"builder/_data/schemas/{yaml.name}" in names
    for tmpl in (REPO / "trainer_configs").iterdir():
        assert f"builder/_data/trainer_configs/{tmpl.name}" in names


def test_installed_cli_works_outside_the_repository(installed, tmp_path):
    _, venv = installed
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import builder; print(builder.__file__)"],
                           cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's copy, not the checkout
    for args in (["init", "r", "--preset", "demo"], ["problems", "add", "--run", "r", "--iter", "1", "--limit", "5"],
                 ["init", "q", "--preset", "qwen2.5-math-7b"], ["config", "--run", "q", "--iter", "0", "--no-validate"]):
        if args[0] == "config":  # config needs the export (no 7B model here to make one); rendering does not read it
            (tmp_path / "q" / "trainer" / "iteration=0").mkdir(parents=True)
            (tmp_path / "q" / "trainer" / "iteration=0" / "sft.parquet").write_bytes(b"")
        res = psr(venv, tmp_path, *args)
        assert res.returncode == 0, (args, res.stderr)
    res = psr(venv, tmp_path, "sql", "SELECT count(*) AS n FROM problems", "--run", "r", "--format", "csv")
    assert res.returncode == 0 and res.stdout.split() == ['"n"', "5"], res.stderr
    rendered = (tmp_path / "q" / "trainer" / "iteration=0" / "axolotl.yaml").read_text()
    ds = next(line.split(": ", 1)[1] for line in rendered.splitlines() if line.startswith("deepspeed:"))
    assert ds.startswith(str(venv)) and Path(ds).is_file()  # the ZeRO-3 file shipped in the wheel

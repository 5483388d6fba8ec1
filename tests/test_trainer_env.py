"""A relative trainer.env is found from the current directory, then the run directory: never beside
the installed package (from a wheel that is site-packages, where no trainer venv belongs)."""

import pytest

from builder.errors import PsrError
from builder.trainer import env as trainer_env


def _venv(folder):
    (folder / "bin").mkdir(parents=True)
    for name in ("axolotl", "python"):
        (folder / "bin" / name).write_text("")
    return folder


def test_relative_env_is_looked_up_in_cwd_then_in_the_run_dir(tmp_path, monkeypatch):
    run_dir, elsewhere = tmp_path / "runs" / "r", tmp_path / "elsewhere"
    elsewhere.mkdir()
    in_run = _venv(run_dir / "venv-ax")
    monkeypatch.chdir(elsewhere)
    assert trainer_env.find_env("venv-ax") is None
    assert trainer_env.find_env("venv-ax", run_dir).root == in_run
    in_cwd = _venv(elsewhere / "venv-ax")
    assert trainer_env.find_env("venv-ax", run_dir).root == in_cwd  # the current directory first


def test_a_venv_beside_the_installed_package_is_not_used(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    _venv(site / ".venv-axolotl")
    monkeypatch.setattr(trainer_env, "PACKAGE_DIR", site / "builder")
    monkeypatch.setattr(trainer_env, "REPO_ROOT", site)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PsrError, match="relative to the current directory or the run directory"):
        trainer_env.require_env(".venv-axolotl", tmp_path / "run")

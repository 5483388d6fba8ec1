"""Files shipped inside the package, found through importlib.resources (never via the source tree).

`schemas/` and `trainer_configs/` stay at the repository's top level; builder/_data/ links to them
and pyproject.toml's package-data copies them into the wheel, so an installed package has them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from builder.errors import PsrError


def data_dir(name: str) -> Path:
    """builder/_data/<name> as a folder on disk (schemas, trainer_configs)."""
    path = Path(str(files("builder").joinpath("_data", name)))
    if not path.is_dir():
        raise PsrError(f"package data '{name}' not found at {path}: the psr-builder installation is incomplete "
                       "(reinstall it; a checkout needs the builder/_data symlinks)")
    return path

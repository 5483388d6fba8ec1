"""psr-builder: Process-based Self-Rewarding (PSRLM) data builder.

Python API: `builder.open_run(path)` opens DuckDB views over a run's tables.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("psr-builder")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"


def open_run(path):
    """DuckDB views over RUN_DIR's tables: `open_run('runs/demo').sql('SELECT ...')`."""
    from builder.query import open_run as _open

    return _open(path)


__all__ = ["open_run", "__version__"]

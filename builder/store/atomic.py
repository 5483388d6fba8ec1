"""The one way every file of a run is written: complete or not at all.

Write to a hidden temp name in the same folder (`.NAME.tmp-PID`, so a rename never crosses file
systems and two processes never share a temp file), fsync the file, rename it over the target,
then fsync the folder so the rename itself survives a power loss. A reader sees the old file or
the new one, never half of one; a killed writer leaves only a temp file, which `leftovers` finds.
A failed write removes its temp file; a full disk becomes one PsrError naming the file and the free
space (`disk_full`, also what builder/cli.py does with a full disk anywhere else).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from builder.errors import PsrError


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def leftovers(path: Path) -> list[Path]:
    """Temp files of `path` left by killed writers (any process)."""
    return sorted(path.parent.glob(f".{path.name}.tmp-*")) if path.parent.exists() else []


@contextmanager
def atomic_open(path: Path, mode: str = "w"):
    """Yield a file handle; on a clean exit the content replaces `path`, on an error nothing changes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    encoding = None if "b" in mode else "utf-8"
    try:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        full = disk_full(exc, path)
        if full is not None:
            raise full from None
        raise
    _fsync_dir(path.parent)


def disk_full(exc: BaseException, path) -> PsrError | None:
    """The one-line error for a write of `path` that failed on a full disk (ENOSPC, or a quota), else None."""
    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    what = "no space left on the device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
    return PsrError(f"{what} writing {path} ({free_space(Path(path))} free there): "
                    "free some space and rerun the same command, it resumes")


def free_space(path: Path) -> str:
    """Free bytes on the file system of `path` (its nearest existing folder), in KiB/MiB/GiB."""
    for folder in [path, *path.parents]:
        if folder.exists():
            free = float(shutil.disk_usage(folder).free)
            break
    else:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if free < 1024 or unit == "GiB":
            return f"{free:.0f} {unit}" if unit == "B" else f"{free:.1f} {unit}"
        free /= 1024
    return "unknown"


def write_text(path: Path, text: str) -> Path:
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_json(path: Path, data, indent: int = 1, **dump_kwargs) -> Path:
    return write_text(path, json.dumps(data, indent=indent, ensure_ascii=False, **dump_kwargs))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems (and Windows) do not open folders; the rename is done anyway
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None

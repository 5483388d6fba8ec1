"""Locks of a run: one writer at a time per iteration, and per-chunk claims for cooperating jobs.

Both are `filelock` locks (flock on Unix): the kernel drops a lock when its process ends, however
it ends, so a lock left by a SIGKILLed process is free for the next one without any staleness guess.
The lock files live in RUN/locks/ and stay there (deleting a lock file someone waits on would let
two processes hold "the same" lock); nothing else is ever removed from that folder.

  RUN/locks/iteration=N.lock          the run lock of iteration N (seal, pairs, export, config,
  RUN/locks/iteration=N.holder.json   train, eval, eval-judge) and who holds it: pid, host, command,
                                      since (written atomically after taking the lock, removed before
                                      releasing it, so a holder file found on taking the lock was
                                      left by a killed holder)
  RUN/locks/push.lock                 `psr push` (the run as a whole)
  RUN/locks/<job folder>/chunk-00003.claim   the claim of one chunk of a chunked job (store/jobs.py)
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from builder.errors import PsrError
from builder.store import atomic


class LockedError(PsrError):
    """Another process holds the run lock: exit 2, like bad usage, since nothing ran."""

    exit_code = 2


def locks_dir(root: Path) -> Path:
    return Path(root) / "locks"


def scope_name(iteration: int | None) -> str:
    return "push" if iteration is None else f"iteration={iteration}"


def holder_path(root: Path, scope: str) -> Path:
    return locks_dir(root) / f"{scope}.holder.json"


def _file_lock(path: Path):
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)  # a new lock object (and descriptor) per use: never shared within a process


def read_holder(root: Path, scope: str) -> dict | None:

    return atomic.read_json(holder_path(root, scope))


def describe(holder: dict | None) -> str:
    if not holder:
        return "another process (starting up)"
    return (f"`{holder.get('command', '?')}` (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')})")


@contextmanager
def run_lock(root: Path, iteration: int | None, command: str, wait: float = 0):
    """Hold the run lock of `iteration` (None: the run's push lock) while the block runs.

    Another holder: wait up to `wait` seconds, then LockedError naming it. Yields the holder record
    a killed process left behind (the lock it held is now ours), or None."""
    from filelock import Timeout

    root, scope = Path(root), scope_name(iteration)
    lock = _file_lock(locks_dir(root) / f"{scope}.lock")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        what = "the run" if iteration is None else f"iteration {iteration}"
        hint = "wait for it to finish" + ("" if wait else ", or rerun with --wait SECONDS")
        raise LockedError(f"{root}: {what} is locked by {describe(read_holder(root, scope))}; {hint}") from None
    try:
        left = read_holder(root, scope)
        atomic.write_json(holder_path(root, scope), {
            "pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        yield left
    finally:
        holder_path(root, scope).unlink(missing_ok=True)
        lock.release()


@contextmanager
def claim(path: Path, wait: bool):
    """Hold the claim lock file `path`; yields False (holding nothing) when another process holds
    it and not `wait`. A claim of a process that died is free again."""
    from filelock import Timeout

    lock = _file_lock(path)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()

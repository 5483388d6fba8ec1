"""The run lock (builder/store/lock.py) between real processes: a second writer on a locked run
iteration exits 2 naming the holder, waits with --wait, and takes over the lock of a SIGKILLed one."""

import signal
import socket
import subprocess
import sys
import time

import pytest

from builder.store.lock import holder_path
from tests.helpers import invoke

HOLD = """
import sys, time
from builder.store.lock import run_lock
with run_lock(sys.argv[1], None if sys.argv[2] == "push" else int(sys.argv[2]), sys.argv[3]):
    print("held", flush=True)
    time.sleep(float(sys.argv[4]))
"""


def hold(root, iteration, command, seconds):
    """A separate process that takes the run lock as a locked command does, then sleeps
    (iteration None: the run's push lock)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root), str(iteration or "push"), command, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def run_root(tmp_path):
    root = tmp_path / "run"
    assert invoke("init", root, "--preset", "demo").exit_code == 0
    return root


def test_a_second_writer_exits_2_naming_the_holder_and_takes_over_after_sigkill(run_root):
    holder = hold(run_root, 1, "psr train --iter 1", 120)
    try:
        res = invoke("train", "--run", run_root, "--iter", 1)
        assert res.exit_code == 2, res.output
        line = res.output.strip()
        assert "\n" not in line and "iteration 1 is locked by `psr train --iter 1`" in line
        assert f"pid {holder.pid} on {socket.gethostname()}, since 20" in line and "--wait SECONDS" in line
        # another iteration of the same run is not locked: seal gets past the lock to its own error
        res = invoke("seal", "--run", run_root, "--iter", 2)
        assert res.exit_code == 1 and "no search output yet" in res.output
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder_path(run_root, "iteration=1").exists()  # the killed holder could not clean up
    res = invoke("train", "--run", run_root, "--iter", 1)
    assert f"took over the lock of `psr train --iter 1` (pid {holder.pid}" in res.output
    assert res.exit_code != 0 and "is locked" not in res.output  # past the lock, to train's own input checks
    assert not holder_path(run_root, "iteration=1").exists()  # released on the way out
    res = invoke("seal", "--run", run_root, "--iter", 1)
    assert res.exit_code == 1 and "took over" not in res.output


def test_wait_lets_a_writer_queue_behind_the_holder(run_root):
    holder = hold(run_root, 1, "psr eval --iter 1", 1.5)
    started = time.monotonic()
    res = invoke("seal", "--run", run_root, "--iter", 1, "--wait", 60)
    assert res.exit_code == 1 and "no search output yet" in res.output, res.output
    assert time.monotonic() - started >= 1.0 and holder.wait() == 0
    res = invoke("seal", "--run", run_root, "--iter", 1, "--wait", 0.2)
    assert res.exit_code == 1 and "took over" not in res.output


def test_push_locks_the_run_and_a_missing_run_gets_no_lock_folder(run_root, tmp_path):
    holder = hold(run_root, None, "psr push", 60)
    try:
        res = invoke("push", "--run", run_root, "--repo", "org/name", "--dry-run", tmp_path / "out")
        assert res.exit_code == 2 and f"the run is locked by `psr push` (pid {holder.pid}" in res.output, res.output
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    res = invoke("eval", "--run", tmp_path / "nope", "--iter", 1)
    assert res.exit_code == 2 and "not a run directory" in res.output and not (tmp_path / "nope").exists()

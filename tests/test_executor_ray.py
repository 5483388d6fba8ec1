"""`psr generate --executor ray` on real local Ray clusters (2 CPU workers) with the real tiny model.

Rows are compared with a local run by content hash per table; the kill test sends SIGKILL to a
real Ray actor process. Ray's token authentication is switched off for these throwaway clusters
(RAY_AUTH_MODE=disabled) so nothing is written to the home folder.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from builder.store import Run
from tests.helpers import invoke
from tests.test_search_e2e import N_PROBLEMS, new_run, table_hashes

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir):
    path = new_run(tmp_path_factory.mktemp("ref") / "run", tiny_model_dir)
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 0, res.output
    return table_hashes(path)


def two_workers(path) -> None:
    """The run config of `new_run` plus two Ray actors of one CPU each (whatever the machine has)."""
    import yaml

    cfg = Path(path) / "run.yaml"
    data = yaml.safe_load(cfg.read_text())
    data["executor"]["ray"].update(workers=2, num_cpus=1)
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    assert Run.open(path).config.executor.ray.workers == 2


def markers(path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((Path(path) / "work" / "iteration=1").glob("chunk-*.json"))]


@pytest.mark.slow
def test_local_cluster_gives_the_rows_of_a_local_run_and_a_rerun_does_no_work(reference, tmp_path, tiny_model_dir,
                                                                             monkeypatch):
    pytest.importorskip("ray")
    for k, v in RAY_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    path = new_run(tmp_path / "run", tiny_model_dir)
    two_workers(path)
    res = invoke("generate", "--run", path, "--iter", 1, "--executor", "ray", "--quiet")
    assert res.exit_code == 0 and f"computed {N_PROBLEMS} chunk(s)" in res.output, res.output
    assert table_hashes(path) == reference
    assert len({m["worker"]["pid"] for m in markers(path)}) == 2  # both actors ran chunks, none ran in the driver
    assert os.getpid() not in {m["worker"]["pid"] for m in markers(path)}
    before = {p: p.stat().st_mtime_ns for p in (path / "data").rglob("*.parquet")}
    res = invoke("generate", "--run", path, "--iter", 1, "--executor", "ray", "--quiet")
    assert res.exit_code == 0 and "computed 0 chunk(s)" in res.output and f"skipped {N_PROBLEMS}" in res.output
    assert {p: p.stat().st_mtime_ns for p in (path / "data").rglob("*.parquet")} == before
    assert invoke("seal", "--run", path, "--iter", 1).exit_code == 0
    assert invoke("validate", "--run", path).exit_code == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def head():
    """`ray start --head --block` (the cluster guide's first command) with 2 CPUs; stopped by its pid."""
    pytest.importorskip("ray")
    port, temp = free_port(), tempfile.mkdtemp(prefix="psr-ray-", dir="/tmp")  # short: Ray's socket paths
    env = {**os.environ, **RAY_ENV}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={temp}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc, f"127.0.0.1:{port}", env
    finally:
        proc.send_signal(signal.SIGTERM)  # --block stops the processes it started
        proc.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def descendants(pid: int) -> dict[int, str]:
    """{pid: command line} of every process under `pid`, read from /proc."""
    parent, cmd = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = {}, {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out.update({p: cmd[p] for p in frontier})
    return out


def running(pid: int) -> bool:
    """False once `pid` has exited (gone, or a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.slow
def test_sigkill_of_a_ray_worker_still_gives_the_rows_of_a_local_run(reference, head, tmp_path, tiny_model_dir):
    proc_head, address, env = head
    path = new_run(tmp_path / "run", tiny_model_dir)
    two_workers(path)
    proc = subprocess.Popen([sys.executable, "-m", "builder.cli", "generate", "--run", str(path), "--iter", "1",
                             "--executor", "ray", "--address", address, "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = Run.open(path).work_dir(1) / "chunk-00000.json"
    deadline = time.monotonic() + 300
    while not list(first.parent.glob("chunk-*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [p for p, c in descendants(proc_head.pid).items() if c.startswith("ray::ChunkWorker")]
    assert workers
    killed = workers[0]
    os.kill(killed, signal.SIGKILL)
    while running(killed):
        time.sleep(0.01)  # the actor writes its own markers: once it is gone, its set of markers is final
    by_killed = [m["chunk"] for m in markers(path) if m["worker"]["pid"] == killed]
    assert len(markers(path)) < N_PROBLEMS, "the kill must land mid-run"
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0 and f"computed {N_PROBLEMS} chunk(s)" in out, out
    assert table_hashes(path) == reference
    # every chunk after the kill (the killed actor's unfinished one included) came from a live actor
    assert [m["chunk"] for m in markers(path) if m["worker"]["pid"] == killed] == by_killed
    assert invoke("seal", "--run", path, "--iter", 1).exit_code == 0
    assert invoke("validate", "--run", path).exit_code == 0


def test_an_unreachable_address_is_a_one_line_error_naming_it(tmp_path, tiny_model_dir):
    pytest.importorskip("ray")
    path = new_run(tmp_path / "run", tiny_model_dir)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    res = invoke("generate", "--run", path, "--iter", 1, "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 30
    assert res.exit_code == 1 and f"127.0.0.1:{port}" in res.output and "unreachable" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not markers(path)


def test_executor_ray_without_ray_names_the_extra(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when it is not installed
    path = new_run(tmp_path / "run", tiny_model_dir)
    res = invoke("generate", "--run", path, "--iter", 1, "--executor", "ray")
    assert res.exit_code == 2 and "pip install 'psr-builder[ray]'" in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_init_data_eft_on_ray_gives_the_rows_and_log_of_a_local_run(tmp_path, tiny_model_dir, monkeypatch):
    """`psr init-data eft` runs its chunks through the same executor seam as `psr generate`."""
    pytest.importorskip("ray")
    from builder.initdata import jobs
    from builder.store import read_table
    from tests.search_fixtures import row_hashes
    from tests.helpers import make_run

    for k, v in RAY_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = {}
    for executor in ("local", "ray"):
        run = make_run(tmp_path / executor, "demo", "search.width=2", "search.max_steps=2", "search.mcts.simulations=2",
                       "search.max_step_tokens=10", "search.judge_max_tokens=6", "executor.ray.workers=2")
        res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}", "--policy",
                     str(tiny_model_dir), "--limit", 3, "--rollouts", 1, "--rollout-max-tokens", 12,
                     "--judge-max-tokens", 6, "--chunk-size", 1, "--executor", executor)
        assert res.exit_code == 0 and "3 chunk(s) computed" in res.output, res.output
        summary = json.loads(jobs.summary_path(run, "eft").read_text())
        out[executor] = (row_hashes(read_table(run, "eft", 0).to_pylist()), summary["counts"],
                         jobs.read_jsonl(jobs.log_path(run, "eft")))
    assert out["ray"][1]["sites"] > 0  # random weights: sites and rollouts, though rarely a kept pair
    assert out["ray"] == out["local"]


class FailsOnChunkOne:
    """A chunk task whose chunk 1 raises in the worker (an application error: Ray does not retry it)."""

    def size(self, c):
        return 1

    def setup(self):
        return os.getpid()

    def run(self, pid, c, progress=None):
        if c == 1:
            raise ValueError(f"boom in worker {pid}")
        return {"chunk": c, "pid": pid}


@pytest.mark.slow
def test_a_chunk_that_still_fails_is_named_with_the_workers_message(monkeypatch):
    pytest.importorskip("ray")
    from builder.config import RayExecutor
    from builder.errors import PsrError
    from builder.executors import run_chunks

    for k, v in RAY_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    done = {}
    with pytest.raises(PsrError) as err:
        run_chunks(FailsOnChunkOne(), [0, 1, 2], "ray", ray_settings=RayExecutor(workers=2, max_retries=1),
                   on_done=lambda c, m: done.update({c: m}))
    msg = str(err.value)
    assert re.search(r"1 chunk\(s\) failed on Ray \(chunk 1: ValueError: boom in worker \d+;", msg), msg
    assert "\n" not in msg and sorted(done) == [0, 2] and os.getpid() not in {m["pid"] for m in done.values()}


def test_driver_progress_sums_the_chunks_of_all_workers():
    from builder.progress import SearchProgress

    p = SearchProgress(10, enabled=False)
    p.chunk_done(3, {"stats": {"gen_tokens": 50, "judge_tokens": 20, "judge_calls": 12}}, 4)
    p.chunk_done(0, {"stats": {"gen_tokens": 30, "judge_tokens": 10, "judge_calls": 8}}, 4)
    assert (p.chunks_done, p.done, p.gen_tokens, p.judge_tokens, p.judge_calls) == (2, 8, 80, 30, 20)
    assert p.rates()["judge_calls_s"] > 0

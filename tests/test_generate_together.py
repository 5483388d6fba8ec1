"""Cooperating `psr generate` processes on one iteration (chunk claims, builder/store/jobs.py), on
the real tiny model (random weights): they split the chunks, none is computed twice, a claim whose
holder was SIGKILLed is taken over, and the rows are those of one uninterrupted run."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from builder.store import Run
from tests.helpers import invoke
from tests.test_search_e2e import N_PROBLEMS, new_run, table_hashes

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def start_generate(path):
    return subprocess.Popen([sys.executable, "-m", "builder.cli", "generate", "--run", str(path), "--iter", "1", "-q"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc) -> tuple[int, str]:
    err = proc.communicate(timeout=600)[1]
    assert proc.returncode == 0, err
    m = re.search(r"computed (\d+) chunk\(s\)", err)
    assert m, err
    return int(m[1]), err


def writers(path) -> dict[int, list[int]]:
    """pid -> the chunks whose marker that process wrote."""
    out: dict[int, list[int]] = {}
    for marker in sorted(Run.open(path).work_dir(1).glob("chunk-*.json")):
        data = json.loads(marker.read_text())
        out.setdefault(data["worker"]["pid"], []).append(data["chunk"])
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir):
    path = new_run(tmp_path_factory.mktemp("ref") / "run", tiny_model_dir)
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 0 and f"computed {N_PROBLEMS} chunk(s)" in res.output, res.output
    return table_hashes(path)


def test_two_generators_split_the_chunks_and_give_the_rows_of_one_run(reference, tmp_path, tiny_model_dir):
    path = new_run(tmp_path / "run", tiny_model_dir)
    a, b = start_generate(path), start_generate(path)
    (done_a, err_a), (done_b, err_b) = finish(a), finish(b)
    by_pid = writers(path)
    # each chunk computed once: the two reports add up to the chunk count, and each process's count
    # is the number of markers carrying its pid (a chunk computed twice would count in both)
    assert done_a + done_b == N_PROBLEMS, (err_a, err_b)
    assert {pid: len(cs) for pid, cs in by_pid.items()} == {p: n for p, n in ((a.pid, done_a), (b.pid, done_b)) if n}
    assert done_a and done_b, "both processes started together and took chunks"
    assert f"{N_PROBLEMS - done_a} computed by another process" in err_a
    assert table_hashes(path) == reference
    assert invoke("seal", "--run", path, "--iter", 1).exit_code == 0


HOLD_CLAIMS = """
import sys, time
from contextlib import ExitStack
from builder.search import chunks
from builder.store import Run
from builder.store.lock import claim
job = chunks.job(Run.open(sys.argv[1]), 1)
with ExitStack() as stack:
    assert all(stack.enter_context(claim(job.claim_path(c), wait=False)) for c in range(int(sys.argv[2])))
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_a_claim_whose_holder_was_sigkilled_is_taken_over(reference, tmp_path, tiny_model_dir):
    path = new_run(tmp_path / "run", tiny_model_dir)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_CLAIMS, str(path), str(N_PROBLEMS)], env=ENV,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    gen = start_generate(path)
    try:
        time.sleep(5)  # model loaded and polling: every chunk is claimed by the holder
        assert gen.poll() is None and not writers(path), "a claimed chunk must not be computed"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    done, err = finish(gen)
    assert done == N_PROBLEMS and "by another process" not in err and list(writers(path)) == [gen.pid]
    assert table_hashes(path) == reference

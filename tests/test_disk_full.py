"""A full disk during `psr generate`: one line naming the file and the free space, exit 1, no temp
file left, and a rerun after space is freed gives the rows of an uninterrupted run.

Two ways to fill the disk: a real one (a small tmpfs mounted in a private mount namespace with
`unshare`; skipped where the machine does not allow it), and a simulated ENOSPC raised at the
Parquet write call (runs everywhere)."""

import errno
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import invoke
from tests.test_search_e2e import N_PROBLEMS, new_run, table_hashes

KEEP_FREE_KIB = 24  # room for about one chunk (3 parts and a marker, a 4 KiB page each on tmpfs)

SCRIPT = """
set -u
mount -t tmpfs -o size=8m tmpfs "$MNT" || exit 77
cp -a "$SRC" "$MNT/run"
avail=$(df --output=avail -B1 "$MNT" | tail -1)
fallocate -l $((avail - KEEP * 1024)) "$MNT/filler" || exit 77
"$PY" -m builder.cli generate --run "$MNT/run" --iter 1 -q 2> "$OUT/err1"; echo $? > "$OUT/rc1"
find "$MNT/run" -name '.*.tmp-*' > "$OUT/leftovers"
rm "$MNT/filler"
"$PY" -m builder.cli generate --run "$MNT/run" --iter 1 -q 2> "$OUT/err2"; echo $? > "$OUT/rc2"
cp -a "$MNT/run" "$OUT/run"
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir):
    path = new_run(tmp_path_factory.mktemp("ref") / "run", tiny_model_dir)
    assert invoke("generate", "--run", path, "--iter", 1, "--quiet").exit_code == 0
    return table_hashes(path)


def assert_one_line_naming_the_file(err: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in err and len(errors) == 1, err
    line = errors[0]
    assert "no space left on the device writing " in line and " free there)" in line and "rerun" in line, line


def test_a_real_full_tmpfs(reference, tmp_path, tiny_model_dir):
    if shutil.which("unshare") is None or shutil.which("fallocate") is None:
        pytest.skip("no unshare/fallocate to mount a private tmpfs")
    src = new_run(tmp_path / "run", tiny_model_dir)
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    env = {**os.environ, "MNT": str(mnt), "SRC": str(src), "OUT": str(out), "PY": sys.executable,
           "KEEP": str(KEEP_FREE_KIB), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    res = subprocess.run(["unshare", "-rm", "sh", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    if res.returncode == 77 or not (out / "rc1").exists():
        pytest.skip(f"cannot mount a private tmpfs here: {res.stderr.strip()[:200]}")
    err1 = (out / "err1").read_text()
    assert (out / "rc1").read_text().strip() == "1", err1
    assert_one_line_naming_the_file(err1)
    assert str(mnt / "run") in err1  # the file on the full tmpfs is named
    assert (out / "leftovers").read_text() == ""  # no temp file of the failed write
    assert (out / "rc2").read_text().strip() == "0", (out / "err2").read_text()
    assert table_hashes(out / "run") == reference


def test_a_simulated_enospc_at_the_parquet_write(reference, tmp_path, tiny_model_dir, monkeypatch):
    import pyarrow.parquet as pq

    path = new_run(tmp_path / "run", tiny_model_dir)
    real, calls = pq.write_table, []

    def write_then_fill(table, where, **kw):  # the 5th part: the disk fills in the middle of chunk 1
        calls.append(1)
        if len(calls) == 5:
            where.write(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", write_then_fill)
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 1
    assert_one_line_naming_the_file(res.output)
    assert f"{path / 'data' / 'nodes' / 'iteration=1' / 'part-c00001.parquet'} (" in res.output
    assert not list(path.rglob(".*.tmp-*")) and not (path / "data/nodes/iteration=1/part-c00001.parquet").exists()
    monkeypatch.setattr(pq, "write_table", real)
    res = invoke("generate", "--run", path, "--iter", 1, "--quiet")
    assert res.exit_code == 0 and f"computed {N_PROBLEMS - 1} chunk(s)" in res.output, res.output
    assert table_hashes(path) == reference


def test_push_dry_run_on_a_full_disk_leaves_an_empty_folder_and_reruns(tmp_path, monkeypatch):
    """A simulated ENOSPC in the third file copy of `psr push --dry-run` (a write outside store/atomic.py)."""
    from tests.test_push import build_run

    run, out = build_run(tmp_path), tmp_path / "repo"
    real, calls = shutil.copy2, []

    def copy_then_fill(src, dst, **kw):
        calls.append(1)
        if len(calls) == 3:
            with open(dst, "wb") as fh:
                fh.write(b"half a file")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, **kw)

    monkeypatch.setattr(shutil, "copy2", copy_then_fill)
    res = invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", out)
    assert res.exit_code == 1
    assert_one_line_naming_the_file(res.output)
    assert out.is_dir() and not list(out.iterdir()) and sorted(p.name for p in tmp_path.iterdir()) == ["repo", "run"]
    monkeypatch.setattr(shutil, "copy2", real)
    res = invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", out)
    assert res.exit_code == 0 and (out / "README.md").exists(), res.output

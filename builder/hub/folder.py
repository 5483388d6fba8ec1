"""The dataset repository folder `psr push` uploads, laid out like the run's own store.

    README.md                                   the dataset card (card.py)
    <table>/iteration=<N>/part-*.parquet        iteration is also a real column in every file
    manifests/iteration=<N>.json                lineage and sha256 of every part
    run.yaml                                    the run config
    report/report.json                          when `psr report --format json` was run

Only files a sealed manifest lists are copied, and only after they validate against it, so a
part written after sealing (or changed since) never reaches the Hub.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import InputError, PsrError
from builder.store import Run, check_sealed_files, load_manifest
from builder.store.atomic import disk_full
from builder.store.manifest import sealed_iterations

# Hub rule: ORG/NAME of letters, digits, '-', '_', '.'; no '--' or '..'; no leading/trailing '-' or '.'.
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")

REPORT_PATH = Path("report") / "report.json"


@dataclass(slots=True)
class Layout:
    """What the folder holds: per table the iterations with data, row counts, and the manifests."""

    splits: dict[str, list[int]] = field(default_factory=dict)
    rows: dict[tuple[str, int], int] = field(default_factory=dict)
    manifests: dict[int, dict] = field(default_factory=dict)
    has_report: bool = False

    def add(self, table: str, iteration: int, rows: int) -> None:
        its = self.splits.setdefault(table, [])
        if iteration not in its:
            its.append(iteration)
            its.sort()
        self.rows.setdefault((table, iteration), rows)


def check_repo_id(repo_id: str) -> str:
    if not _REPO_ID.match(repo_id or "") or "--" in repo_id or ".." in repo_id or len(repo_id.split("/")[1]) > 96:
        raise InputError(
            f"--repo '{repo_id}': expected ORG/NAME (letters, digits, '-', '_', '.'), e.g. my-org/psr-demo"
        )
    return repo_id


def select_iterations(run: Run, requested: list[int] | tuple[int, ...]) -> list[int]:
    """The iterations to push: every sealed one by default; a named unsealed one is an error."""
    sealed = sealed_iterations(run)
    if not requested:
        if not sealed:
            raise PsrError(f"{run.root}: no sealed iteration to push; seal one first (`psr seal --run {run.root} --iter N`)")
        return sealed
    for n in requested:
        if n not in sealed:
            raise PsrError(
                f"iteration {n} of {run.root} is not sealed and is never pushed; seal it first "
                f"(`psr seal --run {run.root} --iter {n}`)"
            )
    return sorted(set(requested))


def prepare_dir(out: Path) -> Path:
    """An empty directory to build into; a non-empty one is refused rather than mixed into."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PsrError(f"{out}: exists and is not an empty directory; give a new or empty --dry-run DIR")
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_folder(run: Run, iterations: list[int], out: Path, link: bool = False) -> Layout:
    """Copy (or hard-link) the sealed files of `iterations` into `out`; the card is written later."""
    layout = Layout()
    for n in iterations:
        problems, _ = check_sealed_files(run, n)
        if problems:
            raise PsrError(f"iteration {n} does not match its manifest, not pushing: {problems[0]} (see `psr validate`)")
        manifest = load_manifest(run, n)
        layout.manifests[n] = manifest
        for table, entry in manifest["tables"].items():
            for name in sorted(entry["files"]):
                _place(run.table_dir(table, n) / name, out / table / f"iteration={n}" / name, link)
            if entry["files"]:
                layout.add(table, n, int(entry["rows"]))
        _place(run.manifest_path(n), out / "manifests" / f"iteration={n}.json", link=False)
    if not layout.splits:
        raise PsrError(f"nothing to push: sealed iteration(s) {', '.join(map(str, iterations))} hold no data files")
    _place(run.config_path, out / "run.yaml", link=False)
    report = run.root / REPORT_PATH
    if report.is_file():
        _place(report, out / REPORT_PATH, link=False)
        layout.has_report = True
    return layout


def _place(src: Path, dst: Path, link: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another filesystem or no hard links: copy instead
    try:
        shutil.copy2(src, dst)
    except OSError as exc:  # the folder is a temp one (push.py): only the message needs the path
        full = disk_full(exc, dst)
        if full is None:
            raise
        raise full from None

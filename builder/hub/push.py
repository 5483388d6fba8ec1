"""`psr push` as a library call: build the repository folder, then upload it and tag each iteration.

A dry run writes the folder to a directory and touches no network. A real push builds the same
folder in a temporary directory (hard links, no copies of big Parquet files where possible), reads
the Hub's current head and which iterations are already there (so the card keeps listing them),
commits on top of that head, retries when another commit landed first, and then tags the commit
`iter-<N>` for every pushed iteration.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import PsrError
from builder.hub.card import CardInputs, render_card, tag_name
from builder.hub.folder import REPORT_PATH, Layout, build_folder, check_repo_id, prepare_dir, select_iterations
from builder.hub.upload import create_tags, hub_errors, make_api, remote_state, resolve_token, with_commit_retries
from builder.store import Run


@dataclass(slots=True)
class PushResult:
    repo_id: str
    iterations: list[int]
    folder: Path | None = None        # the dry-run folder
    commit: str | None = None
    url: str | None = None
    attempts: int = 0
    tags_created: list[str] = field(default_factory=list)
    tags_existing: list[str] = field(default_factory=list)


def publish(run: Run, repo_id: str, iterations=(), private: bool = False, dry_run: str | Path | None = None,
            api=None, sleep=time.sleep, on_retry=None) -> PushResult:
    """Push the sealed `iterations` (default: all sealed) of `run` to dataset `repo_id`, or only build it."""
    check_repo_id(repo_id)
    chosen = select_iterations(run, list(iterations))
    if dry_run is not None:
        return PushResult(repo_id, chosen, folder=_dry_run_folder(run, repo_id, chosen, prepare_dir(Path(dry_run))))
    if api is None:
        api = make_api(resolve_token())
    with tempfile.TemporaryDirectory(prefix="psr-push-") as tmp:
        layout = build_folder(run, chosen, Path(tmp), link=True)
        with hub_errors(repo_id, getattr(api, "endpoint", None)):
            api.create_repo(repo_id, repo_type="dataset", private=True if private else None, exist_ok=True)
            result = _commit(api, run, repo_id, layout, Path(tmp), chosen, sleep, on_retry)
            message = f"psr push of run '{run.config.name}'"
            result.tags_created, result.tags_existing = create_tags(
                api, repo_id, [tag_name(n) for n in chosen], result.commit, message)
    return result


def _dry_run_folder(run: Run, repo_id: str, chosen: list[int], out: Path) -> Path:
    """Build the folder beside the empty `out` and rename it into place: a failure (a full disk)
    leaves `out` empty, so the same command can be rerun."""
    import shutil

    from builder.store.atomic import temp_path

    tmp = temp_path(out)
    try:
        tmp.mkdir()
        layout = build_folder(run, chosen, tmp)
        write_card(tmp, card_inputs(run, repo_id, layout))
        out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _commit(api, run: Run, repo_id: str, layout: Layout, folder: Path, chosen: list[int], sleep, on_retry) -> PushResult:
    tried = []

    def attempt(i: int):
        tried.append(i)
        # Re-read the head every attempt: the card must list what the other commit added.
        state = remote_state(api, repo_id)
        write_card(folder, card_inputs(run, repo_id, layout, state.layout))
        return api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=str(folder),
            commit_message=f"psr push: iteration(s) {', '.join(map(str, chosen))} of run '{run.config.name}'",
            parent_commit=state.head,
            # A redone (re-sealed) iteration may have other part names: drop its stale remote parts.
            delete_patterns=[f"*/iteration={n}/*.parquet" for n in chosen],
        )

    info = with_commit_retries(attempt, sleep=sleep, on_retry=on_retry)
    return PushResult(repo_id, chosen, commit=getattr(info, "oid", None), url=getattr(info, "commit_url", None),
                      attempts=len(tried))


def card_inputs(run: Run, repo_id: str, layout: Layout, remote: dict[str, set[int]] | None = None) -> CardInputs:
    splits = {t: list(its) for t, its in layout.splits.items()}
    remote_only = set()
    for table, its in (remote or {}).items():
        for n in its:
            if n not in layout.manifests:
                splits.setdefault(table, []).append(n)
                remote_only.add(n)
    hub = run.config.hub
    return CardInputs(
        repo_id=repo_id, run_name=run.config.name, license=hub.license, tags=list(hub.tags),
        run_yaml=run.config_path.read_text(), splits={t: sorted(its) for t, its in splits.items()},
        rows=dict(layout.rows), manifests=dict(layout.manifests), report=read_report(run),
        remote_only=tuple(sorted(remote_only)),
    )


def read_report(run: Run) -> dict | None:
    path = run.root / REPORT_PATH
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PsrError(f"{path}: not valid JSON ({exc}); rerun `psr report --format json` or remove it") from None


def write_card(folder: Path, inputs: CardInputs) -> Path:
    from builder.store.atomic import write_text

    return write_text(Path(folder) / "README.md", render_card(inputs))

"""Talking to the Hugging Face Hub: token, HfApi, commit retries, tags, one-line errors.

Every Hub call goes through an `api` object with HfApi's methods (create_repo, repo_info,
list_repo_files, upload_folder, create_tag), so tests hand in a stand-in at that boundary. A commit is retried
with exponential backoff when the Hub rejects it because another commit landed first: HTTP 412
(our `parent_commit` is no longer the head) or 409 (another commit operation is in progress).
"""

from __future__ import annotations

import os
import random
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass

from builder.errors import PsrError

CONFLICT_STATUSES = (409, 412)
_PARQUET = re.compile(r"^([^/]+)/iteration=(\d+)/[^/]+\.parquet$")
_TRANSPORT_NAMES = {"TransportError", "RequestError", "ConnectError", "ConnectTimeout", "Timeout", "ProxyError"}


@dataclass(slots=True)
class RemoteState:
    head: str | None                 # commit sha of main, the parent our commit must sit on
    layout: dict[str, set[int]]      # table -> iterations whose Parquet files are already on the Hub


def resolve_token() -> str:
    """HF_TOKEN, else the login cache (`hf auth login`); never prompts."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise PsrError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (older clients: `huggingface-cli login`)")
    return token


def make_api(token: str):
    from huggingface_hub import HfApi

    # HF_ENDPOINT is read now rather than when huggingface_hub was imported (mirrors, tests).
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a Hub error (huggingface_hub attaches the response; older versions chain it)."""
    for err in (exc, exc.__context__, exc.__cause__):
        status = getattr(getattr(err, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
    return None


def is_commit_conflict(exc: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError

    return isinstance(exc, HfHubHTTPError) and http_status(exc) in CONFLICT_STATUSES


def with_commit_retries(attempt, *, attempts: int = 6, base_delay: float = 1.0, sleep=time.sleep, on_retry=None):
    """Call `attempt(i)` until it succeeds; on a commit conflict wait base_delay * 2**i (jittered) and retry."""
    for i in range(attempts):
        try:
            return attempt(i)
        except Exception as exc:
            if not is_commit_conflict(exc) or i == attempts - 1:
                raise
            delay = base_delay * (2 ** i) * (1 + random.random())
            if on_retry:
                on_retry(i + 1, http_status(exc), delay)
            sleep(delay)
    raise AssertionError("unreachable")


def remote_state(api, repo_id: str) -> RemoteState:
    head = api.repo_info(repo_id, repo_type="dataset").sha
    # The file listing of that same commit (paginated, unlike repo_info's siblings).
    files = api.list_repo_files(repo_id, repo_type="dataset", revision=head)
    return RemoteState(head, parquet_layout(list(files)))


def parquet_layout(paths: list[str]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for path in paths:
        m = _PARQUET.match(path)
        if m:
            out.setdefault(m.group(1), set()).add(int(m.group(2)))
    return out


def create_tags(api, repo_id: str, tags: list[str], revision: str | None, message: str) -> tuple[list[str], list[str]]:
    """Tag `revision` with each tag; an existing tag (409) stays where it is. Returns (created, existing)."""
    from huggingface_hub.errors import HfHubHTTPError

    created, existing = [], []
    for tag in tags:
        try:
            api.create_tag(repo_id, tag=tag, revision=revision, repo_type="dataset", tag_message=message)
            created.append(tag)
        except HfHubHTTPError as exc:
            if http_status(exc) != 409:
                raise
            existing.append(tag)
    return created, existing


@contextmanager
def hub_errors(repo_id: str, endpoint: str | None):
    """Turn Hub and network failures into one-line PsrErrors that say what to do."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    where = endpoint or "https://huggingface.co"
    try:
        yield
    except OfflineModeIsEnabled:
        raise PsrError("HF_HUB_OFFLINE is set, so the Hub cannot be reached: unset it to push (or use --dry-run DIR)") from None
    except HfHubHTTPError as exc:
        raise PsrError(_http_message(exc, repo_id)) from None
    except Exception as exc:
        if not _is_transport_error(exc):
            raise
        raise PsrError(
            f"cannot reach the Hugging Face Hub at {where} ({type(exc).__name__}: {_first_line(exc)}); "
            "check the network, a proxy, or HF_ENDPOINT"
        ) from None


def _http_message(exc, repo_id: str) -> str:
    status = http_status(exc)
    if status == 401:
        return "the Hub rejected the token (401): set a valid HF_TOKEN or run `hf auth login`"
    if status == 403:
        return f"no write access to dataset {repo_id} (403): use a token with write permission for that namespace"
    if status in CONFLICT_STATUSES:
        return f"dataset {repo_id} kept changing under us ({status}); another push is running? retry later"
    return f"the Hub refused the request for dataset {repo_id} ({status}): {_first_line(exc)}"


def _is_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ in _TRANSPORT_NAMES for cls in type(exc).__mro__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""`psr push` upload path and its one-line errors.

We cannot reach the Hugging Face Hub here, so the upload path runs against a STAND-IN for
huggingface_hub.HfApi at the HTTP boundary (StandInHub below). Its rejections are the Hub's real
exception type: HfHubHTTPError made by huggingface_hub's own hf_raise_for_status from a 412/409
HTTP response. The "unreachable Hub" case is real: a closed localhost port with offline mode off.
"""

import inspect
import socket
import sys
from types import SimpleNamespace

import pytest

from builder.errors import PsrError
from builder.hub import publish
from tests.helpers import invoke
from tests.test_push import build_run

REPO = "my-org/psr-demo"


def hub_error(status: int, message: str):
    """The exception huggingface_hub raises for an HTTP `status` answer of the Hub."""
    from huggingface_hub import errors
    from huggingface_hub.utils import hf_raise_for_status

    http = sys.modules[errors.Response.__module__.split(".")[0]]  # the HTTP client huggingface_hub uses
    request = http.Request("POST", f"https://huggingface.co/api/datasets/{REPO}/commit/main")
    try:
        hf_raise_for_status(http.Response(status, request=request, json={"error": message}))
    except errors.HfHubHTTPError as exc:
        return exc
    raise AssertionError("hf_raise_for_status did not raise")


class StandInHub:
    """Stand-in for HfApi (no network): records calls; `conflicts` commits are rejected with 412
    because another push lands first (moving the head and adding iteration 5 of `pairs`)."""

    endpoint = "https://stand-in.invalid"

    def __init__(self, conflicts=0, tags=(), fail_status=None):
        self.calls, self.uploads, self.tags = [], [], {t: "old" for t in tags}
        self.conflicts, self.fail_status = conflicts, fail_status
        self.head, self.files = "head-0", [".gitattributes"]

    def _record(self, method, *args, **kw):
        """Record a call after checking it binds to the real HfApi method's signature."""
        from huggingface_hub import HfApi

        inspect.signature(getattr(HfApi, method)).bind(None, *args, **kw)
        self.calls.append((method, args[0] if args else kw.get("repo_id"), kw))

    def create_repo(self, repo_id, **kw):
        self._record("create_repo", repo_id, **kw)
        return f"{self.endpoint}/datasets/{repo_id}"

    def repo_info(self, repo_id, **kw):
        self._record("repo_info", repo_id, **kw)
        return SimpleNamespace(sha=self.head)

    def list_repo_files(self, repo_id, **kw):
        self._record("list_repo_files", repo_id, **kw)
        assert kw["revision"] == self.head
        return list(self.files)

    def upload_folder(self, **kw):
        self._record("upload_folder", **kw)
        folder = kw["folder_path"]
        from pathlib import Path

        snapshot = {str(p.relative_to(folder)): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}
        self.uploads.append((kw, snapshot))
        if self.fail_status:
            raise hub_error(self.fail_status, "forbidden")
        if self.conflicts:
            self.conflicts -= 1
            self.head = f"head-other-{len(self.uploads)}"
            self.files.append("pairs/iteration=5/part-other.parquet")
            raise hub_error(412, "A commit has happened since. Please refresh and try again.")
        assert kw["parent_commit"] == self.head
        self.head = "c0ffee"
        return SimpleNamespace(oid="c0ffee", commit_url=f"{self.endpoint}/datasets/{REPO}/commit/c0ffee")

    def create_tag(self, repo_id, *, tag, revision=None, repo_type=None, tag_message=None, exist_ok=False):
        self._record("create_tag", repo_id, tag=tag, revision=revision, repo_type=repo_type, tag_message=tag_message)
        if tag in self.tags:
            raise hub_error(409, "Tag reference already exists")
        self.tags[tag] = revision

    def names(self):
        return [c[0] for c in self.calls]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("upload"))


def test_calls_and_one_retry_after_a_rejected_commit(run, tmp_path):
    hub, sleeps = StandInHub(conflicts=1), []
    result = publish(run, REPO, private=True, api=hub, sleep=sleeps.append)
    assert hub.names() == ["create_repo", "repo_info", "list_repo_files", "upload_folder",
                           "repo_info", "list_repo_files", "upload_folder", "create_tag", "create_tag", "create_tag"]
    assert hub.calls[0][2] == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 2.0
    first, second = hub.uploads[0][0], hub.uploads[1][0]
    assert first["repo_type"] == second["repo_type"] == "dataset"
    assert first["parent_commit"] == "head-0" and second["parent_commit"] == "head-other-1"
    assert "*/iteration=1/*.parquet" in second["delete_patterns"] and second["commit_message"].startswith("psr push")
    tags = [(c[2]["tag"], c[2]["revision"], c[2]["repo_type"]) for c in hub.calls if c[0] == "create_tag"]
    assert tags == [(f"iter-{n}", "c0ffee", "dataset") for n in (0, 1, 2)]
    assert result.commit == "c0ffee" and result.attempts == 2 and result.tags_created == ["iter-0", "iter-1", "iter-2"]

    # The uploaded folder is the dry-run folder; after the retry the card also lists what the
    # other commit added (iteration 5 of pairs), because the head is re-read every attempt.
    publish(run, REPO, dry_run=tmp_path / "dry")
    dry = {str(p.relative_to(tmp_path / "dry")): p.read_bytes() for p in (tmp_path / "dry").rglob("*") if p.is_file()}
    before, after = hub.uploads[0][1], hub.uploads[1][1]
    assert before == dry
    assert set(after) == set(dry) and all(after[f] == dry[f] for f in dry if f != "README.md")
    assert "pairs/iteration=5/*.parquet" in after["README.md"].decode()
    assert "iteration=5" not in before["README.md"].decode()


def test_existing_tag_is_kept_not_moved(run):
    hub = StandInHub(tags=["iter-1"])
    result = publish(run, REPO, iterations=[1, 2], api=hub, sleep=lambda s: None)
    assert result.tags_created == ["iter-2"] and result.tags_existing == ["iter-1"]
    assert hub.tags["iter-1"] == "old"
    assert hub.calls[0][2]["private"] is None  # not --private: the namespace's default visibility


def test_gives_up_after_repeated_conflicts_with_one_line(run):
    hub = StandInHub(conflicts=100)
    with pytest.raises(PsrError, match="kept changing") as err:
        publish(run, REPO, api=hub, sleep=lambda s: None)
    assert "\n" not in str(err.value) and len(hub.uploads) == 6


def test_other_http_errors_are_not_retried(run):
    hub = StandInHub(fail_status=403)
    with pytest.raises(PsrError, match=r"no write access to dataset my-org/psr-demo \(403\)"):
        publish(run, REPO, api=hub, sleep=lambda s: None)
    assert len(hub.uploads) == 1 and "create_tag" not in hub.names()


def test_cli_push_through_the_stand_in(run, monkeypatch):
    hub = StandInHub()
    monkeypatch.setenv("HF_TOKEN", "hf_stand_in")
    monkeypatch.setattr("builder.hub.push.make_api", lambda token: hub)
    result = invoke("push", "--run", run.root, "--repo", REPO, "--iter", "2")
    assert result.exit_code == 0, result.output
    assert "pushed iteration(s) 2" in result.output and "tags created: iter-2" in result.output
    assert [c[2]["tag"] for c in hub.calls if c[0] == "create_tag"] == ["iter-2"]


# ---- one-line errors, no traceback, non-zero exit -------------------------------------------

def one_line_error(result, code=None):
    assert result.exit_code != 0 and (code is None or result.exit_code == code), result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("repo", ["noslash", "a/b/c", "-org/name", "org/na--me", "org/name.", "org/", "org/na me"])
def test_bad_repo_id(run, repo):
    line = one_line_error(invoke("push", "--run", run.root, "--repo", repo, "--dry-run", "/nonexistent/x"), code=2)
    assert "ORG/NAME" in line


def test_unsealed_iteration(run, tmp_path):
    line = one_line_error(invoke("push", "--run", run.root, "--repo", REPO, "--iter", "3", "--dry-run", tmp_path / "d"))
    assert "iteration 3" in line and "not sealed" in line
    assert not (tmp_path / "d").exists()


def test_no_token(run, monkeypatch, tmp_path):
    from huggingface_hub import constants

    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # an empty login cache
    line = one_line_error(invoke("push", "--run", run.root, "--repo", REPO))
    assert "HF_TOKEN" in line and "hf auth login" in line


def test_unreachable_hub(run, monkeypatch):
    """Real network failure: offline mode off for this test only, HF_ENDPOINT on a closed local port."""
    from huggingface_hub import constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: connections are refused
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    line = one_line_error(invoke("push", "--run", run.root, "--repo", REPO))
    assert f"cannot reach the Hugging Face Hub at http://127.0.0.1:{port}" in line


def test_offline_mode_says_so(run, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    line = one_line_error(invoke("push", "--run", run.root, "--repo", REPO))
    assert "HF_HUB_OFFLINE" in line

"""IFT segmentation: the faithfulness filter, the resumable job, and the CLI with a real tiny teacher.

The job tests use a SCRIPTED stand-in teacher (it splits the solution it finds in the real
segmentation prompt at sentence ends, optionally altering a number) because no model here can
segment faithfully; the CLI test runs the real tiny model as teacher through the hf engine.
"""

from __future__ import annotations

import json
import re

import pytest

from builder.engines.base import Completion
from builder.initdata import jobs
from builder.initdata.ift import IftOptions, build_ift, check_segmentation, words
from builder.initdata.teacher import EngineSpec, parse_engine_spec
from builder.errors import InputError, PsrError
from builder.store import Run, is_sealed, read_table
from tests.helpers import invoke, make_run

SOURCE = "We add 3 and 4 to get 7. Then 7 times 2 is 14.\nSo the answer is $\\boxed{14}$."


def test_faithful_segmentation_is_kept_and_normalized():
    out = "Step 1: We add 3 and 4 to get 7.\nStep 2:  Then 7 times 2 is 14.\n\nStep 3: So the answer is $\\boxed{14}$."
    seg = check_segmentation(SOURCE, out)
    assert seg.reason is None and seg.answer == "14"
    assert seg.solution == ("Step 1: We add 3 and 4 to get 7.\nStep 2: Then 7 times 2 is 14.\n"
                            "Step 3: So the answer is $\\boxed{14}$.\n")
    assert words(seg.solution) == words(SOURCE)


def test_changed_number_is_rejected_with_the_position():
    out = "Step 1: We add 3 and 4 to get 7.\nStep 2: Then 7 times 2 is 15.\nStep 3: So the answer is $\\boxed{14}$."
    seg = check_segmentation(SOURCE, out)
    assert seg.reason == "changed_content" and seg.solution is None
    pos = words(SOURCE).index("14.") + 1  # "1" matches, "4" vs "5" differs
    assert f"char {pos}" in seg.detail and "\n" not in seg.detail


@pytest.mark.parametrize("out, reason", [
    ("We add 3 and 4 to get 7. Then 7 times 2 is 14. So the answer is $\\boxed{14}$.", "no_steps"),
    ("Here are the steps:\nStep 1: " + SOURCE, "text_before_step_1"),
    ("Step 1: We add 3 and 4 to get 7.\nStep 3: Then 7 times 2 is 14. So the answer is $\\boxed{14}$.", "bad_numbering"),
    ("Step 1:\nStep 2: " + SOURCE, "empty_step"),
    ("Step 1: We add 3 and 4 to get 7. Then 7 times 2 is 14.", "changed_content"),
])
def test_rejection_reasons(out, reason):
    assert check_segmentation(SOURCE, out).reason == reason


def test_source_without_boxed_truncation_and_answer_position():
    assert check_segmentation("7 times 2 is 14.", "Step 1: 7 times 2 is 14.").reason == "source_no_boxed"
    assert check_segmentation(SOURCE, "Step 1: " + SOURCE, "length").reason == "truncated"
    src = "The answer is $\\boxed{14}$. Indeed 7 times 2 is 14."
    out = "Step 1: The answer is $\\boxed{14}$.\nStep 2: Indeed 7 times 2 is 14."
    assert check_segmentation(src, out).reason == "answer_not_in_last_step"


def test_engine_spec_parsing():
    assert parse_engine_spec("hf:/m/M0") == EngineSpec("hf", "/m/M0")
    spec = parse_engine_spec("openai:http://127.0.0.1:8000/v1@Qwen/Qwen2.5-72B-Instruct")
    assert spec == EngineSpec("openai", "Qwen/Qwen2.5-72B-Instruct", "http://127.0.0.1:8000/v1")
    assert str(spec) == "openai:http://127.0.0.1:8000/v1@Qwen/Qwen2.5-72B-Instruct"
    assert parse_engine_spec("openai:gpt-x") == EngineSpec("openai", "gpt-x")
    for bad in ("tgi:x", "hf:", "openai:http://h:1/v1", "nospec"):
        with pytest.raises(InputError):
            parse_engine_spec(bad)


# ---- the job with a scripted stand-in teacher ------------------------------------------------
class ScriptedTeacher:
    """Stand-in teacher: splits the solution at sentence ends; `alter` changes '7' to '8' in those solutions."""

    def __init__(self, alter=(), die_after_calls=None):
        self.spec = EngineSpec("hf", "scripted-teacher")
        self.alter, self.die_after = set(alter), die_after_calls
        self.asked: list[str] = []
        self.calls = 0

    def ask(self, messages, *, max_tokens, seed, temperature=0.0):
        if self.die_after is not None and self.calls >= self.die_after:
            raise KeyboardInterrupt("killed")  # what a kill looks like to the job: nothing after this
        self.calls += 1
        outs = []
        for m in messages:
            sol = m.split("[The Start of Solution Provided]\n", 1)[1].split("\n[The End of Solution Provided]", 1)[0]
            self.asked.append(sol)
            sentences = [s for s in re.split(r"(?<=\.)\s+", sol) if s]
            text = "\n".join(f"Step {i}: {s}" for i, s in enumerate(sentences, 1))
            if any(tag in sol for tag in self.alter):
                text = text.replace("7", "8")
            outs.append(Completion(text, "eos", len(text.split())))
        return outs


def _source_file(tmp_path, n=7):
    rows = [{"question": f"Problem {i}: compute ({i} + 7) * 2.",
             "worked": f"First {i} + 7 = {i + 7}. Then times 2 gives {2 * (i + 7)}. The answer is \\boxed{{{2 * (i + 7)}}}."}
            for i in range(n)]
    rows.append({"question": "No box here.", "worked": "It is 5."})
    path = tmp_path / "src.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_job_keeps_faithful_rejects_altered_and_counts_add_up(tmp_path):
    run = make_run(tmp_path)
    src = _source_file(tmp_path)
    teacher = ScriptedTeacher(alter=["First 2 +"])
    rep = build_ift(run, teacher, IftOptions(str(src), fields={"problem": "question", "solution": "worked"}, chunk_size=3))
    c = rep.summary["counts"]
    assert c["items"] == 8 and c["kept"] == 6
    assert c["rejected_changed_content"] == 1 and c["rejected_source_no_boxed"] == 1
    assert c["items"] == c["kept"] + sum(v for k, v in c.items() if k.startswith("rejected_"))
    assert len(teacher.asked) == 7  # the box-less source is never sent
    ift = read_table(run, "ift", 0).to_pylist()
    assert len(ift) == 6 and all(r["solution"].startswith("Step 1: First ") for r in ift)
    assert all(r["solution"].endswith("}.\n") and r["answer"] == r["solution"].rsplit("boxed{", 1)[1].split("}")[0] for r in ift)
    log = jobs.read_jsonl(jobs.log_path(run, "ift"))
    assert sorted(r["reason"] for r in log) == ["changed_content", "source_no_boxed"]
    assert "first difference at char" in next(r for r in log if r["reason"] == "changed_content")["detail"]
    assert not rep.sealed and not is_sealed(run, 0)  # EFT not built yet


def test_job_resumes_after_a_kill(tmp_path):
    run = make_run(tmp_path)
    src, fields = _source_file(tmp_path), {"problem": "question", "solution": "worked"}
    with pytest.raises(KeyboardInterrupt):
        build_ift(run, ScriptedTeacher(die_after_calls=1), IftOptions(str(src), fields=fields, chunk_size=3))
    assert jobs.marker(run, "ift", 0) is not None and jobs.marker(run, "ift", 1) is None
    second = ScriptedTeacher()
    rep = build_ift(Run.open(run.root), second, IftOptions(str(src), fields=fields, chunk_size=3))
    assert rep.skipped == [0] and rep.computed == [1, 2]
    assert len(second.asked) == 4  # chunks 1 and 2 only (chunk 2 holds the box-less source)
    fresh_run = make_run(tmp_path / "b")
    whole = build_ift(fresh_run, ScriptedTeacher(), IftOptions(str(src), fields=fields, chunk_size=3))
    assert rep.summary["counts"] == whole.summary["counts"]
    assert sorted(read_table(run, "ift", 0).column("example_id").to_pylist()) == \
        sorted(read_table(fresh_run, "ift", 0).column("example_id").to_pylist())
    with pytest.raises(PsrError, match="different `psr init-data ift` job"):
        build_ift(run, ScriptedTeacher(), IftOptions(str(src), fields=fields, chunk_size=4))


# ---- the CLI with the real tiny model as teacher --------------------------------------------
def test_cli_with_the_tiny_model_as_teacher(tmp_path, tiny_model_dir):
    run = make_run(tmp_path)
    src = _source_file(tmp_path, n=3)
    res = invoke("init-data", "ift", "--run", run.root, src, "--teacher", f"hf:{tiny_model_dir}",
                 "--field", "problem=question", "--field", "solution=worked", "--chunk-size", "2", "--max-tokens", "24")
    assert res.exit_code == 0, res.output
    summary = json.loads(jobs.summary_path(run, "ift").read_text())
    c = summary["counts"]
    assert c["items"] == 4 and c["items"] == c["kept"] + sum(v for k, v in c.items() if k.startswith("rejected_"))
    assert "ift: " in res.output and "solutions" in res.output
    again = invoke("init-data", "ift", "--run", run.root, src, "--teacher", f"hf:{tiny_model_dir}",
                   "--field", "problem=question", "--field", "solution=worked", "--chunk-size", "2", "--max-tokens", "24")
    assert again.exit_code == 0 and "0 chunk(s) computed, 2 resumed" in again.output


@pytest.mark.slow
def test_cli_resumes_after_sigkill(tmp_path, tiny_model_dir):
    """A real kill: `psr init-data ift` in a subprocess, SIGKILLed after its first chunk marker."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    run = make_run(tmp_path)
    src = _source_file(tmp_path, n=2)
    # 64 tokens of the random model take about a second a chunk: time to kill between chunks
    args = ["init-data", "ift", "--run", str(run.root), str(src), "--teacher", f"hf:{tiny_model_dir}",
            "--field", "problem=question", "--field", "solution=worked", "--chunk-size", "1", "--max-tokens", "64"]
    psr = Path(sys.executable).parent / "psr"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen([str(psr), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = jobs.job_dir(run, "ift") / "chunk-00000.json"
    deadline = time.time() + 180
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert first.exists(), "the job never finished its first chunk"
    done_before = sorted(p.name for p in jobs.job_dir(run, "ift").glob("chunk-*.json"))
    assert len(done_before) < 3 and not jobs.summary_path(run, "ift").exists()
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    assert f"{len(done_before)} resumed" in res.output
    c = json.loads(jobs.summary_path(run, "ift").read_text())["counts"]
    assert c["items"] == 3 == c["kept"] + sum(v for k, v in c.items() if k.startswith("rejected_"))
    assert len(jobs.read_jsonl(jobs.log_path(run, "ift"))) == 3 - c["kept"]

"""EFT mining: the pair and filter rules, the job on SCRIPTED stand-ins, and the real tiny model end to end.

The scripted policy and teacher are stand-ins for the filter logic only (no model here writes
correct steps or judges reliably, so only scripts can put pairs into every filter bucket); the
search (run_search), the renderer (the tiny model's real chat template), the rollout scoring,
the store and the SFT export are real. The slow test runs the real tiny demo model as policy
AND teacher through the CLI: its verdicts are what they are.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from builder.engines.base import Completion, EngineInfo
from builder.initdata import jobs
from builder.initdata.eft import EftOptions, Policy, build_eft, judge_outcome, pick_pair, sibling_sites
from builder.initdata.rollouts import RolloutConfig
from builder.initdata.teacher import EngineSpec
from builder.steps import parse_verdict, step_body
from builder.store import is_sealed, load_manifest, read_table
from tests.helpers import invoke, make_run

SEARCH_SETS = ("search.width=3", "search.max_steps=2", "search.mcts.simulations=3", "search.max_step_tokens=12",
               "search.judge_max_tokens=8")


# ---- pure rules ------------------------------------------------------------------------------
def test_pick_pair():
    assert pick_pair(["a", "b", "c"], [0.5, 1.0, 0.0], 0.0) == ("pair", 1, 2)
    assert pick_pair(["a", "b"], [0.5, 0.5], 0.0) == ("tied", None, None)
    assert pick_pair(["a", "a", "a"], [1.0, 0.0, 0.5], 0.0) == ("single", None, None)
    assert pick_pair(["a", "b"], [0.75, 0.5], 0.25) == ("tied", None, None)  # margin must be exceeded
    assert pick_pair(["a", "b", "c"], [1.0, 1.0, 0.0], 0.0) == ("pair", 0, 2)  # first index wins ties


def test_judge_outcome_is_the_papers_two_filters():
    assert judge_outcome("A", "B") == "kept"  # both orders pick the better-scored step
    assert judge_outcome("B", "A") == "disagrees_with_scorer"  # consistent, but picks the worse one
    assert judge_outcome("A", "A") == "inconsistent" and judge_outcome("B", "B") == "inconsistent"
    assert judge_outcome(None, "B") == "unparseable" and judge_outcome("A", None) == "unparseable"


def test_sibling_sites_group_by_parent_and_round():
    nodes = [{"node_id": "t/0", "parent_id": None, "tree_id": "t", "round": 0, "text": "", "candidate_index": None},
             {"node_id": "t/1", "parent_id": "t/0", "tree_id": "t", "round": 1, "text": "Step 1: a\n", "candidate_index": 0},
             {"node_id": "t/2", "parent_id": "t/0", "tree_id": "t", "round": 1, "text": "Step 1: b\n", "candidate_index": 1},
             {"node_id": "t/3", "parent_id": "t/1", "tree_id": "t", "round": 2, "text": "Step 2: c\n", "candidate_index": 0},
             {"node_id": "t/4", "parent_id": "t/1", "tree_id": "t", "round": 2, "text": "Step 2: d\n", "candidate_index": 1}]
    sites = sibling_sites(nodes)
    assert [(s["parent_id"], s["prefix"], [c["node_id"] for c in s["children"]]) for s in sites] == [
        ("t/0", [], ["t/1", "t/2"]), ("t/1", ["Step 1: a\n"], ["t/3", "t/4"])]


def test_sibling_sites_leave_duplicate_samples_out():
    nodes = [{"node_id": "t/0", "parent_id": None, "tree_id": "t", "round": 0, "text": "", "candidate_index": None,
              "duplicate_of": None},
             *({"node_id": f"t/{k}", "parent_id": "t/0", "tree_id": "t", "round": 1, "text": text,
                "candidate_index": k - 1, "duplicate_of": dup}
               for k, text, dup in [(1, "Step 1: a\n", None), (2, "Step 1: a\n", "t/1"), (3, "Step 1: b\n", None),
                                    (4, "Step 1:  b \n", "t/3")])]
    (site,) = sibling_sites(nodes)
    assert [c["node_id"] for c in site["children"]] == ["t/1", "t/3"]


def test_scorer_is_rollouts_or_a_prm():
    from builder.errors import InputError
    from builder.initdata.prm import parse_scorer

    assert parse_scorer("rollouts") is None
    assert parse_scorer("prm:Qwen/Qwen2.5-Math-PRM-7B") == "Qwen/Qwen2.5-Math-PRM-7B"
    for bad in ("/models/prm", "prm:", "rollout"):
        with pytest.raises(InputError, match="expected rollouts or prm:PATH_OR_ID"):
            parse_scorer(bad)


# ---- the job on scripted stand-ins --------------------------------------------------------------
class ScriptedPolicy:
    """Stand-in policy: candidates 'good k' / 'bad k'; rollouts after a good step reach the gold answer."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.info = EngineInfo("scripted", "0", "scripted-policy", {})

    def generate(self, requests):
        out = []
        for r in requests:
            if r.stop:  # a candidate next step
                out.append([Completion(f"Step 1: {'good' if i % 2 == 0 else 'bad'} {i} s{r.seed % 97}", "stop", 4)
                            for i in range(r.n)])
            elif "Judge the next step." in r.prompt:
                out.append([Completion("[[A]]", "eos", 1)])  # the policy's own (useless) judge
            else:  # a rollout: continue after the last step in the prompt
                problem = next(p for p in self.answers if p in r.prompt)
                last = r.prompt.rstrip("\n").rsplit("\n", 1)[-1]
                ans = self.answers[problem] if " good " in f" {last} " else "-1"
                out.append([Completion(f"Step 9: so \\boxed{{{ans}}}", "eos", 5) for _ in range(r.n)])
        return out


class ScriptedTeacher:
    """Stand-in teacher: per unordered pair, one of four behaviours chosen by a hash of the pair:
    right in both orders, always A (position-biased), wrong in both orders, no verdict."""

    def __init__(self):
        self.spec = EngineSpec("hf", "scripted-teacher")
        self.calls = 0

    def ask(self, messages, *, max_tokens, seed, temperature=0.0):
        self.calls += len(messages)
        return [Completion(self._judge(m), "eos", 6) for m in messages]

    @staticmethod
    def _judge(message: str) -> str:
        a = re.search(r"(?m)^A: (.*)$", message)[1]
        b = re.search(r"(?m)^B: (.*)$", message)[1]
        mode = hashlib.sha256("|".join(sorted([a, b])).encode()).digest()[0] % 5
        good = "A" if "good" in a else "B"
        if mode == 4:
            return "Check the step. No verdict here."
        verdict = {0: good, 1: good, 2: "A", 3: "B" if good == "A" else "A"}[mode]
        return f"Check. [[{verdict}]]"


def _problems_file(tmp_path, n=6):
    rows = [{"question": f"Compute the value number {i}.", "gold": str(10 + i)} for i in range(n)]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {r["question"]: r["gold"] for r in rows}


class DuplicatingPolicy(ScriptedPolicy):
    """Stand-in policy whose samples come in twins (good 0, good 0, bad 1, bad 1, ...); counts rollouts."""

    def __init__(self, answers: dict):
        super().__init__(answers)
        self.rollouts = 0

    def generate(self, requests):
        out = super().generate(requests)
        for r, completions in zip(requests, out):
            if r.stop:
                for i, c in enumerate(completions):
                    c.text = f"Step 1: {'good' if (i // 2) % 2 == 0 else 'bad'} {i // 2} s{r.seed % 97}"
            elif "Judge the next step." not in r.prompt:
                self.rollouts += len(completions)
        return out


def _scripted_eft(tmp_path, tiny_model_dir, run=None, policy=None, options=None, **kw):
    """The scripts read "A: ..."/"B: ..." lines, so the run uses this test's own judge template."""
    from builder.prompts import ChatRenderer

    judge = tmp_path / "judge_test.txt"
    judge.write_text("Judge the next step.\n{question_and_partial_steps}\nA: {step_a}\nB: {step_b}\n")
    run = run or make_run(tmp_path, "demo", *SEARCH_SETS, f"prompts.judge={judge}", "search.verdict=parse")
    path, answers = _problems_file(tmp_path)
    opts = EftOptions(str(path), fields={"problem": "question", "answer": "gold"}, strategy="mcts",
                      rollout=RolloutConfig(2, 0.7, 0.95, 16), test_share=0.3, chunk_size=4, **(options or {}))
    policy = Policy(policy or ScriptedPolicy(answers), ChatRenderer(tiny_model_dir), "scripted")
    rep = build_eft(run, ScriptedTeacher(), policy, opts, **kw)
    return run, rep


def test_the_job_plan_keeps_its_keys_so_jobs_started_before_resume(tmp_path, tiny_model_dir):
    """The source sits in EftOptions but the pinned plan records it on its own, as before: a plan
    written by an older version still equals a rerun's and the job resumes."""
    run, _ = _scripted_eft(tmp_path, tiny_model_dir)
    plan = jobs.job(run, "eft").load_plan()
    assert list(plan) == ["source", "split", "fields", "limit", "teacher", "policy", "options", "search", "prompts",
                          "n_items", "ids_sha256"]
    assert plan["fields"] == {"problem": "question", "answer": "gold"} and plan["split"] == "train"
    assert not {"source", "split", "fields", "limit"} & set(plan["options"])


def test_scripted_job_filters_add_up_and_kept_pairs_are_consistent(tmp_path, tiny_model_dir):
    run, rep = _scripted_eft(tmp_path, tiny_model_dir)
    k = rep.summary["counts"]
    assert k["problems"] == 6 and k["sites"] > 0 and k["pairs"] > 0
    assert k["sites"] == k["single"] + k["tied"] + k["pairs"]
    assert k["pairs"] == k["unparseable"] + k["inconsistent"] + k["disagrees_with_scorer"] + k["kept"]
    assert k["kept"] > 0 and k["inconsistent"] > 0 and k["disagrees_with_scorer"] > 0 and k["unparseable"] > 0
    eft = read_table(run, "eft", 0).to_pylist()
    assert len(eft) == 2 * k["kept"] == k["rows_train"] + k["rows_test"]
    log = {(r["prefix"], r["best"], r["worst"]): r for r in jobs.read_jsonl(jobs.log_path(run, "eft"))}
    assert len(log) == k["pairs"]
    for row in eft:
        better = row["step_a"] if row["label"] == "A" else row["step_b"]
        worse = row["step_b"] if row["label"] == "A" else row["step_a"]
        entry = log[(row["prefix"], better, worse)]  # the label names the better-scored step
        assert entry["outcome"] == "kept" and entry["best_score"] > entry["worst_score"]
        assert "good" in step_body(better)
        assert parse_verdict(row["judgment"]) == row["label"]  # the teacher's own text, verdict included
    by_pair = {}
    for row in eft:  # both orders of every kept pair, with opposite labels (swap-consistent)
        by_pair.setdefault((row["prefix"], frozenset([row["step_a"], row["step_b"]])), set()).add(row["label"])
    assert all(labels == {"A", "B"} for labels in by_pair.values())
    splits = {}
    for row in eft:
        splits.setdefault(row["problem"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits.values())


@pytest.mark.parametrize("search_rollouts", [0, 2])
def test_mining_scores_distinct_candidates_and_pays_search_rollouts_only_when_asked(tmp_path, tiny_model_dir,
                                                                                     search_rollouts):
    """Three samples per site, two distinct (width 3): each site scores its two distinct steps once, and
    the search's own self-consistency rollouts run only with EftOptions.search_rollouts > 0."""
    policy = DuplicatingPolicy(_problems_file(tmp_path)[1])
    run, rep = _scripted_eft(tmp_path, tiny_model_dir, policy=policy, options={"search_rollouts": search_rollouts})
    k = rep.summary["counts"]
    assert k["sites"] > 0 and k["single"] == 0
    assert k["candidates"] == 2 * k["sites"] and k["duplicates"] == k["sites"]
    mining = k["rollouts"]  # the gold-answer scoring rollouts (2 per non-terminal candidate)
    assert mining == 2 * k["candidates"]
    if search_rollouts == 0:
        assert policy.rollouts == mining
    else:  # the search's own: 2 per new distinct non-terminal child of every expansion
        assert policy.rollouts > mining
    assert json.loads((jobs.job_dir(run, "eft") / "plan.json").read_text())["search"]["mcts"]["rollouts"] == search_rollouts


def test_scripted_job_resumes_and_seals_with_ift_then_exports(tmp_path, tiny_model_dir):
    from tests.test_initdata_ift import ScriptedTeacher as IftTeacher, _source_file
    from builder.initdata.ift import IftOptions, build_ift

    run, first = _scripted_eft(tmp_path, tiny_model_dir)
    assert first.computed == [0, 1] and not first.sealed
    _, again = _scripted_eft(tmp_path, tiny_model_dir, run=run)
    assert again.computed == [] and again.skipped == [0, 1] and again.summary["counts"] == first.summary["counts"]
    ift = build_ift(run, IftTeacher(), IftOptions(str(_source_file(tmp_path)), fields={"problem": "question", "solution": "worked"}))
    assert ift.sealed and is_sealed(run, 0)
    manifest = load_manifest(run, 0)
    assert manifest["init_data"]["eft"]["counts"] == first.summary["counts"]
    _, rerun = _scripted_eft(tmp_path, tiny_model_dir, run=run)  # sealed, same job: nothing to do
    assert rerun.computed == [] and rerun.sealed and load_manifest(run, 0) == manifest
    assert manifest["tables"]["eft"]["rows"] == 2 * first.summary["counts"]["kept"]
    # the SFT export and the Axolotl config of iteration 0 take these tables unchanged
    import shutil

    shutil.copytree(tiny_model_dir, run.root / "models" / "M0")
    res = invoke("export", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0, res.output
    import pyarrow.parquet as pq

    sft = pq.read_table(run.trainer_dir(0) / "sft.parquet")
    assert sft.num_rows == manifest["tables"]["ift"]["rows"] + sum(
        r["split"] == "train" for r in read_table(run, "eft", 0).to_pylist())
    res = invoke("config", "--run", run.root, "--iter", 0, "--no-validate")
    assert res.exit_code == 0, res.output
    assert (run.trainer_dir(0) / "axolotl.yaml").exists()


# ---- the real tiny model as policy and teacher, through the CLI ----------------------------------
@pytest.mark.slow
def test_cli_end_to_end_with_the_tiny_model(tmp_path, tiny_model_dir):
    import shutil

    run = make_run(tmp_path, "demo", "search.width=2", "search.max_steps=2", "search.mcts.simulations=2",
                   "search.max_step_tokens=10", "search.judge_max_tokens=6")
    shutil.copytree(tiny_model_dir, run.root / "models" / "M0")
    res = invoke("init-data", "eft", "--run", run.root, "--teacher", f"hf:{tiny_model_dir}", "--limit", 2,
                 "--rollouts", 1, "--rollout-max-tokens", 12, "--judge-max-tokens", 6, "--chunk-size", 1)
    assert res.exit_code == 0, res.output
    k = json.loads(jobs.summary_path(run, "eft").read_text())["counts"]
    assert k["problems"] == 2 and k["sites"] > 0
    # distinct candidates only: a "single" site has one, every other site at least two
    assert k["candidates"] >= k["single"] + 2 * (k["sites"] - k["single"])
    assert k["sites"] == k["single"] + k["tied"] + k["pairs"]
    assert k["pairs"] == k["unparseable"] + k["inconsistent"] + k["disagrees_with_scorer"] + k["kept"]
    assert len(read_table(run, "eft", 0)) == 2 * k["kept"]
    assert f"eft: {k['sites']} sites" in res.output


def test_logprob_teacher_decides_every_pair_and_writes_the_verdict(tmp_path, tiny_model_dir):
    """The scripted policy gives scored pairs; the REAL tiny model (hf engine) is the teacher."""
    from builder.engines import load_engine
    from builder.initdata.teacher import Teacher
    from builder.prompts import ChatRenderer

    judge = tmp_path / "judge_hdr.txt"
    judge.write_text('---\nverdict_prefix: " [["\nverdicts: [A, B]\nverdict_suffix: "]]"\n---\n'
                     "Judge the next step.\n{question_and_partial_steps}\nA: {step_a}\nB: {step_b}\n")
    run = make_run(tmp_path, "demo", *SEARCH_SETS, f"prompts.judge={judge}", "search.verdict=parse")
    path, answers = _problems_file(tmp_path)
    teacher = Teacher(EngineSpec("hf", str(tiny_model_dir)), load_engine("hf", str(tiny_model_dir), {"threads": 1}),
                      ChatRenderer(tiny_model_dir))
    opts = EftOptions(str(path), fields={"problem": "question", "answer": "gold"}, strategy="mcts",
                      rollout=RolloutConfig(2, 0.7, 0.95, 16), test_share=0.0, chunk_size=6, verdict="logprob")
    rep = build_eft(run, teacher, Policy(ScriptedPolicy(answers), ChatRenderer(tiny_model_dir), "scripted"), opts)
    k = rep.summary["counts"]
    assert k["pairs"] > 0 and k["unparseable"] == 0  # every teacher judgment decided
    assert teacher.usage["completion_tokens"] == 0  # and nothing generated
    log = [json.loads(line) for line in (run.root / "work" / "iteration=0" / "eft_pairs.jsonl").read_text().splitlines()]
    assert all(r["verdict_sources"] == ["logprob", "logprob"] and 0 < r["p_a_best_first"] < 1 for r in log)
    rows = read_table(run, "eft", 0).to_pylist()
    assert len(rows) == 2 * k["kept"] and all(r["judgment"] == f"[[{r['label']}]]" for r in rows)


@pytest.mark.slow
def test_mined_iteration_0_config_validates_in_axolotl(tmp_path, tiny_model_dir):
    """The Axolotl config of the mined iteration 0 passes Axolotl's own validation (trainer venv)."""
    import shutil
    from pathlib import Path

    from builder.initdata.ift import IftOptions, build_ift
    from tests.test_initdata_ift import ScriptedTeacher as IftTeacher, _source_file

    if not (Path(__file__).resolve().parent.parent / ".venv-axolotl" / "bin" / "python").exists():
        pytest.skip("no trainer venv (.venv-axolotl)")
    run, rep = _scripted_eft(tmp_path, tiny_model_dir)
    build_ift(run, IftTeacher(), IftOptions(str(_source_file(tmp_path)), fields={"problem": "question", "solution": "worked"}))
    shutil.copytree(tiny_model_dir, run.root / "models" / "M0")
    assert invoke("export", "--run", run.root, "--iter", 0).exit_code == 0
    res = invoke("config", "--run", run.root, "--iter", 0)
    assert res.exit_code == 0, res.output

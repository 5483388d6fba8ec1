"""The solution strategy (SRLM baseline) end to end, and what the DPO trainer trains on from it.

1. One `solution` iteration on the real tiny model (random weights, hf engine, CPU) through the
   CLI: generate, seal, pairs, and the iteration's Axolotl config validated by Axolotl. Random
   weights write junk and rarely a score, so every assertion holds for any text the model writes.
2. The export of a `solution` iteration through Axolotl's own loading in the trainer venv
   (builder.trainer.probe, as tests/test_eos.py does for step pairs), with the opposite
   expectation: these are complete responses, so chosen AND rejected end with exactly one EOS.
   Its iteration is searched by the SCRIPTED stand-in engine (tests/scripted_engine.py) so that
   pairs exist; search, seal, pairs, export and config are the real code.
"""

import json
import re
import subprocess

import pytest

from builder.search.solution import parse_score
from builder.store import read_table
from builder.trainer.env import find_env, process_env
from tests.helpers import invoke, run_with_problems
from tests.scripted_engine import ScriptedEngine

TRAINER = find_env(".venv-axolotl")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(TRAINER is None, reason="needs the trainer venv (make trainer)")]
EOS = "<|im_end|>"
WIDTH = 3
SETS = [f"search.width={WIDTH}", "search.max_steps=2", "search.max_step_tokens=6", "search.judge_max_tokens=6",
        "search.judge_samples=2", "search.judge_temperature=0.7", "search.chunk_size=2", "engine.device=cpu"]


def new_run(path, model_dir, n_problems=4):
    return run_with_problems(path, model_dir, SETS, n_problems, preset="demo-srlm")


def test_one_solution_iteration_on_the_tiny_model(tmp_path, tiny_model_dir):
    run = new_run(tmp_path / "run", tiny_model_dir)
    for cmd in (["generate", "--quiet"], ["seal"], ["pairs"]):
        res = invoke(cmd[0], "--run", run.root, "--iter", 1, *cmd[1:])
        assert res.exit_code == 0, res.output
    trees = read_table(run, "trees", 1).to_pylist()
    nodes = [n for n in read_table(run, "nodes", 1).to_pylist() if n["parent_id"] is not None]
    judgments = read_table(run, "judgments", 1).to_pylist()
    assert len(trees) == 4 and {t["strategy"] for t in trees} == {"solution"}
    assert len(nodes) == 4 * WIDTH and {n["depth"] for n in nodes} == {1}
    assert len(judgments) == 4 * WIDTH * 2 and all(t["judge_calls"] == WIDTH * 2 for t in trees)
    for j in judgments:
        assert j["score"] == parse_score(j["raw"]) and j["node_b"] is None
    for t in trees:
        mine = [n for n in nodes if n["tree_id"] == t["tree_id"]]
        assert sum(n["on_path"] for n in mine) == 1 and all(n["n_steps"] is not None for n in mine)
        assert t["n_steps"] == next(n["n_steps"] for n in mine if n["on_path"])
    pairs = read_table(run, "pairs", 1).to_pylist()
    scored = {n["tree_id"] for n in nodes if n["score"] is not None}
    assert {p["tree_id"] for p in pairs} <= scored  # a pair needs two different scores
    run.trainer_dir(1).mkdir(parents=True, exist_ok=True)  # random weights may leave 0 pairs to export:
    (run.trainer_dir(1) / "pairs.parquet").write_bytes(b"")  # config needs the file; validation does not read it
    res = invoke("config", "--run", run.root, "--iter", 1)
    assert res.exit_code == 0 and "valid for Axolotl" in res.output, res.output
    assert "rl_beta: 0.1" in (run.trainer_dir(1) / "axolotl.yaml").read_text()


_CAND = re.compile(r"cand (\d+)")


def _solution(request, i):
    # candidate 2 stops at max_steps without EOS: still a whole response, trained with one EOS
    return (f"Step 1: 13 + 9 = {20 + i}\nStep 2: cand {i}", "stop") if i == 2 else \
        (f"Step 1: 13 + 9 = {20 + i}\nStep 2: cand {i} so \\boxed{{{20 + i}}}", "eos")


def _score(request):
    return f"Fine. Score: {[4, 2, 1][int(_CAND.search(request.prompt)[1])]}"


def test_solution_export_ends_chosen_and_rejected_with_one_eos(tmp_path, tiny_model_dir):
    from builder.search.iteration import generate_iteration

    run = new_run(tmp_path / "run", tiny_model_dir, n_problems=2)
    generate_iteration(run, 1, engine=ScriptedEngine(step=_solution, judge=_score))
    for cmd in ("seal", "pairs", "export", "config"):
        res = invoke(cmd, "--run", run.root, "--iter", 1)
        assert res.exit_code == 0, res.output
    pairs = read_table(run, "pairs", 1).to_pylist()
    assert len(pairs) == 2 and all(p["margin"] == 3.0 for p in pairs)
    out = tmp_path / "probe.json"
    proc = subprocess.run([str(TRAINER.python), "-m", "builder.trainer.probe", str(run.trainer_dir(1) / "axolotl.yaml"),
                           str(out)], cwd=tmp_path, env=process_env(TRAINER, offline=True),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got["prefix_warnings"] == [] and got["eos_token"] == EOS
    eos_id = got["eos_token_id"]
    by_prompt = {p["prompt"]: p for p in pairs}
    assert len(got["rows"]) == 2
    for row in got["rows"]:
        pair = by_prompt[row["prompt"]]
        assert row["prompt"].endswith("assistant\n")  # the chat-templated problem, no steps
        assert (row["chosen"], row["rejected"]) == (pair["chosen"] + EOS, pair["rejected"] + EOS)
        assert "cand 0" in row["chosen"] and "cand 2" in row["rejected"]  # rejected: cut at max_steps, no EOS of its own
        for ids in (row["chosen_ids"], row["rejected_ids"]):
            assert ids[-1] == eos_id and ids.count(eos_id) == 1

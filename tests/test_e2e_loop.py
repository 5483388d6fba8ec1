"""The whole loop as a user runs it: `make iter N=2` on a reduced demo, with the real Axolotl on CPU.

Init (tiny M0 -> SFT -> M1), iteration 1 (-> M2) and iteration 2 (-> M3): every model loads,
every iteration is sealed and validates, every config was validated by Axolotl and chains
M(N) -> M(N+1), the outputs are queryable, and a second `make iter N=2` changes no file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import invoke

ROOT = Path(__file__).resolve().parent.parent

# Few problems, few steps, a short SFT: minutes, not the demo's quarter hour. One judge order: the
# seeded coin picks which candidate is A, so a barely trained, position-biased judge yields noisy
# pairs for the loop to train on (both orders would tie them) instead of a ranking by sample index.
REDUCED = [
    "init_data.ift_train=600", "init_data.eft_train=900", "init_data.eft_test=20", "init_data.score_train=100",
    "init_data.own_steps.ift_steps=40", "init_data.own_steps.problems=60",
    "trainer.sft.overrides.max_steps=60", "problems.per_iteration=[4]", "search.width=3",
    "search.max_steps=3", "search.judge_orders=one", "search.max_rollbacks=1", "eval.limit=8",
]


def _make_iter(run: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(["make", "--no-print-directory", "iter", "N=2", f"RUN={run}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)


def _snapshot(run: Path) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def looped_run(tmp_path_factory):
    if not (ROOT / ".venv-axolotl" / "bin" / "axolotl").exists():
        pytest.fail("the trainer environment is missing: run `make trainer` (make test does)")
    run = tmp_path_factory.mktemp("e2e") / "run"
    res = invoke("init", run, "--preset", "demo", *[x for s in REDUCED for x in ("--set", s)])
    assert res.exit_code == 0, res.output
    first = _make_iter(run)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return run, first


@pytest.mark.slow
def test_models_exist_and_load(looped_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, _ = looped_run
    for n in (1, 2, 3):
        path = run / "models" / f"M{n}"
        model = AutoModelForCausalLM.from_pretrained(path)
        tok = AutoTokenizer.from_pretrained(path)
        assert model.num_parameters() > 0 and tok.eos_token == "<|im_end|>"


@pytest.mark.slow
def test_iterations_sealed_and_valid(looped_run):
    run, _ = looped_run
    for n in (0, 1, 2):
        assert (run / "data" / "manifests" / f"iteration={n}.json").exists()
    res = invoke("validate", "--run", run)
    assert res.exit_code == 0, res.output
    manifest = json.loads((run / "data" / "manifests" / "iteration=2.json").read_text())
    assert manifest["tables"]["pairs"]["rows"] == manifest["derived"]["pairs"]["gates"]["kept"] > 0
    assert manifest["lineage"]["model"]["path"].endswith("models/M2")


@pytest.mark.slow
def test_iteration0_judge_data_holds_the_ift_stage_own_steps(looped_run):
    """M0 -> M0-ift (40 steps on IFT alone) samples 6 steps at 60 sites; the checker-labelled pairs
    join EFT in both orders, and M1's SFT continues from M0-ift."""
    import pyarrow.parquet as pq

    from builder.steps import split_steps
    from builder.tasks import get_task

    run, _ = looped_run
    own = json.loads((run / "data" / "manifests" / "iteration=0.json").read_text())["lineage"]["own_steps"]
    assert own["sites"] == 60 and own["samples"] == 360 and sum(own["distinct"].values()) == 60
    rows = pq.read_table(run / "data" / "eft" / "iteration=0" / "part-own-steps.parquet").to_pylist()
    assert own["mixed"] > 0 and len(rows) == own["rows"] == 2 * own["mixed"]
    assert {r["source"] for r in rows} == {"own-steps"} and {r["split"] for r in rows} == {"train"}
    assert sum(r["label"] == "A" for r in rows) == own["mixed"]
    task = get_task("arithmetic", **yaml.safe_load((run / "run.yaml").read_text())["task_options"])
    for r in rows:
        right, wrong = (r["step_a"], r["step_b"]) if r["label"] == "A" else (r["step_b"], r["step_a"])
        prefix = split_steps(r["prefix"]) if r["prefix"] else []
        assert task.check_step(r["problem"], prefix, right) is True and task.check_step(r["problem"], prefix, wrong) is False
    trained = json.loads((run / "trainer" / "iteration=0" / "trained.json").read_text())
    assert trained["base_model"]["path"] == str(run / "models" / "M0-ift") and "weights_sha256" in trained["base_model"]


@pytest.mark.slow
def test_one_judge_order_shows_either_candidate_as_a(looped_run):
    """judge_orders one: A is a seeded coin per pair, so both the earlier and the later sample are shown as A."""
    run, _ = looped_run
    res = invoke("sql", "SELECT count(DISTINCT swapped) AS sides FROM judgments WHERE iteration = 1", "--run", run,
                 "--format", "csv")
    assert res.output.split()[-1] == "2", res.output


@pytest.mark.slow
def test_configs_validated_and_chained(looped_run):
    run, first = looped_run
    out = first.stdout + first.stderr
    assert out.count("axolotl.yaml (valid for Axolotl") == 3, "each config is validated by Axolotl itself"
    for n in (0, 1, 2):
        cfg = yaml.safe_load((run / "trainer" / f"iteration={n}" / "axolotl.yaml").read_text())
        assert cfg["base_model"] == str(run / "models" / ("M0-ift" if n == 0 else f"M{n}"))  # SFT continues the IFT stage
        assert cfg["output_dir"] == str(run / "models" / f"M{n + 1}")
        assert str(cfg["dataset_prepared_path"]).startswith(str(run / "trainer" / f"iteration={n}"))
    dpo = yaml.safe_load((run / "trainer" / "iteration=2" / "axolotl.yaml").read_text())
    assert dpo["rl"] == "dpo" and dpo["datasets"][0]["path"].endswith("iteration=2/pairs.parquet")


@pytest.mark.slow
def test_outputs_are_queryable(looped_run):
    run, _ = looped_run
    res = invoke("sql", "SELECT iteration, count(*) AS n FROM pairs GROUP BY iteration ORDER BY iteration",
                 "--run", run, "--format", "json")
    rows = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert [r["iteration"] for r in rows] == [1, 2]
    res = invoke("sql", "SELECT DISTINCT iteration FROM evals ORDER BY 1", "--run", run, "--format", "csv")
    assert [v.strip('"') for v in res.output.split()] == ["iteration", "1", "2", "3"]


@pytest.mark.slow
def test_rerun_does_no_work(looped_run):
    run, _ = looped_run
    before = _snapshot(run)
    again = _make_iter(run)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _snapshot(run) == before
    out = again.stdout + again.stderr
    assert "Starting trainer" not in out and "computed" not in out
    assert out.count("nothing to do") >= 6


@pytest.mark.slow
def test_report_and_hub_folder_of_the_demo_run(looped_run, tmp_path):
    """The report and the Hub dry-run folder work on what the loop produced."""
    import datasets
    import duckdb

    run, _ = looped_run
    out = tmp_path / "report"
    res = invoke("report", "--run", run, "--out", out, "--format", "json")
    assert res.exit_code == 0, res.output
    sections = json.loads((out / "report.json").read_text())["sections"]
    con = duckdb.connect()
    truth = dict(con.sql(f"SELECT iteration, count(*) FROM read_parquet('{run}/data/pairs/*/*.parquet') "
                         "GROUP BY iteration").fetchall())
    assert {v["iteration"]: v["pairs"] for v in sections["volume"]} == truth
    assert sorted({e["iteration"] for e in sections["evals"]}) == [1, 2, 3]

    folder = tmp_path / "hub"
    res = invoke("push", "--run", run, "--repo", "demo-org/psr-demo", "--dry-run", folder)
    assert res.exit_code == 0, res.output
    # a fresh cache: an old cache entry of the same folder path (pytest reuses names) would answer instead
    pairs = datasets.load_dataset(str(folder), "pairs", split="iter1", cache_dir=str(tmp_path / "cache"))
    assert pairs.num_rows == con.sql(
        f"SELECT count(*) FROM read_parquet('{run}/data/pairs/iteration=1/*.parquet')").fetchall()[0][0]
    assert datasets.load_dataset(str(folder), "ift", split="iter0", cache_dir=str(tmp_path / "cache")).num_rows > 0

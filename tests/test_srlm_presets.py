"""The SRLM baseline presets extend their PSR presets (only the keys the baseline changes) and share M1."""

import pytest
import yaml

from builder.config import PRESETS_DIR, load_preset, validate_config
from builder.store import Run
from builder.store.base_run import base_run, init_args


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(_flat(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


@pytest.mark.parametrize("parent,child", [("demo", "demo-srlm"), ("demo-frontier", "demo-frontier-srlm"),
                                          ("qwen2.5-math-7b", "qwen2.5-math-7b-srlm")])
def test_an_srlm_preset_is_its_parent_with_its_own_keys_on_top(parent, child):
    # the child file's own keys, read raw: every other resolved value is the parent's
    own = yaml.safe_load((PRESETS_DIR / f"{child}.yaml").read_text())
    assert own.pop("extends") == parent
    resolved = _flat(load_preset(child))
    inherited = _flat(load_preset(parent))
    mine = _flat(own)
    assert resolved == {**inherited, **mine}
    assert len(mine) < len(inherited) / 4, "the child should hold only what differs"
    cfg = validate_config(load_preset(child), child)
    assert cfg.search.strategy == "solution" and cfg.trainer.dpo.overrides["rl_beta"] == 0.1


def test_srlm_run_uses_the_psr_runs_m1_when_that_run_exists(tmp_path):
    from builder.store.run import init_run

    srlm = tmp_path / "runs" / "demo-srlm"
    assert init_args(str(srlm), "demo-srlm") == "--set models.M1=null"  # no runs/demo: build iteration 0 here
    init_run(tmp_path / "runs" / "demo", "demo", [])
    assert init_args(str(srlm), "demo-srlm") == ""
    init_run(srlm, "demo-srlm", [])
    assert Run.open(srlm).model_path(1) == str(tmp_path / "runs" / "demo-srlm" / ".." / "demo" / "models" / "M1")
    assert base_run(str(srlm)) == str(tmp_path / "runs" / "demo")
    assert base_run(str(tmp_path / "runs" / "demo")) == ""  # M1 not given: its own iteration 0


def test_eval_judge_on_a_solution_run_says_why_it_measures_nothing(tmp_path):
    # make init/iter call `psr eval-judge --save --if-needed` for every run: a solution scorer has no
    # pairwise step verdicts to measure, and its forced-verdict setting must not fail the target
    from tests.helpers import invoke, make_run

    run = make_run(tmp_path, "demo-srlm", "models.M1=null")
    res = invoke("eval-judge", "--run", run.root, "--iter", 1, "--save", "--if-needed")
    assert res.exit_code == 0 and "not measured" in res.output and "solution" in res.output, res.output
    assert not (run.root / "eval").exists()


def test_greedy_eval_of_a_solution_run_needs_no_step_judge_and_search_mode_is_refused(tmp_path, tiny_model_dir):
    from builder.store import read_table
    from tests.helpers import invoke, make_run

    run = make_run(tmp_path, "demo-srlm", f"models.M1={tiny_model_dir}", "eval.max_steps=2")
    res = invoke("eval", "--run", run.root, "--iter", 1, "--mode", "greedy", "--limit", 2)
    assert res.exit_code == 0, res.output
    assert read_table(run, "evals", 1).num_rows == 2
    res = invoke("eval", "--run", run.root, "--iter", 1, "--mode", "search", "--limit", 2)
    assert res.exit_code == 2 and "use --mode greedy" in res.output, res.output

"""Cheap CLI checks of generate/seal/pairs that need no model: errors, exit codes, chunk planning."""

import pytest

from builder.errors import InputError
from builder.search import chunks
from tests.helpers import invoke


@pytest.fixture
def run_dir(tmp_path):
    path = tmp_path / "run"
    assert invoke("init", path, "--preset", "demo", "--set", "models.M1=/nonexistent/M1").exit_code == 0
    return path


def test_generate_without_problems_says_how_to_add_them(run_dir):
    res = invoke("generate", "--run", run_dir, "--iter", 1)
    assert res.exit_code == 1 and "has no problems; add them with `psr problems add" in res.output


def test_bad_shard_is_a_usage_error(run_dir):
    for bad in ("2/2", "x", "1/0", "-1/3"):
        res = invoke("generate", "--run", run_dir, "--iter", 1, "--shard", bad)
        assert res.exit_code == 2 and "--shard expects I/K" in res.output


def test_missing_model_is_one_line(run_dir):
    assert invoke("problems", "add", "--run", run_dir, "--iter", 1, "--limit", 3).exit_code == 0
    res = invoke("generate", "--run", run_dir, "--iter", 1)
    assert res.exit_code == 2 and "model M1 not found at /nonexistent/M1; build it with `psr train" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_seal_and_pairs_need_generate_and_seal_first(run_dir):
    res = invoke("seal", "--run", run_dir, "--iter", 1)
    assert res.exit_code == 1 and "no search output yet; run `psr generate" in res.output
    res = invoke("pairs", "--run", run_dir, "--iter", 1)
    assert res.exit_code == 1 and "needs iteration 1 sealed" in res.output


def test_plan_chunks_and_shards_cover_every_problem_once():
    ids = [f"{i:04x}" for i in range(37)][::-1]
    plan = chunks.Plan.make(ids, chunk_size=5, limit=None)
    assert plan.n_chunks == 8 and plan.chunk_ids(0) == sorted(ids)[:5] and plan.chunk_ids(7) == sorted(ids)[35:]
    shards = [chunks.shard_chunks(plan.n_chunks, (i, 3)) for i in range(3)]
    assert sorted(c for s in shards for c in s) == list(range(8)) and shards[1] == [1, 4, 7]
    limited = chunks.Plan.make(ids, chunk_size=5, limit=12)
    assert limited.problem_ids == tuple(sorted(ids)[:12]) and limited.n_chunks == 3
    assert limited.to_json() != plan.to_json()
    assert chunks.parse_shard(None) == (0, 1) and chunks.parse_shard(" 2 / 5") == (2, 5)
    with pytest.raises(InputError):
        chunks.parse_shard("5/5")


def test_progress_display_runs_on_a_console(capsys):
    from builder.progress import SearchProgress

    with SearchProgress(10, enabled=True) as p:
        p.skip(2)
        p.start_chunk(0)
        p.on_round(1, 8)
        p.on_tokens(gen_tokens=100, judge_tokens=50, judge_calls=30)
        p.on_trees_done(8)
    assert p.done == 8 and p.total == 8 and p.judge_calls == 30
    assert capsys.readouterr().out == ""  # progress never writes to stdout


@pytest.mark.parametrize("sets,needle", [
    (["search.width=4", "search.samples=3"], "key 'search.samples'"),
    (["search.on_rollbacks_spent=retry"], "key 'search.on_rollbacks_spent'"),
    (["search.rollback_scope=iteration"], "key 'search.rollback_scope'"),
    (["search.mcts.rollouts=-1"], "key 'search.mcts.rollouts'"),
    (["search.mcts.rollout_weight=1.5"], "key 'search.mcts.rollout_weight'"),
])
def test_bad_search_settings_are_usage_errors_naming_the_key(tmp_path, sets, needle):
    res = invoke("init", tmp_path / "r", "--preset", "demo", *[x for s in sets for x in ("--set", s)])
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "r" / "run.yaml").exists()


def test_search_defaults_and_valid_samples(tmp_path):
    from builder.config import RunConfig

    cfg = RunConfig()
    assert (cfg.search.n_samples, cfg.search.rollback_scope, cfg.search.on_rollbacks_spent) == (6, "step", "accept")
    assert cfg.pairs.require_head_to_head is True and cfg.search.mcts.rollouts >= 0
    res = invoke("init", tmp_path / "r", "--preset", "demo", "--set", "search.width=4", "--set", "search.samples=8")
    assert res.exit_code == 0, res.output

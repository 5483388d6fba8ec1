"""bench/results.py: the README's generated results block matches bench/results/*.json, and the
pooled figures and goal lines it renders are the ones worked out here by hand."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _results():
    spec = importlib.util.spec_from_file_location("bench_results", ROOT / "bench" / "results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_block_is_generated_from_the_results_files():
    res = _results()
    text = (ROOT / "README.md").read_text()
    assert res.readme_with(text, res.render()) == text, "run `python bench/results.py readme`"


def _row(bench, model, **kw):
    row = dict.fromkeys(_results().KEEP)
    row.update({"benchmark": bench, "model": model, "greedy_problems": 100, "greedy_correct": 50, **kw})
    return row


def test_pooling_sums_counts_over_seeds_and_counts_a_search_gap_once():
    res = _results()
    gap_a = dict(gap_rounds=10, judge_round_accuracy=0.9, greedy_step_accuracy=0.5, gap_judge_only=5, gap_greedy_only=1,
                 search_judge_tokens_per_decision=30.0, search_judge_calls_per_step=0.5)
    gap_b = dict(gap_rounds=20, judge_round_accuracy=0.8, greedy_step_accuracy=0.9, gap_judge_only=1, gap_greedy_only=3,
                 search_judge_tokens_per_decision=31.0, search_judge_calls_per_step=0.4)
    runs = [{"seed": 0, "stats": [_row("task:frontier", "M1", svg_problems=100, svg_only_search=9, svg_only_greedy=1, **gap_a),
                                  _row("task", "M1", **gap_a)]},   # the same search's gap on the second benchmark row
            {"seed": 1, "stats": [_row("task:frontier", "M1", svg_problems=100, svg_only_search=3, svg_only_greedy=3, **gap_b),
                                  _row("task", "M1", greedy_correct=60, **gap_b)]}]
    assert res.pooled_gap(runs) == {"M1": {"rounds": 30, "judge": 25, "greedy": 23, "judge_only": 6, "greedy_only": 4}}
    pooled = {p["benchmark"]: p for p in res.pooled_accuracy(runs)}
    assert (pooled["task"]["k"], pooled["task"]["n"]) == (110, 200)
    assert (pooled["task:frontier"]["only_search"], pooled["task:frontier"]["only_greedy"], pooled["task:frontier"]["svg_n"]) == (12, 4, 200)
    # judge 25/30, gap (6 - 4)/30 = +6.7 points, 1.96 x sqrt(10 - 4/30)/30 = 20.5 points either side, search (12 - 4)/200 = +4.0 points with McNemar p = 0.077
    assert res.goals(runs) == [
        "- M1: judge on its own mixed rounds >= 85 %: not met (83.3 %, 30 rounds).",
        "- M1: gap >= +15.0 points with its interval above 0: not met (+6.7, lower bound -13.9).",
        "- M1: test-time search beats greedy on task:frontier with p < 0.01: not met (+4.0 points, p = 0.077).",
    ]

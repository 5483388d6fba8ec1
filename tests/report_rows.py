"""Hand-built, schema-valid rows for the report tests: a run with two iterations, no model.

Iteration 1, tree T = "1-aaaa" (problem p0), four rounds; node k is "T/k". Verdicts per judgment,
written (shown as A, shown as B): verdict -> winner.

  R1 parent T/0, round 1, candidates 1 2 3 (step_correct: 1 yes, 2 no, 3 yes)
     (1,2) A -> 1   (2,1) B -> 1      pair {1,2}: both orders, same winner: consistent
     (1,3) A -> 1   (3,1) A -> 3      pair {1,3}: both orders, different winners: inconsistent, tie
     (2,3) None     (3,2) A -> 3      pair {2,3}: unparseable verdict: excluded; majority 3 > 2
     scores 1:3 2:0 3:2 -> spread 3, not all-tie; edges 1>2, 3>2, {1,3} tie: triad undecided
  R2 parent T/1, round 2, candidates 4 5 6: a cycle 4 > 5 > 6 > 4, each pair consistent
     (4,5) A  (5,4) B  (5,6) A  (6,5) B  (4,6) B -> 6  (6,4) A -> 6
     scores 2 2 2 -> all-tie, spread 0; triad decided and intransitive
  R3 parent T/4, round 3, candidates 7 8 9 (k % 8 wraps: 7, 0, 1): 7 > 8 > 9, 7 > 9, consistent
     (7,8) A  (8,7) B  (8,9) A  (9,8) B  (7,9) A  (9,7) B ; step_correct 7 no, 9 yes, 8 unknown
     scores 4 2 0 -> spread 4; triad decided, transitive
  R4 parent T/7, round 4, candidates 10 11, one order only: (10,11) A -> 10; scores 1 0, spread 1

Hand-computed figures of iteration 1 are in EXPECTED_IT1 (see test_report_metrics.py).
Iteration 2: tree "2-cccc" with one transitive, consistent round of 3 candidates.
"""

from __future__ import annotations

import json

T1, T2, T3 = "1-aaaa", "1-bbbb", "2-cccc"

# (round, parent k, a, b, swapped, verdict)
IT1_JUDGMENTS = [
    (1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, "B"),
    (1, 0, 1, 3, False, "A"), (1, 0, 3, 1, True, "A"),
    (1, 0, 2, 3, False, None), (1, 0, 3, 2, True, "A"),
    (2, 1, 4, 5, False, "A"), (2, 1, 5, 4, True, "B"),
    (2, 1, 5, 6, False, "A"), (2, 1, 6, 5, True, "B"),
    (2, 1, 4, 6, False, "B"), (2, 1, 6, 4, True, "A"),
    (3, 4, 7, 8, False, "A"), (3, 4, 8, 7, True, "B"),
    (3, 4, 8, 9, False, "A"), (3, 4, 9, 8, True, "B"),
    (3, 4, 7, 9, False, "A"), (3, 4, 9, 7, True, "B"),
    (4, 7, 10, 11, False, "A"),
]
IT2_JUDGMENTS = [
    (1, 0, 1, 2, False, "A"), (1, 0, 2, 1, True, "B"),
    (1, 0, 2, 3, False, "A"), (1, 0, 3, 2, True, "B"),
    (1, 0, 1, 3, False, "A"), (1, 0, 3, 1, True, "B"),
]

EXPECTED_IT1 = {
    "judgments": 19, "parseable": 18,
    "unparseable_rate": 1 / 19,
    "first_position_rate": 11 / 18,  # verdict A: R1 4, R2 3, R3 3, R4 1
    "rounds": 4, "rounds_skipped": 0,
    "pairs_both_orders": 9,  # 3 per round in R1-R3; R4's pair was judged in one order only
    "pairs_excluded": 1,  # {2,3} of R1
    "pairs_eligible": 8,
    "pairs_consistent": 7,  # all but {1,3} of R1
    "swap_consistency": 7 / 8,
    "all_tie_rounds": 1, "all_tie_rate": 1 / 4,  # R2
    "mean_spread": (3 + 0 + 4 + 1) / 4,
    "triads": 3, "triads_decided": 2, "triads_intransitive": 1, "intransitive_rate": 1 / 2,
}


def judgment_rows(tree: str, spec) -> list[dict]:
    out = []
    for i, (rnd, parent, a, b, swapped, verdict) in enumerate(spec):
        na, nb = f"{tree}/{a}", f"{tree}/{b}"
        out.append({"judgment_id": f"{tree}/j{i}", "tree_id": tree, "parent_id": f"{tree}/{parent}", "round": rnd,
                    "node_a": na, "node_b": nb, "swapped": swapped, "verdict": verdict,
                    "verdict_source": "parsed" if verdict else None, "p_a": None,
                    "winner": {"A": na, "B": nb}.get(verdict),
                    "raw": f"... [[{verdict}]]" if verdict else "no verdict", "n_tokens": 5, "score": None,
                    "stage": None})  # rows as an older version wrote them: no judge schedule recorded
    return out


def node(tree, k, parent, depth, rnd, idx, on_path=False, correct=None, tokens=10, terminal=False, wins=None):
    return {"tree_id": tree, "node_id": f"{tree}/{k}", "parent_id": None if parent is None else f"{tree}/{parent}",
            "depth": depth, "round": rnd, "candidate_index": idx,
            "text": "" if parent is None else f"Step {depth}: x{k}\n" + ("\\boxed{4}" if terminal else ""),
            "is_terminal": terminal, "on_path": on_path, "wins": wins, "visits": None, "value": None,
            "finish_reason": None if parent is None else "stop", "n_tokens": 0 if parent is None else tokens,
            "logprob": None, "step_correct": correct, "duplicate_of": None, "judged": parent is not None,
            "rollout_score": None, "score": None, "n_steps": None, "selection": None,
            "is_greedy": False, "greedy_step": None, "greedy_step_correct": None}


def it1_nodes() -> list[dict]:
    n = [node(T1, 0, None, 0, 0, None, on_path=True),
         node(T1, 1, 0, 1, 1, 0, True, True, 10), node(T1, 2, 0, 1, 1, 1, correct=False, tokens=12),
         node(T1, 3, 0, 1, 1, 2, correct=True, tokens=14),
         node(T1, 4, 1, 2, 2, 0, True, tokens=20), node(T1, 5, 1, 2, 2, 1), node(T1, 6, 1, 2, 2, 2),
         node(T1, 7, 4, 3, 3, 0, True, False, 30), node(T1, 8, 4, 3, 3, 1), node(T1, 9, 4, 3, 3, 2, correct=True),
         node(T1, 10, 7, 4, 4, 0, True, tokens=40, terminal=True), node(T1, 11, 7, 4, 4, 1),
         node(T2, 0, None, 0, 0, None, on_path=True)]
    return n


def it2_nodes() -> list[dict]:
    return [node(T3, 0, None, 0, 0, None, on_path=True),
            node(T3, 1, 0, 1, 1, 0, True, True, 50, terminal=True), node(T3, 2, 0, 1, 1, 1, correct=True, tokens=8),
            node(T3, 3, 0, 1, 1, 2, correct=False, tokens=9)]


def problem(pid: str, answer: str | None) -> dict:
    return {"problem_id": pid, "source": "test", "split": "train", "problem": f"problem {pid}", "answer": answer,
            "meta": json.dumps({})}


def tree(tid, pid, status, n_steps, final, correct, judge_calls) -> dict:
    return {"tree_id": tid, "problem_id": pid, "strategy": "tournament", "status": status, "n_steps": n_steps,
            "n_rollbacks": 0, "n_rounds": n_steps, "final_answer": final, "correct": correct,
            "judge_calls": judge_calls, "gen_tokens": 100, "judge_tokens": 5 * judge_calls, "chunk": 0,
            "judge_schedule": None}


def pair(tree_id, pid, parent, depth, chosen, rejected, cc, rc, chosen_text="Step: long one\n", rejected_text="Step: x\n"):
    return {"pair_id": f"{tree_id}/{parent}#{depth}", "tree_id": tree_id, "problem_id": pid,
            "parent_id": f"{tree_id}/{parent}", "depth": depth, "chosen_node": f"{tree_id}/{chosen}",
            "rejected_node": f"{tree_id}/{rejected}", "prompt": "p", "prefix": "", "chosen": chosen_text,
            "rejected": rejected_text, "chosen_wins": 3, "rejected_wins": 0, "margin": 3.0,
            "is_final_step": False, "chosen_terminal": False, "rejected_terminal": False,
            "chosen_correct": cc, "rejected_correct": rc, "label_source": "judge",
            "round": None, "chosen_rank": None, "rejected_rank": None}


def eval_row(pid, correct, bench="task:arithmetic", mode="greedy") -> dict:
    return {"model": "M", "benchmark": bench, "mode": mode, "problem_id": pid, "prediction": "4" if correct else None,
            "correct": correct, "n_steps": 2, "n_tokens": 20, "solution": "Step 1: x\n", "label_source": "judge",
            "judge_calls": None, "judge_tokens": None}


def build_two_iteration_run(tmp_path):
    """The run described in the module docstring; returns the Run."""
    from builder.store import write_table
    from tests.helpers import make_run

    run = make_run(tmp_path)
    write_table(run, "problems", 1, "a", [problem("p0", "4"), problem("p1", "5"), problem("p2", None)])
    write_table(run, "trees", 1, "a", [tree(T1, "p0", "finished", 4, "4", True, 19),
                                        tree(T2, "p1", "max_steps", 0, None, None, 0)])
    write_table(run, "nodes", 1, "a", it1_nodes())
    write_table(run, "judgments", 1, "a", judgment_rows(T1, IT1_JUDGMENTS[:10]))
    write_table(run, "judgments", 1, "b", judgment_rows(T1, IT1_JUDGMENTS)[10:])  # two part files
    write_table(run, "pairs", 1, "a", [pair(T1, "p0", 0, 1, 1, 2, True, False),
                                       pair(T1, "p0", 1, 2, 4, 5, None, None, "Step: a\n", "Step: longer\n"),
                                       pair(T1, "p0", 4, 3, 7, 9, False, True)])
    write_table(run, "problems", 2, "a", [problem("p3", "7")])
    write_table(run, "trees", 2, "a", [tree(T3, "p3", "finished", 1, "4", False, 6)])
    write_table(run, "nodes", 2, "a", it2_nodes())
    write_table(run, "judgments", 2, "a", judgment_rows(T3, IT2_JUDGMENTS))
    write_table(run, "pairs", 2, "a", [pair(T3, "p3", 0, 1, 1, 3, True, False)])
    write_table(run, "evals", 1, "task-greedy", [eval_row("p10", True), eval_row("p11", False)])
    write_table(run, "evals", 2, "task-greedy", [eval_row("p10", True), eval_row("p11", True)])
    write_table(run, "evals", 2, "task-search", [eval_row("p10", False, mode="search"), eval_row("p11", True, mode="search")])
    return run

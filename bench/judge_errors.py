"""What a run's arithmetic judge got wrong on its own mixed pairs (a benchmark-style analysis, not a test).

A mixed pair is a judgment whose two candidates the task's step checker labels one right and one
wrong (nodes.step_correct). Each judgment's check (judgments.raw) is compared with the problem: did
it use the operator and operand of the problem's step k (for `inverse`/`indexed`: their inverse),
and its own arithmetic right? Prints one line per (what the check did, verdict right or wrong), so
a judge that fails where the policy fails (the wrong operator at the frontier) is told apart from
one that miscounts or miscomputes. docs/frontier.md has the figures of the demo-frontier arms.

    .venv/bin/python bench/judge_errors.py runs/frontier --iter 1
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.query import open_run
from builder.tasks import run_task
from builder.tasks.arithmetic import parse_problem

MIXED = """SELECT p.problem, a.text AS step_a, a.step_correct AS a_right, j.verdict, j.raw
FROM judgments j JOIN nodes a ON a.node_id = j.node_a JOIN nodes b ON b.node_id = j.node_b
JOIN trees t ON t.tree_id = j.tree_id JOIN problems p ON p.problem_id = t.problem_id AND p.iteration = t.iteration
WHERE j.iteration = {it} AND a.step_correct <> b.step_correct"""
CHECK = re.compile(r"(-?\d+) ([-+]) (\d+) = (-?\d+)")


def classify(problem: str, step_a: str, raw: str, judge_format: str) -> str:
    """What the check did: 'check right', or the set of its slips (operator, operand, arithmetic)."""
    chain = parse_problem(problem)
    k = int(re.match(r"Step (\d+)", step_a).group(1))
    if chain is None or k > len(chain.ops):
        return "answer step"
    op, b = chain.ops[k - 1]
    want = op if judge_format == "recompute" else ("-" if op == "+" else "+")
    slips = set()
    for x, o, bb, y in CHECK.findall(raw.split(f"Step {k} is")[-1]):  # indexed: the checks after its list
        if o != want:
            slips.add("operator")
        elif int(bb) != b:
            slips.add("operand")
        elif int(x) + (int(bb) if o == "+" else -int(bb)) != int(y):
            slips.add("arithmetic")
    return ",".join(sorted(slips)) or "check right"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--iter", type=int, default=1, help="the iteration whose search judgments are read")
    args = ap.parse_args()
    db = open_run(args.run)
    task = run_task(db.run.config)
    judge_format = getattr(task, "judge_format", None)
    if judge_format is None:
        sys.exit(f"bench/judge_errors.py: {args.run} does not use the arithmetic task")
    rel = db.sql(MIXED.format(it=int(args.iter)))
    counts: Counter = Counter()
    for problem, step_a, a_right, verdict, raw in rel.fetchall():
        counts[(classify(problem, step_a, raw or "", judge_format), (verdict == "A") == a_right)] += 1
    print(f"{sum(counts.values())} judgments on mixed pairs (judge_format {judge_format})")
    for (what, right), n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {what:<24} verdict {'right' if right else 'wrong'}: {n}")


if __name__ == "__main__":
    main()

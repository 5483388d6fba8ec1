"""Judge schedules replayed on a run's own rounds: selection quality versus judge calls, paired.

Reads only the run's tables (trees, nodes, judgments of one iteration; the run seed from run.yaml
for the coin that picks A/B where a schedule asks one order). Every judged round of a tournament
tree is replayed through each schedule of builder/search/schedules.py, answering each ordered pair
with the verdict the run recorded for it: judge outputs are computed once per ordered pair (by the
original `psr generate`) and reused, so every schedule sees the same candidates and verdicts.
The run must have judged every ordered pair: generate it with `judge_schedule: round_robin` and
`judge_orders: both` (the defaults); rounds missing an ordered pair are skipped and counted.

Quality is measured over rounds with at least one correct and one wrong judged distinct candidate
(nodes.step_correct, where the task has a step checker): accept-correct (the named best is
correct), reject-wrong (the named worst is wrong), right-over-wrong (both); an undecided round
(the rollback trigger) counts as none of them. Intervals: Wilson 95 %. `vs RR` is the exact
McNemar p-value of right-over-wrong against the round robin on the same rounds. The replay checks
itself: the run's own schedule (trees.judge_schedule) replayed must name the best/worst the run recorded (nodes.selection, where
the run has it). Runs made before nodes.judged existed judged every sample of a round (duplicates
too): there a round's candidates are the nodes that appear in its judgments.

    .venv/bin/python bench/replay.py --run runs/demo --iter 1
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.analysis.stats import mcnemar_exact, wilson_interval
from builder.search import judging, schedules


def load(run_dir: str, iteration: int) -> tuple[int, list, list, list]:
    import pyarrow.parquet as pq

    from builder.store import Run, part_paths

    run = Run.open(run_dir)

    def rows(table, cols):
        paths = part_paths(run, table, iteration)
        return [r for p in paths for r in pq.read_table(p).select(
            [c for c in cols if c in pq.read_schema(p).names]).to_pylist()]

    trees = rows("trees", ["tree_id", "strategy", "judge_schedule"])
    nodes = rows("nodes", ["tree_id", "node_id", "parent_id", "round", "candidate_index", "judged", "step_correct",
                           "selection"])
    judgments = rows("judgments", ["parent_id", "round", "node_a", "node_b", "verdict"])
    if not trees:
        from builder.errors import InputError

        raise InputError(f"{run_dir}: iteration {iteration} has no trees (run `psr generate` first)")
    return run.config.seed, trees, nodes, judgments


def rounds(trees: list, nodes: list, judgments: list):
    """(tree_id, round, candidates sorted by index, {(node_a, node_b): verdict}, the tree's schedule) per judged
    tournament round."""
    schedule = {t["tree_id"]: t.get("judge_schedule") or "round_robin" for t in trees}
    tournament = {t["tree_id"] for t in trees if t["strategy"] == "tournament"}
    in_judgments = {j[k] for j in judgments for k in ("node_a", "node_b")}
    groups = defaultdict(list)
    for n in nodes:
        judged = n.get("judged")  # runs made before nodes.judged existed judged every sample
        if judged is None:
            judged = n["node_id"] in in_judgments
        if n["parent_id"] is not None and judged and n["tree_id"] in tournament:
            groups[(n["parent_id"], n["round"])].append(n)
    verdicts = defaultdict(dict)
    for j in judgments:
        verdicts[(j["parent_id"], j["round"])][(j["node_a"], j["node_b"])] = j["verdict"]
    for key, group in sorted(groups.items()):
        group.sort(key=lambda n: n["candidate_index"])
        yield group[0]["tree_id"], key[1], group, verdicts.get(key, {}), schedule[group[0]["tree_id"]]


def replay(seed: int, trees, nodes, judgments) -> dict:
    out = {name: {"calls": 0, "calls_all": 0, "acc": [], "rej": [], "row": [], "undecided": 0}
           for name in schedules.NAMES}
    skipped = scored = judged = rr_disagree = rr_checked = 0
    for tree_id, round_, cands, recorded, own in rounds(trees, nodes, judgments):
        ids = [c["node_id"] for c in cands]
        if any((a, b) not in recorded for a in ids for b in ids if a != b):
            skipped += 1
            continue
        judged += 1
        labels = [c["step_correct"] for c in cands]
        mixed = True in labels and False in labels
        scored += mixed
        for name in schedules.NAMES:
            flip = lambda i, j: judging.coin_flip(  # noqa: E731 - the search's own coin
                seed, tree_id, round_, cands[i]["candidate_index"], cands[j]["candidate_index"])  # noqa: B023 - used in this pass
            dec, calls = schedules.run(schedules.make(name, len(cands), "both", flip),
                                       lambda a, b: recorded[(ids[a], ids[b])])  # noqa: B023 - called at once
            s = out[name]
            s["calls_all"] += calls
            if name == own and any(c.get("selection") for c in cands):  # the run's own schedule
                named = {c.get("selection"): i for i, c in enumerate(cands) if c.get("selection")}
                rr_checked += 1
                rr_disagree += (named.get("best"), named.get("worst")) != (dec.best, dec.worst)
            if not mixed:
                continue
            s["calls"] += calls
            s["undecided"] += dec.undecided
            acc = not dec.undecided and labels[dec.best] is True
            rej = not dec.undecided and labels[dec.worst] is False
            s["acc"].append(acc)
            s["rej"].append(rej)
            s["row"].append(acc and rej)
    return {"schedules": out, "skipped": skipped, "judged": judged, "scored": scored, "rr_disagree": rr_disagree,
            "rr_checked": rr_checked}


def table(res: dict) -> str:
    s, rr = res["schedules"], res["schedules"]["round_robin"]
    lines = ["| schedule | judge calls (all judged rounds) | calls/RR | calls (scored rounds) | accept-correct [95 %] "
             "| reject-wrong [95 %] | right-over-wrong [95 %] | undecided | right-over-wrong vs RR (McNemar p) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, x in s.items():
        only_rr = sum(a and not b for a, b in zip(rr["row"], x["row"]))
        only_x = sum(b and not a for a, b in zip(rr["row"], x["row"]))
        p = "-" if name == "round_robin" else f"{mcnemar_exact(only_x, only_rr):.3f} (+{only_x}/-{only_rr})"
        lines.append(f"| {name} | {x['calls_all']} | {x['calls_all'] / max(1, rr['calls_all']):.2f} | {x['calls']} | "
                     f"{_rate(x['acc'])} | {_rate(x['rej'])} | {_rate(x['row'])} | {x['undecided']} | {p} |")
    return "\n".join(lines)


def _rate(flags: list[bool]) -> str:
    k, n = sum(flags), len(flags)
    lo, hi = wilson_interval(k, n)
    return f"{k / n if n else 0:.3f} [{lo:.3f}, {hi:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="Run directory.")
    ap.add_argument("--iter", type=int, default=1, help="Iteration whose rounds to replay.")
    args = ap.parse_args()
    try:
        res = replay(*load(args.run, args.iter))
    except Exception as exc:  # InputError: one line, exit 2
        from builder.errors import InputError

        if isinstance(exc, InputError):
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        raise
    print(f"judged tournament rounds replayed: {res['judged']} (skipped, an ordered pair missing: {res['skipped']}); "
          f"scored (>= 1 correct and >= 1 wrong candidate): {res['scored']}; "
          f"the run's own schedule replayed disagreeing with its recorded selection: {res['rr_disagree']} "
          f"of {res['rr_checked']} rounds with one recorded")
    print(table(res))


if __name__ == "__main__":
    main()

"""Judge schedules in simulation: true-best / true-worst hit rates versus judge calls.

Each trial draws d latent candidate qualities q ~ N(0, 1). The judge is Bradley-Terry with a
position bias: P(verdict A) = sigmoid(sharpness * (q_A - q_B) + bias), plus an unparseable share.
A judge at temperature 0 answers the same prompt the same way, so each ORDERED pair's verdict is
drawn once per trial and every schedule sees the same verdicts (a paired comparison). A schedule
hits the best when it names the true best; an undecided round (the rollback trigger) is a miss for
both. Intervals: Wilson 95 % (builder/analysis/stats.py). `meets` = calls <= 50 % of the round
robin's and both hit rates >= the round robin's lower 95 % bound (`stretch`: calls <= 35 %). The
one-order round robin (`judge_orders: one`) is printed as a reference.

    .venv/bin/python bench/schedule.py                       # the sweep of docs/search.md
    .venv/bin/python bench/schedule.py --n 4 --trials 4000 --bias 0 1 --sharpness 2
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.analysis.stats import wilson_interval
from builder.search import schedules


# (label, schedule, judge_orders or None for --orders); the one-order round robin is a reference:
# every pair once, A/B by the coin (`judge_orders: one`), half the calls of both orders.
RUNS = [(name, name, None) for name in schedules.NAMES] + [("round_robin one-order", "round_robin", "one")]


def trial(rng: random.Random, n: int, sharpness: float, bias: float, none_rate: float, orders: str) -> dict:
    """One round through every schedule on the same candidates and the same per-ordered-pair verdicts."""
    q = [rng.gauss(0.0, 1.0) for _ in range(n)]
    verdict = {}
    for a in range(n):
        for b in range(n):
            if a != b:
                p = 1.0 / (1.0 + math.exp(-(sharpness * (q[a] - q[b]) + bias)))
                verdict[a, b] = None if rng.random() < none_rate else ("A" if rng.random() < p else "B")
    coins = {(i, j): rng.random() < 0.5 for i in range(n) for j in range(i + 1, n)}
    best, worst = max(range(n), key=q.__getitem__), min(range(n), key=q.__getitem__)
    out = {}
    for label, name, how in RUNS:
        dec, calls = schedules.run(schedules.make(name, n, how or orders, lambda i, j: coins[i, j]),
                                   lambda a, b: verdict[a, b])
        out[label] = (dec.best == best, dec.worst == worst, dec.undecided, calls)
    return out


def cell(n: int, sharpness: float, bias: float, trials: int, seed: int, none_rate: float, orders: str) -> dict:
    rng = random.Random(f"{seed}-{n}-{sharpness}-{bias}")
    sums = {label: [0, 0, 0, 0] for label, _, _ in RUNS}
    for _ in range(trials):
        for name, got in trial(rng, n, sharpness, bias, none_rate, orders).items():
            for k, v in enumerate(got):
                sums[name][k] += int(v)
    return sums


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[6], help="Distinct candidates per round.")
    ap.add_argument("--sharpness", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--bias", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0], help="Logit added to A.")
    ap.add_argument("--none-rate", type=float, default=0.0, help="Share of unparseable verdicts.")
    ap.add_argument("--orders", choices=["both", "one"], default="both", help="judge_orders (round robin, knockout).")
    ap.add_argument("--trials", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| d | sharpness | bias | schedule | calls | calls/RR | best hit [95 %] | worst hit [95 %] | undecided | meets |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        for s in args.sharpness:
            for b in args.bias:
                sums = cell(n, s, b, args.trials, args.seed, args.none_rate, args.orders)
                rr = sums["round_robin"]
                lo_best, lo_worst = wilson_interval(rr[0], args.trials)[0], wilson_interval(rr[1], args.trials)[0]
                for name, (hb, hw, und, calls) in sums.items():
                    ratio = calls / rr[3]
                    ok = hb / args.trials >= lo_best and hw / args.trials >= lo_worst
                    meets = "-" if name.startswith("round_robin") else (
                        ("stretch" if ratio <= 0.35 else "yes") if ok and ratio <= 0.5 else "no")
                    print(f"| {n} | {s:g} | {b:g} | {name} | {calls / args.trials:.1f} | {ratio:.2f} | "
                          f"{_rate(hb, args.trials)} | {_rate(hw, args.trials)} | {und / args.trials:.3f} | {meets} |")


def _rate(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k / n:.3f} [{lo:.3f}, {hi:.3f}]"


if __name__ == "__main__":
    main()

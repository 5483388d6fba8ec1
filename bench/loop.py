"""The self-rewarding loop, end to end, for S seeds: init + N iterations through the `psr` commands,
then one table of what happened (a benchmark, not a test; it trains real models and takes minutes)
and the goal's test: every later model against M1 on the same problems (exact McNemar, per seed and pooled).

Per seed a run directory WORK/seed-S goes through the loop of builder/loop.py, the steps `make iter`
runs (init: model tiny, init-data, export/config/train of iteration 0; then per iteration: problems
add, generate, seal, pairs, export, config, train), and every model M1..M(N+1) is evaluated greedy
(and with --search, in search mode) on the same held-out problems, and its judge with `psr
eval-judge --save`; the commands' output goes to WORK/seed-S.log. The
figures come from `psr report --format json` (its statistics section), so they are the report's.

    .venv/bin/python bench/loop.py --work /tmp/loop --iters 2 --seeds 0 1
    .venv/bin/python bench/loop.py --work /tmp/loop --iters 1 --seeds 0 --m1 runs/demo/models/M1 --eval-limit 1000
    .venv/bin/python bench/loop.py --work /tmp/loop --iters 1 --seeds 0 1 --set problems.per_iteration=[128]
    .venv/bin/python bench/loop.py --work /tmp/loop --iters 1 --seeds 0 --ceiling
    .venv/bin/python bench/loop.py --work /tmp/sci --preset demo-frontier --iters 3 --seeds 0 --search --ceiling --control
    .venv/bin/python bench/loop.py --work /tmp/tune --iters 1 --seeds 0 --m1 runs/demo/models/M1 --split validation
    .venv/bin/python bench/loop.py --work /tmp/gap --iters 1 --seeds 0 --search --set search.record_greedy=true
    .venv/bin/python bench/loop.py --work /tmp/sci --preset demo-frontier --iters 3 --seeds 0 1 2 --ceiling --control \
        --srlm demo-frontier-srlm

With --ceiling every iteration also trains the oracle ablation (`psr pairs/export/config/train
--label checker`, ORACLE-labelled pairs into M(N+1)-checker, never the loop's model) and evaluates
it on the same held-out problems: the ceiling table (report section "ceiling") is printed beside
the loop's results, so a null can be read as "the judge" or "the trainer".

With --control every iteration also trains the compute-matched control M(N+1)-replay (`psr
export/config/train --label replay`: as many optimizer steps as M(N+1) took, SFT on iteration 0's
data) and compares each trained M(N+1) with it on the same problems.

With --srlm PRESET every seed also runs the SRLM baseline (solution-level self-rewarding) from the
same M1 in WORK/seed-S-srlm, and each of its models is compared with the PSR model of the same
iteration on the same problems (`psr report --compare`, exact McNemar).

With search.record_greedy (or greedy_candidate) the gap table shows each model's judge on its own
mixed rounds against its greedy step at the same rounds (report section gap), and with --search
test-time search against greedy on the same problems (section search_vs_greedy).

Pooled rows: accuracies summed over seeds (Wilson interval over the pooled counts) and the McNemar
test on the summed discordant counts (each seed's problems and models are independent pairs).
Wall times depend on what else runs on the machine: report them with that caveat.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from builder.errors import PsrError  # noqa: E402
from builder.loop import LoopOptions, Step, StepRunner, offline_env, run_loop  # noqa: E402


VS_M1 = """SELECT b.benchmark, b.iteration, count(*) AS shared,
       count(*) FILTER (WHERE a.correct AND NOT b.correct) AS only_m1,
       count(*) FILTER (WHERE b.correct AND NOT a.correct) AS only_this
FROM evals b JOIN evals a ON a.iteration = 1 AND a.problem_id = b.problem_id AND a.benchmark = b.benchmark
                         AND a.mode = b.mode AND a.label_source = 'judge'
WHERE b.mode = 'greedy' AND b.label_source = 'judge' AND b.iteration > 1
GROUP BY b.benchmark, b.iteration ORDER BY b.benchmark, b.iteration"""


# Each trained model (the loop's, and with --ceiling the checker-trained one) against the compute-matched
# control M(N+1)-replay of the same iteration, on the same problems (greedy)
VS_CONTROL = """SELECT m.label_source AS label, m.benchmark, m.iteration, count(*) AS shared,
       count(*) FILTER (WHERE m.correct) AS model_correct, count(*) FILTER (WHERE c.correct) AS control_correct,
       count(*) FILTER (WHERE m.correct AND NOT c.correct) AS only_model,
       count(*) FILTER (WHERE c.correct AND NOT m.correct) AS only_control
FROM evals m JOIN evals c ON c.iteration = m.iteration AND c.problem_id = m.problem_id AND c.benchmark = m.benchmark
                         AND c.mode = m.mode AND c.label_source = 'replay'
WHERE m.mode = 'greedy' AND m.label_source IN ('judge', 'checker') AND m.iteration > 1
GROUP BY ALL ORDER BY label, m.benchmark, m.iteration"""


def sql_rows(run: Path, query: str) -> list[dict]:
    """`psr sql` rows as dicts (every value an int, but the benchmark); a failure ends the bench."""
    out = subprocess.run([sys.executable, "-m", "builder.cli", "sql", query, "--run", str(run), "--format", "csv"],
                         capture_output=True, text=True, env=offline_env(), check=False)
    if out.returncode:
        sys.exit(f"bench/loop.py: psr sql failed on {run}: {out.stderr.strip()}")
    lines = list(csv.reader(out.stdout.splitlines()))
    return [{k: v if k in ("benchmark", "label") else int(v) for k, v in zip(lines[0], row)} for row in lines[1:]]


def loop_options(args, seed: int) -> LoopOptions:
    """The loop (builder/loop.py) as this bench runs it: every model evaluated the same way (greedy,
    with --search also in search mode) on the same held-out problems; a seed with 0 pairs stops."""
    modes = ("greedy", "search") if args.search else ("greedy",)
    split = ("--split", args.split) if args.split != "test" else ()  # tune on validation: every task benchmark
    # the limits as run.yaml keys, not `psr eval --limit` (which would hold for search mode too):
    # greedy on eval.limit problems, search on the first eval.search_limit of them (a tree per problem)
    limits = (f"eval.limit={args.eval_limit}",) + ((f"eval.search_limit={args.search_limit}",) if args.search_limit else ())
    sets = (f"seed={seed}", *limits, *args.set) + ((f"models.M1={Path(args.m1).resolve()}",) if args.m1 else ())
    return LoopOptions(preset=args.preset, sets=sets, init_modes=modes, modes=modes,
                       eval_args=split, ceiling=args.ceiling, control=args.control,
                       stop_without_pairs=True, base_run=False)


def srlm_options(args, seed: int, m1: Path) -> LoopOptions:
    """The SRLM arm: its preset from the seed run's M1, evaluated greedy on the same problems (no
    ceiling or control: the comparison is PSR against SRLM at each model)."""
    base = loop_options(args, seed)
    return LoopOptions(preset=args.srlm, sets=(*base.sets, f"models.M1={m1.resolve()}"), init_modes=("greedy",),
                       modes=("greedy",), eval_args=base.eval_args, stop_without_pairs=True, base_run=False)


def m1_of(run: Path) -> Path:
    """The seed run's M1: RUN/models/M1, or the model models.M1 (--m1) names."""
    from builder.store import Run

    return Path(Run.open(run).model_path(1))


def one_seed(seed: int, args) -> dict:
    run = Path(args.work) / f"seed-{seed}"
    run.parent.mkdir(parents=True, exist_ok=True)
    log = Path(args.work) / f"seed-{seed}.log"
    runner = StepRunner(log, offline_env())
    try:
        res = run_loop(run, args.iters, loop_options(args, seed), runner)
        srlm = run.with_name(f"seed-{seed}-srlm")
        if args.srlm:
            res.times.update({f"srlm {k}": v for k, v in
                              run_loop(srlm, args.iters, srlm_options(args, seed, m1_of(run)), runner).times.items()})
    except PsrError as exc:
        sys.exit(f"bench/loop.py: {exc}")
    runner(Step("report", ("report", "--run", str(run), "--format", "json", "--out", str(run / "report"))))
    report = json.loads((run / "report" / "report.json").read_text())
    vs_srlm = []
    if args.srlm:  # `psr report --compare`: PSR's M(N) against SRLM's M(N) on the same problems
        runner(Step("report", ("report", "--run", str(run), "--compare", str(srlm), "--format", "json",
                               "--out", str(run / "report" / "srlm"))))
        vs_srlm = json.loads((run / "report" / "srlm" / "compare.json").read_text())["paired"]
    return {"seed": seed, "times": res.times, "stopped": res.stopped, "stats": report["sections"]["statistics"],
            "vs_m1": sql_rows(run, VS_M1), "vs_control": sql_rows(run, VS_CONTROL) if args.control else [],
            "vs_srlm": vs_srlm, "ceiling": report["sections"].get("ceiling", []),
            "volume": {str(r["iteration"]): r for r in report["sections"]["volume"]}}  # str: as loop.json has them


def pooled(results: list[dict]) -> list[dict]:
    from builder.analysis.stats import mcnemar_exact, wilson_interval

    out = []
    keys = {(r["benchmark"], r["model"]) for res in results for r in res["stats"]}
    for bench, model in sorted(keys, key=lambda bm: (bm[0], int(bm[1][1:]))):
        rows = [r for res in results for r in res["stats"] if (r["benchmark"], r["model"]) == (bench, model)]
        k, n = sum(r["greedy_correct"] or 0 for r in rows), sum(r["greedy_problems"] or 0 for r in rows)
        row = {"benchmark": bench, "model": model, "greedy_correct": k, "greedy_problems": n,
               "greedy_ci": wilson_interval(k, n)}
        paired = [r for r in rows if r["only_prev"] is not None]
        if paired:
            b, c = sum(r["only_prev"] for r in paired), sum(r["only_this"] for r in paired)
            row.update(only_prev=b, only_this=c, mcnemar_p=mcnemar_exact(b, c),
                       difference=(c - b) / sum(r["problems_shared"] for r in paired))
        sk, sn = sum(r["search_correct"] or 0 for r in rows), sum(r["search_problems"] or 0 for r in rows)
        row["search"] = (sk, sn)
        out.append(row)
    return out


def _f(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def table(results: list[dict]) -> str:
    head = ("| seed | benchmark | model | greedy (n) [95 % CI] | diff vs prev (only prev/only this) | McNemar p | search | "
            "pairs that built it (right-over-wrong) | judge own cand. (n) | judge EFT | wall s (train + search of the iteration "
            "that built it; eval) |")
    lines = [head, "|" + "---|" * 11]
    for res in results:
        for r in res["stats"]:
            n = r["iteration"]
            vol = res["volume"].get(str(n - 1), {})
            built = res["times"].get("init" if n == 1 else f"iter {n - 1}")
            diff = "-" if r["difference"] is None else f"{r['difference']:+.3f} ({r['only_prev']}/{r['only_this']})"
            lines.append(
                f"| {res['seed']} | {r['benchmark']} | {r['model']} | {_f(r['greedy_accuracy'])} ({r['greedy_problems']}) "
                f"[{_f(r['greedy_ci_low'])}, {_f(r['greedy_ci_high'])}] | {diff} | {_f(r['mcnemar_p'], '.3g')} | "
                f"{_f(r['search_accuracy'])} | {vol.get('pairs', '-') if n > 1 else '-'} "
                f"({_f(_prev(res, n, 'right_over_wrong_rate'))}) | {_f(r['judge_own_accuracy'])} "
                f"({r['judge_own_judgments'] or 0}) | {_f(r['judge_labeled_accuracy'])} | "
                f"{_f(built, '.0f')}; {_f(res['times'].get(f'eval M{n}'), '.0f')} |")
    for p in pooled(results):
        ci = p["greedy_ci"]
        acc = p["greedy_correct"] / p["greedy_problems"] if p["greedy_problems"] else None
        diff = f"{p['difference']:+.3f} ({p['only_prev']}/{p['only_this']})" if "difference" in p else "-"
        search = _f(p["search"][0] / p["search"][1]) if p["search"][1] else "-"
        lines.append(f"| pooled | {p['benchmark']} | {p['model']} | {_f(acc)} ({p['greedy_problems']}) [{_f(ci[0])}, {_f(ci[1])}] | "
                     f"{diff} | {_f(p.get('mcnemar_p'), '.3g')} | {search} | | | | |")
    return "\n".join(lines)


def gap_table(results: list[dict]) -> str:
    """Per seed and model: the judge on its own mixed rounds, the policy's greedy step at the same
    rounds, the gap with its 95 % interval and McNemar p (report section gap: needs search.record_greedy
    or greedy_candidate), test-time search vs greedy (section search_vs_greedy: needs --search), and
    their judge costs; pooled rows sum the rounds' and problems' discordant counts over seeds."""
    from builder.analysis.stats import mcnemar_exact, paired_difference_interval

    lines = ["| seed | benchmark | model | judge on own mixed rounds (n) | greedy step there | gap [95 % CI] (p) | "
             "judge tokens/decision, calls/step | search vs greedy (only search/only greedy) (n) | McNemar p | "
             "eval judge tokens/decision, calls/step |", "|" + "---|" * 10]
    pool: dict[str, list[int]] = {}
    pooled_once: set[tuple] = set()  # the gap is the search's, repeated on each benchmark's row
    for res in results:
        for r in res["stats"]:
            if r.get("gap") is None and r.get("svg_difference") is None:
                continue
            gap = "-" if r["gap"] is None else (f"{r['gap']:+.3f} [{r['gap_ci_low']:+.3f}, {r['gap_ci_high']:+.3f}] "
                                                  f"({_f(r['gap_p'], '.3g')})")
            svg = "-" if r["svg_difference"] is None else \
                f"{r['svg_difference']:+.3f} ({r['svg_only_search']}/{r['svg_only_greedy']}) ({r['svg_problems']})"
            lines.append(f"| {res['seed']} | {r['benchmark']} | {r['model']} | {_f(r['judge_round_accuracy'])} ({r['gap_rounds'] or 0}) | "
                         f"{_f(r['greedy_step_accuracy'])} | {gap} | {_f(r['search_judge_tokens_per_decision'], '.1f')}, "
                         f"{_f(r['search_judge_calls_per_step'], '.1f')} | {svg} | {_f(r['svg_mcnemar_p'], '.3g')} | "
                         f"{_f(r['eval_judge_tokens_per_decision'], '.1f')}, {_f(r['eval_judge_calls_per_step'], '.1f')} |")
            if r["gap"] is not None and (res["seed"], r["model"]) not in pooled_once:
                pooled_once.add((res["seed"], r["model"]))
                acc = pool.setdefault(r["model"], [0, 0, 0])
                acc[0], acc[1], acc[2] = acc[0] + r["gap_judge_only"], acc[1] + r["gap_greedy_only"], acc[2] + r["gap_rounds"]
    for model, (b, c, n) in sorted(pool.items(), key=lambda kv: int(kv[0][1:])):
        lo, hi = paired_difference_interval(b, c, n)
        lines.append(f"| pooled | | {model} | | | {(b - c) / n:+.3f} [{lo:+.3f}, {hi:+.3f}] ({mcnemar_exact(b, c):.3g}) | | | | |")
    return "\n".join(lines)


def vs_m1_table(results: list[dict]) -> str:
    """The goal's test: each later model against M1 on the same problems (greedy), per seed and pooled."""
    from builder.analysis.stats import mcnemar_exact

    lines = ["| seed | benchmark | model | vs M1 (only M1 / only this) | McNemar p |", "|---|---|---|---|---|"]
    pooled_counts: dict[tuple[str, int], list[int]] = {}
    for res in results:
        for r in res.get("vs_m1", []):
            b, c = r["only_m1"], r["only_this"]
            acc = pooled_counts.setdefault((r["benchmark"], r["iteration"]), [0, 0, 0])
            acc[0], acc[1], acc[2] = acc[0] + b, acc[1] + c, acc[2] + r["shared"]
            lines.append(f"| {res['seed']} | {r['benchmark']} | M{r['iteration']} | {(c - b) / r['shared']:+.3f} ({b}/{c}) | "
                         f"{mcnemar_exact(b, c):.3g} |")
    for (bench, it), (b, c, n) in sorted(pooled_counts.items()):
        lines.append(f"| pooled | {bench} | M{it} | {(c - b) / n:+.3f} ({b}/{c}) | {mcnemar_exact(b, c):.3g} |")
    return "\n".join(lines)


def ceiling_table(results: list[dict]) -> str:
    """The oracle ceiling per seed and iteration: M(N), judge-trained and checker-trained M(N+1)."""
    lines = ["| seed | iteration | benchmark | problems | M(N) | judge-trained M(N+1) (p) | checker-trained M(N+1), ORACLE (p) | "
             "judge agrees with checker |", "|" + "---|" * 8]
    for res in results:
        for r in res["ceiling"]:
            lines.append(f"| {res['seed']} | {r['iteration']} | {r['benchmark']} | {r['problems']} | {_f(r['base_accuracy'])} | "
                         f"{_f(r['judge_accuracy'])} ({_f(r['judge_p'], '.3g')}) | "
                         f"{_f(r['checker_accuracy'])} ({_f(r['checker_p'], '.3g')}) | {_f(r['agreement'])} |")
    return "\n".join(lines)


def control_table(results: list[dict]) -> str:
    """Each trained M(N+1) against its compute-matched control M(N+1)-replay, per seed and pooled."""
    from builder.analysis.stats import mcnemar_exact

    lines = ["| seed | pairs labelled by | benchmark | model | model / control accuracy | only model / only control | McNemar p |",
             "|" + "---|" * 7]
    pool: dict[tuple, list[int]] = {}
    for res in results:
        for r in res.get("vs_control", []):
            n, b, c = r["shared"], r["only_model"], r["only_control"]
            acc = pool.setdefault((r["label"], r["benchmark"], r["iteration"]), [0, 0, 0, 0, 0])
            for i, v in enumerate((n, r["model_correct"], r["control_correct"], b, c)):
                acc[i] += v
            lines.append(f"| {res['seed']} | {r['label']} | {r['benchmark']} | M{r['iteration']} | "
                         f"{r['model_correct'] / n:.3f} / {r['control_correct'] / n:.3f} | {b} / {c} | {mcnemar_exact(b, c):.3g} |")
    for (label, bench, it), (n, mk, ck, b, c) in sorted(pool.items()):
        lines.append(f"| pooled | {label} | {bench} | M{it} | {mk / n:.3f} / {ck / n:.3f} | {b} / {c} | {mcnemar_exact(b, c):.3g} |")
    return "\n".join(lines)


def srlm_table(results: list[dict]) -> str:
    """PSR's M(N) against SRLM's M(N) from the same M1 (greedy, same problems), per seed and pooled."""
    from builder.analysis.stats import mcnemar_exact

    lines = ["| seed | benchmark | model | PSR / SRLM accuracy | only PSR / only SRLM | McNemar p |", "|" + "---|" * 6]
    pool: dict[tuple, list[int]] = {}
    for res in results:
        for r in res.get("vs_srlm", []):
            if r["mode"] != "greedy" or r["iteration"] < 2:
                continue
            n, a, b = r["problems"], r["only_a"], r["only_b"]
            acc = pool.setdefault((r["benchmark"], r["iteration"]), [0, 0, 0, 0, 0])
            for i, v in enumerate((n, r["both"] + a, r["both"] + b, a, b)):
                acc[i] += v
            lines.append(f"| {res['seed']} | {r['benchmark']} | M{r['iteration']} | {r['accuracy_a']:.3f} / {r['accuracy_b']:.3f} | "
                         f"{a} / {b} | {mcnemar_exact(a, b):.3g} |")
    for (bench, it), (n, ka, kb, a, b) in sorted(pool.items()):
        lines.append(f"| pooled | {bench} | M{it} | {ka / n:.3f} / {kb / n:.3f} | {a} / {b} | {mcnemar_exact(a, b):.3g} |")
    return "\n".join(lines)


def _prev(res: dict, n: int, key: str):
    """A figure of the iteration that built M(n): iteration n-1's search, by M(n-1)."""
    return next((r[key] for r in res["stats"] if r["iteration"] == n - 1), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="scratch folder (one run per seed under it; reruns resume)")
    ap.add_argument("--iters", type=int, default=2, help="iterations after init (models M2..M(N+1))")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="run.yaml override (repeatable)")
    ap.add_argument("--m1", help="use this M1 instead of training iteration 0 (skips init)")
    ap.add_argument("--eval-limit", type=int, default=1000, help="held-out problems per model (greedy)")
    ap.add_argument("--search-limit", type=int,
                    help="with --search: search mode on the first K of them (default: the preset's eval.search_limit)")
    ap.add_argument("--split", default="test", choices=["test", "validation"],
                    help="held-out split of the evals: tune on validation, report on test")
    ap.add_argument("--search", action="store_true", help="also evaluate every model in search mode")
    ap.add_argument("--ceiling", action="store_true", help="also train and evaluate the oracle ablation per iteration")
    ap.add_argument("--control", action="store_true",
                    help="also train and evaluate the compute-matched control M(N+1)-replay per iteration")
    ap.add_argument("--srlm", metavar="PRESET",
                    help="also the SRLM baseline per seed: a run of PRESET (e.g. demo-frontier-srlm) from the seed's M1, "
                         "WORK/seed-S-srlm, for as many iterations, compared model by model (psr report --compare)")
    args = ap.parse_args()
    results = [one_seed(s, args) for s in args.seeds]
    (Path(args.work) / "loop.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(table(results))
    if any(r.get("gap") is not None or r.get("svg_difference") is not None for res in results for r in res["stats"]):
        print("\nGeneration-verification gap (judge minus its own greedy step at mixed rounds) and search vs greedy:")
        print(gap_table(results))
    print("\nEach model against M1 (the goal: M3 > M1 with p < 0.05):")
    print(vs_m1_table(results))
    if args.ceiling:
        print("\nOracle ceiling (checker-labelled pairs, an ablation; McNemar p against M(N)):")
        print(ceiling_table(results))
    if args.control:
        print("\nAgainst the compute-matched control (same optimizer steps of SFT on iteration 0's data, no pairs):")
        print(control_table(results))
    if args.srlm:
        print(f"\nPSR against SRLM ({args.srlm}) from the same M1 (the paper's comparison):")
        print(srlm_table(results))
    for res in results:
        if res["stopped"]:
            print(f"seed {res['seed']}: {res['stopped']}")


if __name__ == "__main__":
    main()

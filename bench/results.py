"""Small results files under bench/results/, and the README's results tables made from them.

    .venv/bin/python bench/results.py collect frontier-m1 runs/f0 runs/f1 runs/f2 --models M1 --title "..."
    .venv/bin/python bench/results.py readme            # rewrite README.md's generated results block
    .venv/bin/python bench/results.py readme --check    # exit 1 when README.md differs from the files

`collect` runs `psr report --format json` on each run and keeps its statistics rows (one per model
and benchmark) of one held-out split (test by default: benchmarks without '@'), with the run's
seed and preset, in bench/results/NAME.json: the figures are the report's, the file is a few KB.
`readme` renders every results file as two tables, per seed and pooled over seeds (accuracy with
Wilson intervals and search vs greedy with exact McNemar tests; the judge on its own mixed rounds
against the policy's greedy step there, the generation-verification gap with its interval), and
says which of the science preset's goals (docs/frontier.md) each file meets, between the README's
`results:begin` / `results:end` markers. A test checks that README.md matches the files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.analysis.stats import mcnemar_exact, paired_difference_interval, wilson_interval  # noqa: E402

RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
BEGIN, END = "<!-- results:begin", "<!-- results:end -->"
KEEP = ("model", "iteration", "benchmark", "greedy_problems", "greedy_correct", "search_problems", "search_correct",
        "svg_problems", "svg_only_search", "svg_only_greedy", "judge_labeled_accuracy", "gap_rounds", "gap_judge_only",
        "gap_greedy_only", "judge_round_accuracy", "greedy_step_accuracy", "search_judge_tokens_per_decision",
        "search_judge_calls_per_step")
# the science preset's goals (issue "A judge that knows more than the policy"), checked on the pooled rows
JUDGE_GOAL, GAP_GOAL, SEARCH_P = 0.85, 0.15, 0.01


def collect(name: str, runs: list[str], title: str, split: str, models: list[str] | None = None) -> Path:
    """bench/results/NAME.json from each run's `psr report --format json` statistics rows of `split`
    (of `models` only, when given)."""
    import yaml

    out = {"name": name, "title": title, "split": split, "runs": []}
    for run in runs:
        cfg = yaml.safe_load((Path(run) / "run.yaml").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "builder.cli", "report", "--run", run, "--format", "json", "--out", tmp],
                           check=True, capture_output=True, cwd=ROOT)
            stats = json.loads((Path(tmp) / "report.json").read_text())["sections"]["statistics"]
        rows = [{k: r.get(k) for k in KEEP} for r in stats if ("@" in r["benchmark"]) == (split != "test")
                and (split == "test" or r["benchmark"].endswith("@" + split)) and (not models or r["model"] in models)]
        out["runs"].append({"seed": cfg["seed"], "preset": cfg.get("name"), "stats": rows})
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return path


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _pts(x) -> str:
    return f"{100 * x:+.1f}"


def pooled_accuracy(runs: list[dict]) -> list[dict]:
    """Per benchmark and model, summed over seeds: greedy k/n, and search vs greedy's discordant counts."""
    out: dict[tuple, dict] = {}
    for run in runs:
        for r in run["stats"]:
            acc = out.setdefault((r["benchmark"], r["model"]), {"benchmark": r["benchmark"], "model": r["model"], "k": 0,
                                                                 "n": 0, "only_search": 0, "only_greedy": 0, "svg_n": 0})
            acc["k"] += r["greedy_correct"] or 0
            acc["n"] += r["greedy_problems"] or 0
            if r["svg_problems"]:
                acc["only_search"] += r["svg_only_search"]
                acc["only_greedy"] += r["svg_only_greedy"]
                acc["svg_n"] += r["svg_problems"]
    return list(out.values())


def pooled_gap(runs: list[dict]) -> dict[str, dict]:
    """Per model, summed over seeds once (the gap is the search's, repeated on each benchmark's row)."""
    out: dict[str, dict] = {}
    for run in runs:
        seen = set()
        for r in run["stats"]:
            if not r["gap_rounds"] or r["model"] in seen:
                continue
            seen.add(r["model"])
            acc = out.setdefault(r["model"], {"rounds": 0, "judge": 0, "greedy": 0, "judge_only": 0, "greedy_only": 0})
            acc["rounds"] += r["gap_rounds"]
            acc["judge"] += round(r["judge_round_accuracy"] * r["gap_rounds"])
            acc["greedy"] += round(r["greedy_step_accuracy"] * r["gap_rounds"])
            acc["judge_only"] += r["gap_judge_only"]
            acc["greedy_only"] += r["gap_greedy_only"]
    return out


def _svg(only_s: int, only_g: int, n: int) -> tuple[str, str]:
    if not n:
        return "-", "-"
    return f"{_pts((only_s - only_g) / n)} ({only_s} / {only_g}, {n})", f"{mcnemar_exact(only_s, only_g):.3g}"


def accuracy_table(runs: list[dict]) -> list[str]:
    lines = ["| seed | benchmark | model | greedy [95 % CI] (n) | search minus greedy, points (only search / only greedy, n) "
             "| McNemar p |", "|---|---|---|---|---|---|"]
    rows = [(run["seed"], r["benchmark"], r["model"], r["greedy_correct"], r["greedy_problems"], r["svg_only_search"],
             r["svg_only_greedy"], r["svg_problems"]) for run in runs for r in run["stats"]]
    rows += [("pooled", p["benchmark"], p["model"], p["k"], p["n"], p["only_search"], p["only_greedy"], p["svg_n"])
             for p in pooled_accuracy(runs)] if len(runs) > 1 else []
    for seed, bench, model, k, n, s, g, sn in rows:
        lo, hi = wilson_interval(k or 0, n or 0)
        svg, p = _svg(s or 0, g or 0, sn or 0)
        lines.append(f"| {seed} | {bench} | {model} | {_pct(k / n if n else None)} [{_pct(lo)}, {_pct(hi)}] ({n}) | {svg} | {p} |")
    return lines


def gap_table(runs: list[dict]) -> list[str]:
    lines = ["| seed | model | judge on its own mixed rounds (n) | policy's greedy step there | gap, points [95 % CI] (p) "
             "| judge tokens / decision, calls / step |", "|---|---|---|---|---|---|"]
    for run in runs:
        seen = set()
        for r in run["stats"]:
            if r["gap_rounds"] and r["model"] not in seen:
                seen.add(r["model"])
                n, b, c = r["gap_rounds"], r["gap_judge_only"], r["gap_greedy_only"]
                lines.append(f"| {run['seed']} | {r['model']} | {_pct(r['judge_round_accuracy'])} ({n}) | "
                             f"{_pct(r['greedy_step_accuracy'])} | {_gap(b, c, n)} | "
                             f"{r['search_judge_tokens_per_decision']:.1f}, {r['search_judge_calls_per_step']:.2f} |")
    if len(runs) > 1:
        for model, g in pooled_gap(runs).items():
            n = g["rounds"]
            lines.append(f"| pooled | {model} | {_pct(g['judge'] / n)} ({n}) | {_pct(g['greedy'] / n)} | "
                         f"{_gap(g['judge_only'], g['greedy_only'], n)} | |")
    return lines


def _gap(b: int, c: int, n: int) -> str:
    lo, hi = paired_difference_interval(b, c, n)
    return f"{_pts((b - c) / n)} [{_pts(lo)}, {_pts(hi)}] ({mcnemar_exact(b, c):.2g})"


def goals(runs: list[dict]) -> list[str]:
    """The science preset's three measured goals on the pooled rows: met or not, and by how much."""
    out = []
    for model, g in pooled_gap(runs).items():
        n = g["rounds"]
        judge, gap = g["judge"] / n, (g["judge_only"] - g["greedy_only"]) / n
        lo, _ = paired_difference_interval(g["judge_only"], g["greedy_only"], n)
        out.append(f"- {model}: judge on its own mixed rounds >= {100 * JUDGE_GOAL:.0f} %: "
                   f"{'met' if judge >= JUDGE_GOAL else 'not met'} ({_pct(judge)}, {n} rounds).")
        out.append(f"- {model}: gap >= {_pts(GAP_GOAL)} points with its interval above 0: "
                   f"{'met' if gap >= GAP_GOAL and lo > 0 else 'not met'} ({_pts(gap)}, lower bound {_pts(lo)}).")
    for p in pooled_accuracy(runs):
        if p["svg_n"] and "frontier" in p["benchmark"]:
            s, g, n = p["only_search"], p["only_greedy"], p["svg_n"]
            pv = mcnemar_exact(s, g)
            out.append(f"- {p['model']}: test-time search beats greedy on {p['benchmark']} with p < {SEARCH_P}: "
                       f"{'met' if s > g and pv < SEARCH_P else 'not met'} ({_pts((s - g) / n)} points, p = {pv:.2g}).")
    return out


def section(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    runs = data["runs"]
    seeds = ", ".join(str(r["seed"]) for r in runs)
    presets = ", ".join(sorted({str(r["preset"]) for r in runs}))
    lines = [f"#### {data['title']} ({presets}; {data['split']} split; seeds {seeds}; `{path.relative_to(ROOT)}`)", ""]
    lines += accuracy_table(runs) + [""]
    if any(r["gap_rounds"] for run in runs for r in run["stats"]):
        lines += gap_table(runs) + ["", "Goals, pooled over the seeds:", ""] + goals(runs) + [""]
    return lines


def render() -> str:
    """The generated block, markers included."""
    body = [f"{BEGIN}: made by `python bench/results.py readme` from bench/results/*.json; edit those, not this -->", ""]
    for path in sorted(RESULTS.glob("*.json")):
        body += section(path)
    return "\n".join(body + [END])


def readme_with(text: str, block: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit(f"bench/results.py: {README} has no '{BEGIN} ... {END}' block to fill")
    return text[:start] + block + text[end + len(END):]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="bench/results/NAME.json from runs' reports")
    c.add_argument("name")
    c.add_argument("runs", nargs="+")
    c.add_argument("--title", required=True)
    c.add_argument("--split", default="test", choices=["test", "validation"])
    c.add_argument("--models", nargs="+", metavar="MODEL", help="keep these models' rows only (e.g. M1)")
    r = sub.add_parser("readme", help="fill README.md's results block from bench/results/")
    r.add_argument("--check", action="store_true", help="exit 1 when README.md's block differs from the files")
    args = ap.parse_args()
    if args.cmd == "collect":
        print(collect(args.name, args.runs, args.title, args.split, args.models))
        return
    text = README.read_text()
    new = readme_with(text, render())
    if args.check:
        sys.exit(0 if new == text else "bench/results.py: README.md's results block is stale; run `python bench/results.py readme`")
    README.write_text(new)
    print(f"wrote {README}")


if __name__ == "__main__":
    main()

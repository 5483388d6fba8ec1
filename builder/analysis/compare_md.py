"""The side-by-side report (builder.analysis.compare) as Markdown, with one accuracy plot."""

from __future__ import annotations

from pathlib import Path

from builder.analysis.markdown import table

LOOP_KEYS = ("problems", "pairs", "pairs_per_problem", "pairs_checkable", "right_over_wrong_share",
             "judge_calls_per_problem", "gen_tokens_per_problem", "judge_tokens_per_problem",
             "search_wall_seconds", "train_wall_seconds")


def accuracy_plot(report: dict, path: Path) -> Path | None:
    """Held-out accuracy of M(N) per iteration, one line per run (and benchmark/mode), Wilson bars."""
    from builder.analysis.plots import _pyplot, _save, accuracy_axes

    series = {}
    for r in report["accuracy"]:
        series.setdefault((r["run"], r["benchmark"], r["mode"]), []).append(r)
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    several = len({(b, m) for _, b, m in series}) > 1
    for (run, bench, mode), pts in sorted(series.items()):
        pts.sort(key=lambda r: r["iteration"])
        xs, ys = [r["iteration"] for r in pts], [r["accuracy"] for r in pts]
        err = [[y - r["ci_low"] for y, r in zip(ys, pts)], [r["ci_high"] - y for y, r in zip(ys, pts)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=f"{run} ({bench}, {mode})" if several else run)
    accuracy_axes(ax, "Accuracy per iteration")
    return _save(fig, path)


def _acc(r: dict) -> str:
    return f"{r['accuracy']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] ({r['correct']}/{r['problems']})"


def accuracy_lines(report: dict) -> list[str]:
    runs = [r["name"] for r in report["runs"]]
    by_key = {(r["benchmark"], r["mode"], r["iteration"], r["run"]): r for r in report["accuracy"]}
    keys = sorted({k[:3] for k in by_key})
    if not keys:
        return ["no held-out evaluation in these runs (psr eval)"]
    body = [[b, m, f"M{i}"] + [_acc(by_key[(b, m, i, run)]) if (b, m, i, run) in by_key else "-" for run in runs]
            for b, m, i in keys]
    return table(["benchmark", "mode", "model"] + runs, body)


def paired_lines(report: dict) -> list[str]:
    if not report["paired"]:
        return ["no model evaluated by two runs on the same benchmark and mode"]
    cols = ["run_b", "benchmark", "mode", "iteration", "problems", "accuracy_a", "accuracy_b", "difference",
            "only_a", "only_b", "p_value"]
    return table(["run", "benchmark", "mode", "model", "problems", "acc ref", "acc run", "difference (run - ref)",
                  "only ref right", "only run right", "McNemar exact p"],
                 [[r[c] if c != "iteration" else f"M{r[c]}" for c in cols] for r in report["paired"]])


def loop_lines(report: dict) -> list[str]:
    if not report["loop"]:
        return ["no search data in these runs"]
    heads = [f"{r['run']} iter {r['iteration']}" for r in report["loop"]]
    return table(["figure"] + heads, [[k] + [r[k] for r in report["loop"]] for k in LOOP_KEYS])


def render_markdown(report: dict, out_dir: Path) -> str:
    plot = accuracy_plot(report, out_dir / "plots" / "accuracy.png")
    stale = out_dir / "plots" / "accuracy.png"
    if plot is None and stale.exists():
        stale.unlink()
    ref = report["runs"][0]["name"]
    runs_table = table(["run", "directory", "strategy", "judge template", "M1"],
                       [[r["name"], r["run"], r["strategy"], r["judge"], r["M1"]] for r in report["runs"]])
    lines = [f"# Runs side by side: {', '.join(r['name'] for r in report['runs'])}", "", *runs_table]
    lines += ["", f"Reference run: `{ref}`. Model M(N) is the model iteration N starts from (M(N+1) is",
              "trained on iteration N's pairs); `psr report --compare --format json` gives the same figures.", "",
              "## Plot", "", f"![Accuracy per iteration]({plot.relative_to(out_dir).as_posix()})" if plot
              else "Accuracy per iteration: no data", "",
              "## Held-out accuracy per model (95 % Wilson interval)", "", *accuracy_lines(report), "",
              f"Query: `{report['queries']['accuracy']}`", "",
              f"## Paired difference against `{ref}` (same problems, exact McNemar)", "", *paired_lines(report), "",
              f"From: {report['queries']['paired']}", "",
              "## The loop per iteration (per problem searched)", "", *loop_lines(report), "",
              f"Query: `{report['queries']['loop']}`; wall times from the iteration's manifest (search) and "
              "trainer/iteration=N/trained.json (training).", ""]
    return "\n".join(lines)

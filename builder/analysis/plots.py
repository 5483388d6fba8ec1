"""The report's PNG plots (matplotlib, Agg backend): accuracy, judge consistency and step length per
iteration. Each function takes the report dict and returns the written path, or None when its
sections have no data.
"""

from __future__ import annotations

from pathlib import Path

CONSISTENCY_SERIES = (
    ("judge_consistency", "swap_consistency", "swap consistency"),
    ("judge_consistency", "first_position_rate", "first-position win rate"),
    ("judge_consistency", "unparseable_rate", "unparseable rate"),
    ("judge_consistency", "all_tie_rate", "all-tie (rollback) rate"),
    ("judge_consistency", "intransitive_rate", "intransitive triad rate"),
    ("judge_truth", "judge_accuracy", "judge accuracy (correct vs incorrect step)"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in threads and on servers
    import matplotlib.pyplot as plt

    return plt


def _series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["iteration"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # No timestamp metadata: the same report gives the same bytes.
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    _pyplot().close(fig)
    return path


def _line_plot(lines: list[tuple[str, list[int], list[float]]], title: str, ylabel: str, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, xs, ys in lines:
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xlabel("iteration (model M(N))")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def accuracy_plot(report: dict, path: Path) -> Path | None:
    s = report["sections"]
    lines = []
    xs, ys = _series(s["outcome"], "accuracy")
    if xs:
        lines.append(("search: accepted path vs gold", xs, ys))
    for bench, mode in sorted({(r["benchmark"], r["mode"]) for r in s["evals"]}):
        rows = [r for r in s["evals"] if r["benchmark"] == bench and r["mode"] == mode]
        lines.append((f"eval {bench} ({mode})", *_series(rows, "accuracy")))
    return _line_plot(lines, "Accuracy per iteration", "accuracy", path) if lines else None


def consistency_plot(report: dict, path: Path) -> Path | None:
    s = report["sections"]
    lines = [(label, *_series(s[section], key)) for section, key, label in CONSISTENCY_SERIES]
    for source, verdict in sorted({(str(r["pairs_source"]), str(r.get("verdict") or "parse"))
                                   for r in s.get("judge_eval", [])}):
        rows = [r for r in s["judge_eval"]
                if str(r["pairs_source"]) == source and str(r.get("verdict") or "parse") == verdict]
        lines.append((f"judge accuracy on {source}, {verdict} (eval-judge)", *_series(rows, "accuracy")))
    lines = [line for line in lines if line[1]]
    return _line_plot(lines, "Judge consistency per iteration", "rate", path) if lines else None


def step_length_plot(report: dict, path: Path) -> Path | None:
    """Box per iteration from the drift quantiles (whiskers p10/p90), plus steps per solution."""
    rows = [r for r in report["sections"]["drift"] if r.get("step_tokens_p50") is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
    stats = [{"label": str(r["iteration"]), "whislo": r["step_tokens_p10"], "q1": r["step_tokens_p25"],
              "med": r["step_tokens_p50"], "q3": r["step_tokens_p75"], "whishi": r["step_tokens_p90"],
              "mean": r["step_tokens_mean"], "fliers": []} for r in rows]
    ax1.bxp(stats, showmeans=True)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("tokens per accepted step")
    ax1.set_title("Step length (p10-p90 whiskers, mean marked)")
    xs, ys = _series(report["sections"]["drift"], "steps_mean")
    ax2.plot(xs, ys, marker="o")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("steps per solution (mean)")
    ax2.set_title("Steps per solution")
    ax2.xaxis.get_major_locator().set_params(integer=True)
    ax2.grid(alpha=0.3)
    return _save(fig, path)


def interval_plot(report: dict, path: Path) -> Path | None:
    """Held-out accuracy per model with its 95 % Wilson interval as error bars, greedy and search."""
    rows = report["sections"].get("statistics", [])
    series = []
    for bench in sorted({r["benchmark"] for r in rows}):
        for mode, shift in (("greedy", -0.06), ("search", 0.06)):
            pts = [r for r in rows if r["benchmark"] == bench and r[f"{mode}_accuracy"] is not None]
            if pts:
                series.append((f"{bench} ({mode})", shift, pts, mode))
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, shift, pts, mode in series:
        xs = [r["iteration"] + shift for r in pts]  # side by side, not on top of each other
        ys = [r[f"{mode}_accuracy"] for r in pts]
        err = [[y - r[f"{mode}_ci_low"] for y, r in zip(ys, pts)], [r[f"{mode}_ci_high"] - y for y, r in zip(ys, pts)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=4, label=label)
    accuracy_axes(ax, "Accuracy per model")
    return _save(fig, path)


def accuracy_axes(ax, title: str) -> None:
    """Axes of an accuracy-per-model plot with Wilson interval bars (the report's and --compare's)."""
    ax.set_xlabel("model M(N)")
    ax.set_ylabel("held-out accuracy (95 % Wilson interval)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def calibration_plot(report: dict, path: Path) -> Path | None:
    """Reliability diagram of P(A) (verdict_calibration): one line per iteration, the diagonal is calibrated."""
    rows = report["sections"].get("verdict_calibration") or []
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for it in sorted({r["iteration"] for r in rows}):
        mine = [r for r in rows if r["iteration"] == it]
        ax.plot([r["mean_p_a"] for r in mine], [r["a_correct_rate"] for r in mine], marker="o", label=f"M{it}")
    ax.set_xlabel("mean P(A) in bin")
    ax.set_ylabel("share where A is the correct step")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Calibration of P(A) against step correctness")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


PLOTS = (
    ("accuracy_intervals", interval_plot, "Held-out accuracy per model with 95 % intervals"),
    ("accuracy", accuracy_plot, "Accuracy vs iteration"),
    ("judge_consistency", consistency_plot, "Judge consistency vs iteration"),
    ("step_length", step_length_plot, "Step length distribution per iteration"),
    ("verdict_calibration", calibration_plot, "Calibration of P(A) (reliability diagram)"),
)


def write_plots(report: dict, plot_dir: Path) -> dict[str, Path | None]:
    return {name: fn(report, plot_dir / f"{name}.png") for name, fn, _ in PLOTS}

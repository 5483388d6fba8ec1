"""One progress helper for long commands: a rich live display on stderr, or nothing.

`SearchProgress` shows problems done, the current chunk and round, generated and judge tokens
per second, judge calls per second and the ETA. It is off with --quiet or when stderr is not a
terminal; commands then print only their one summary line.
"""

from __future__ import annotations

import sys
import time


def live_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


class SearchProgress:
    """Implements the run_search progress interface (on_round, on_tokens, on_trees_done)."""

    def __init__(self, total_problems: int, enabled: bool):
        self.total, self.enabled = total_problems, enabled
        self.done = self.gen_tokens = self.judge_tokens = self.judge_calls = 0
        self.chunk, self.round, self.active, self.chunks_done = "-", 0, 0, 0
        self.started = time.perf_counter()
        self._progress = self._task = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("problems"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("search", total=self.total, info="")
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def start_chunk(self, chunk: int) -> None:
        if self.chunk == "-":  # rates count from the first chunk, not from model loading
            self.started = time.perf_counter()
        self.chunk = chunk
        self._refresh()

    def on_round(self, round_: int, active: int) -> None:
        self.round, self.active = round_, active
        self._refresh()

    def on_tokens(self, gen_tokens: int = 0, judge_tokens: int = 0, judge_calls: int = 0) -> None:
        self.gen_tokens += gen_tokens
        self.judge_tokens += judge_tokens
        self.judge_calls += judge_calls
        self._refresh()

    def on_trees_done(self, n: int) -> None:
        self.done += n
        self._refresh()

    def chunk_done(self, chunk: int, marker: dict, n_problems: int) -> None:
        """A chunk finished on a remote worker (Ray): its marker's totals, summed over workers."""
        st = marker.get("stats", {})
        self.chunks_done += 1
        self.chunk = f"{chunk} ({self.chunks_done} done)"
        self.on_tokens(st.get("gen_tokens", 0), st.get("judge_tokens", 0), st.get("judge_calls", 0))
        self.on_trees_done(n_problems)

    def skip(self, n: int) -> None:
        """Problems of chunks already complete (or of other shards): out of the total, so the ETA holds."""
        self.total -= n
        if self._progress is not None:
            self._progress.update(self._task, total=self.total)

    def rates(self) -> dict:
        dt = max(time.perf_counter() - self.started, 1e-9)
        return {"gen_tok_s": self.gen_tokens / dt, "judge_tok_s": self.judge_tokens / dt,
                "judge_calls_s": self.judge_calls / dt}

    def _refresh(self) -> None:
        if self._progress is None:
            return
        r = self.rates()
        info = (f"chunk {self.chunk} round {self.round} ({self.active} active) | gen {r['gen_tok_s']:.0f} tok/s | "
                f"judge {r['judge_tok_s']:.0f} tok/s, {r['judge_calls_s']:.1f} calls/s")
        self._progress.update(self._task, completed=self.done, info=info)

"""Judge schedules: which ordered pairs of a round's distinct candidates to judge, stage by stage,
and which candidate is best and which worst at the end (or "undecided", the rollback trigger).

Pure and engine-free: a schedule is built for d candidates (indices 0..d-1 in sampling order),
`next_calls()` returns the calls of the next stage - (index shown as A, index shown as B, swapped)
- or [] when it is done, `add(calls, verdicts)` feeds the verdicts ("A", "B" or None) of those
calls back, and `decision()` names best and worst. The search asks every tree's stage in ONE
batched engine call (builder/search/driver.py), so a schedule's stages are engine calls per round.

- `round_robin` (the paper's): one stage, every unordered pair (judging.plan_pairs: both orders,
  or one seeded coin order with `judge_orders: one`). best = most wins, worst = fewest, ties to the
  lowest index. Undecided: every candidate has the same wins (the all-tie).
- `knockout` (Pohl 1972): stage 1 pairs candidates (0,1), (2,3), ...; winners go to a winners'
  bracket (for the best), losers to a losers' bracket (for the worst); with odd d the last
  candidate has a bye into both. Each later stage plays adjacent pairs of both brackets at once (an
  odd one out waits) until each bracket holds one candidate: ceil(3d/2) - 2 matches in
  ceil(log2 d) stages. A match is judged in both orders (one seeded coin order with `judge_orders: one`).
- `adaptive`: the knockout, but only the two *finals* (the match that names the best, and the one
  that names the worst) are judged in both orders; every other match once, A/B by the seeded coin.
  Early matches only sort candidates into brackets; the finals name the steps that become the
  accepted step and the pair, so they get the swap check.
Matches (knockout and adaptive): the side with more wins in the match's calls wins it (the winner
stays in the winners' bracket, the loser in the losers' bracket). A *split*
match (equal wins: the orders disagree, or no parseable verdict) is decided by the rule: more wins
in the round so far, then the lower candidate index (the round robin's tie-break). Judges run at
`judge_temperature` (0 by default), so replaying a split match would return the same outputs.
Undecided (knockout and adaptive): no parseable verdict, or every parseable verdict names the
same position (`one_sided`: a judge that always says [[A]] expressed no preference; with both
orders it splits every match, and adaptive's one-order matches would otherwise crown whoever the
coin showed as A); or, with odd d and an intransitive judge, the bye candidate ends up both best
and worst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.search import judging

NAMES = ("round_robin", "knockout", "adaptive")

Call = tuple[int, int, bool]  # (index shown as A, index shown as B, swapped)


@dataclass(slots=True, frozen=True)
class Decision:
    best: int | None  # None: undecided
    worst: int | None

    @property
    def undecided(self) -> bool:
        return self.best is None


UNDECIDED = Decision(None, None)


def match_calls(i: int, j: int, both: bool, flip=None) -> list[Call]:
    """One match between candidate indices i < j: both orders, or one (j shown as A when flip(i, j))."""
    if both:
        return [(i, j, False), (j, i, True)]
    if flip is not None and flip(i, j):
        return [(j, i, True)]
    return [(i, j, False)]


@dataclass(slots=True)
class Schedule:
    """What every schedule shares: the calls asked so far and their verdicts."""

    n: int
    calls: list[Call] = field(default_factory=list)
    verdicts: list[str | None] = field(default_factory=list)
    stages: int = 0

    def add(self, calls: list[Call], verdicts: list[str | None]) -> None:
        if len(calls) != len(verdicts):
            raise ValueError(f"{len(verdicts)} verdicts for {len(calls)} calls")
        self.calls += calls
        self.verdicts += verdicts
        self.stages += 1

    def wins(self) -> list[int]:
        return judging.scores(self.n, self.calls, self.verdicts)


@dataclass(slots=True)
class RoundRobin(Schedule):
    orders: str = "both"
    flip: object = None

    def next_calls(self) -> list[Call]:
        return [] if self.stages else judging.plan_pairs(self.n, self.orders, self.flip)

    def decision(self) -> Decision:
        wins = self.wins()
        if judging.all_tie(wins):
            return UNDECIDED
        return Decision(judging.best_index(wins), judging.worst_index(wins))


@dataclass(slots=True)
class Knockout(Schedule):
    """Winners' and losers' brackets sharing the first matches; `finals_only` makes it adaptive."""

    both: bool = True  # every match in both orders (knockout with judge_orders both)
    finals_only: bool = False  # adaptive: only the finals in both orders
    flip: object = None
    winners: list[int] = field(default_factory=list)
    losers: list[int] = field(default_factory=list)
    playing: list[tuple] = field(default_factory=list)  # this stage: (bracket, i, j, calls, final)
    split_finals: set = field(default_factory=set)  # "W"/"L" whose final split

    def next_calls(self) -> list[Call]:
        if not self.stages:  # the first matches feed both brackets
            matches = [("F", k, k + 1, self.n == 2) for k in range(0, self.n - 1, 2)]
        else:
            matches = []
            for bracket, pool in (("W", self.winners), ("L", self.losers)):
                for a, b in zip(pool[0::2], pool[1::2]):
                    matches.append((bracket, min(a, b), max(a, b), len(pool) == 2))
        self.playing, out = [], []
        for bracket, i, j, final in matches:
            calls = match_calls(i, j, self._both(final), self.flip)
            self.playing.append((bracket, i, j, len(calls), final))
            out += calls
        return out

    def _both(self, final: bool) -> bool:
        """Whether a match is judged in both orders: knockout per judge_orders, adaptive at finals."""
        return final if self.finals_only else self.both

    def add(self, calls: list[Call], verdicts: list[str | None]) -> None:
        at = len(self.calls)
        Schedule.add(self, calls, verdicts)
        won = self.wins()
        results = []
        for bracket, i, j, k, final in self.playing:
            winner, split = self._match(i, j, self.verdicts[at:at + k], self.calls[at:at + k], won)
            at += k
            if final and split:
                self.split_finals |= {"W", "L"} if bracket == "F" else {bracket}
            results.append((bracket, i, j, winner))
        if self.stages == 1:
            self.winners = [w for _, i, j, w in results]
            self.losers = [i + j - w for _, i, j, w in results]
            if self.n % 2:  # the bye: the last candidate enters both brackets
                self.winners.append(self.n - 1)
                self.losers.append(self.n - 1)
            return
        for bracket, i, j, winner in results:  # the other side leaves the bracket
            if bracket == "W":
                self.winners.remove(i + j - winner)
            else:
                self.losers.remove(winner)

    @staticmethod
    def _match(i: int, j: int, verdicts, calls, round_wins) -> tuple[int, bool]:
        """(winner, split): more wins in the match; split -> more round wins, then the lower index."""
        score = {i: 0, j: 0}
        for (a, b, _), v in zip(calls, verdicts):
            if v == "A":
                score[a] += 1
            elif v == "B":
                score[b] += 1
        if score[i] != score[j]:
            return (i if score[i] > score[j] else j), False
        return (j if round_wins[j] > round_wins[i] else i), True

    def decision(self) -> Decision:
        if len(self.winners) != 1 or len(self.losers) != 1:
            raise RuntimeError("knockout decision asked before both brackets are done")
        if one_sided(self.verdicts) or self.winners[0] == self.losers[0]:
            return UNDECIDED
        return Decision(self.winners[0], self.losers[0])


def one_sided(verdicts: list[str | None]) -> bool:
    """No parseable verdict, or every parseable verdict names the same position: a judge that
    answers by position alone has expressed no preference between the candidates."""
    return len({v for v in verdicts if v is not None}) < 2


def make(name: str, n: int, orders: str = "both", flip=None) -> Schedule:
    """A fresh schedule for a round of n >= 2 distinct candidates; `flip(i, j)` is the seeded coin
    (judging.coin_flip) that decides A/B wherever a pair is judged in one order."""
    if n < 2:
        raise ValueError("a schedule needs two or more candidates")
    if name == "round_robin":
        return RoundRobin(n, orders=orders, flip=flip)
    if name == "knockout":
        return Knockout(n, both=orders == "both", flip=flip)
    if name == "adaptive":
        return Knockout(n, both=False, finals_only=True, flip=flip)
    raise ValueError(f"judge_schedule must be one of {', '.join(NAMES)}, got {name!r}")


def run(schedule: Schedule, judge) -> tuple[Decision, int]:
    """Drive a schedule with `judge(a, b) -> "A" | "B" | None` (a shown as A): (decision, calls).
    For benches and tests; the search batches stages across trees instead."""
    while calls := schedule.next_calls():
        schedule.add(calls, [judge(a, b) for a, b, _ in calls])
    return schedule.decision(), len(schedule.calls)

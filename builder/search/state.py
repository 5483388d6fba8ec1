"""The records of a search: nodes, judgments and trees, as slotted dataclasses.

A tree owns its nodes (creation order = node id order) and its judgment rows; `to_row` methods
give exactly the columns of schemas/nodes.yaml, judgments.yaml and trees.yaml (plus `iteration`,
which the store adds). Ids: tree_id = "<iteration>-<problem_id>", node_id = "<tree_id>/<k>" with k
counting nodes in creation order (0 = the root), judgment_id = "<tree_id>/j<k>".
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIVE, FINISHED, MAX_STEPS, ABANDONED = "active", "finished", "max_steps", "abandoned"


@dataclass(slots=True)
class Node:
    node_id: str
    parent: "Node | None"
    depth: int
    round: int
    candidate_index: int | None
    text: str = ""
    is_terminal: bool = False
    on_path: bool = False
    wins: int | None = None  # a duplicate carries its representative's; null when never judged
    games: int = 0  # judgments this node (or its representative) took part in (for its win rate)
    duplicate_of: "Node | None" = None  # first sample of the round with the same normalized body
    judged: bool = False  # one of the round's distinct candidates that went to the judge
    selection: str | None = None  # "best" / "worst" as the judge schedule named them (decided rounds)
    finish_reason: str | None = None
    n_tokens: int = 0
    logprob: float | None = None
    step_correct: bool | None = None
    is_greedy: bool = False  # search.greedy_candidate: this candidate is the greedy step at its prefix
    # The policy's greedy next step after this node (search.greedy_steps): one engine call per parent,
    # reused by every later round that samples from it (rollbacks re-sample the same prefix).
    greedy: "object | None" = None  # builder.engines.base.Completion, as generated
    greedy_step: str | None = None
    greedy_step_correct: bool | None = None
    children: list["Node"] = field(default_factory=list)
    # MCTS only: visits, the prior (judged win rate share among siblings), the leaf evaluation
    # (blend of rollout agreement and win rate), the rollout agreement, and backed-up values.
    visits: int | None = None
    prior: float | None = None
    evaluation: float | None = None
    rollout_score: float | None = None
    backed_sum: float = 0.0
    ended: int = 0  # simulations that ended at this node (its expansion)
    exhausted: bool = False  # MCTS: nothing left to expand below (terminal, depth limit, or all children so)
    # solution strategy only: the mean in-range self-score and the steps of a complete solution.
    score: float | None = None
    n_steps: int | None = None

    @property
    def win_rate(self) -> float:
        """Wins over judgments taken part in; 0.5 for a node nobody judged (width 1)."""
        return self.wins / self.games if self.games else 0.5

    @property
    def value(self) -> float | None:
        """MCTS value: mean of the leaf evaluation and every backed-up value (the root has none).

        Null outside MCTS and for children MCTS never evaluated (duplicates, unjudged extras)."""
        if self.visits is None:
            return None
        if self.parent is None:
            return self.backed_sum / self.visits if self.visits else 0.0
        if self.evaluation is None:
            return None
        return (self.evaluation + self.backed_sum) / (1 + self.visits)

    def path_texts(self) -> list[str]:
        """Step texts from the root's first child down to this node (the prefix it ends)."""
        out, node = [], self
        while node.parent is not None:
            out.append(node.text)
            node = node.parent
        return out[::-1]

    def to_row(self, tree_id: str) -> dict:
        return {
            "tree_id": tree_id, "node_id": self.node_id,
            "parent_id": self.parent.node_id if self.parent else None,
            "depth": self.depth, "round": self.round, "candidate_index": self.candidate_index,
            "text": self.text, "is_terminal": self.is_terminal, "on_path": self.on_path,
            "wins": self.wins, "visits": self.visits, "value": self.value,
            "finish_reason": self.finish_reason, "n_tokens": self.n_tokens, "logprob": self.logprob,
            "step_correct": self.step_correct,
            "duplicate_of": self.duplicate_of.node_id if self.duplicate_of is not None else None,
            "judged": self.judged, "rollout_score": self.rollout_score,
            "score": self.score, "n_steps": self.n_steps, "selection": self.selection,
            "is_greedy": self.is_greedy, "greedy_step": self.greedy_step, "greedy_step_correct": self.greedy_step_correct,
        }


@dataclass(slots=True)
class SampledRound:
    """What one sampling round of a tree did, for the stats (driver.SearchStats.count_tree)."""
    samples: int
    distinct: int  # distinct step bodies among the samples
    judged: int  # candidates sent to the judge (0 when fewer than two distinct)
    all_tie: bool = False  # the judged candidates all got the same wins


@dataclass(slots=True)
class Judgment:
    judgment_id: str
    parent_id: str
    round: int
    node_a: str
    node_b: str | None  # None for a solution score (one node scored, nothing compared)
    swapped: bool  # node_a was sampled after node_b (higher candidate_index)
    verdict: str | None
    raw: str
    n_tokens: int
    score: float | None = None  # solution strategy: the parsed points
    stage: int = 1  # the judge schedule's stage (1-based) within the round that asked this call
    source: str | None = None  # builder.verdicts.SOURCES
    p_a: float | None = None

    @property
    def winner(self) -> str | None:
        if self.verdict == "A":
            return self.node_a
        return self.node_b if self.verdict == "B" else None

    def to_row(self, tree_id: str) -> dict:
        return {
            "judgment_id": self.judgment_id, "tree_id": tree_id, "parent_id": self.parent_id,
            "round": self.round, "node_a": self.node_a, "node_b": self.node_b, "swapped": self.swapped,
            "verdict": self.verdict, "verdict_source": self.source, "p_a": self.p_a, "winner": self.winner,
            "raw": self.raw, "n_tokens": self.n_tokens, "score": self.score, "stage": self.stage,
        }


@dataclass(slots=True)
class Tree:
    tree_id: str
    problem_id: str
    problem: str
    answer: str | None
    strategy: str
    chunk: int = 0
    judge_schedule: str | None = "round_robin"  # None: the solution strategy (no pairwise judging)
    status: str = ACTIVE
    nodes: list[Node] = field(default_factory=list)
    judgments: list[Judgment] = field(default_factory=list)
    path: list[Node] = field(default_factory=list)  # accepted steps, root excluded
    n_rollbacks: int = 0
    rollbacks_at: dict = field(default_factory=dict)  # step (depth) -> all-tie rollbacks charged to it
    n_rounds: int = 0
    judge_calls: int = 0
    gen_tokens: int = 0
    judge_tokens: int = 0
    correct: bool | None = None
    sampled: list[SampledRound] = field(default_factory=list)  # one per sampling round
    # Per-round scratch: the distinct candidates being judged and the judge calls planned for them.
    pending: list[Node] = field(default_factory=list)
    pending_pairs: list[tuple[int, int, bool]] = field(default_factory=list)  # every call of the round so far
    stage_calls: list[tuple[int, int, bool]] = field(default_factory=list)  # the calls of the current stage
    schedule: object = None  # builder.search.schedules.Schedule of the round being judged
    sim_path: list[Node] = field(default_factory=list)  # MCTS: nodes visited by this simulation
    answers: list[str] = field(default_factory=list)  # MCTS: final answers of every rollout so far

    def __post_init__(self):
        if not self.nodes:
            self.nodes.append(Node(f"{self.tree_id}/0", None, 0, 0, None, on_path=True))

    @property
    def root(self) -> Node:
        return self.nodes[0]

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def add_node(self, parent: Node, round_: int, index: int) -> Node:
        node = Node(f"{self.tree_id}/{len(self.nodes)}", parent, parent.depth + 1, round_, index)
        self.nodes.append(node)
        parent.children.append(node)
        return node

    def next_judgment_id(self) -> str:
        return f"{self.tree_id}/j{len(self.judgments)}"

    @property
    def final_answer(self) -> str | None:
        from builder.steps import extract_boxed

        return extract_boxed(self.path[-1].text) if self.path else None

    @property
    def n_steps(self) -> int:
        """Steps on the accepted path; a complete solution (strategy solution) counts its own steps."""
        return sum(1 if n.n_steps is None else n.n_steps for n in self.path)

    def to_row(self) -> dict:
        return {
            "tree_id": self.tree_id, "problem_id": self.problem_id, "strategy": self.strategy,
            "status": self.status, "n_steps": self.n_steps, "n_rollbacks": self.n_rollbacks,
            "n_rounds": self.n_rounds, "final_answer": self.final_answer, "correct": self.correct,
            "judge_calls": self.judge_calls, "gen_tokens": self.gen_tokens,
            "judge_tokens": self.judge_tokens, "chunk": self.chunk,
            "judge_schedule": self.judge_schedule,
        }


def tree_id(iteration: int, problem_id: str) -> str:
    return f"{iteration}-{problem_id}"

"""Step pairs of a sealed iteration: the judge's (the loop's training data) and the step checker's
(the oracle ablation), through the same quality gates.

    build.py    `build_pairs(run, iteration, force, label)`: the one entry point of `psr pairs`
    judge.py    best vs worst step of each judged round, as the model's own judge named them
    checker.py  a correct vs a wrong candidate of each round, as the task's step checker labels them
    gates.py    the gates, in order, and how their counts read
    rows.py     what both share: rounds, the accepted path, the judge's margin, the pairs row
"""

from builder.pairs.build import JUDGE_PART, PairsReport, build_pairs, pairs_step, remove_part
from builder.pairs.gates import GATES, gate, gates_text, no_pairs_hint
from builder.pairs.judge import candidate_pairs, extract_pairs, head_to_head, judge_ranks, ranked_pairs
from builder.pairs.rows import path_texts, rounds_of

__all__ = [
    "build_pairs", "pairs_step", "judge_ranks", "ranked_pairs", "PairsReport", "JUDGE_PART", "remove_part", "GATES", "gate", "gates_text", "no_pairs_hint",
    "candidate_pairs", "extract_pairs", "head_to_head", "path_texts", "rounds_of",
]

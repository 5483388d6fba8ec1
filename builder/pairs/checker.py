"""Oracle-labelled step pairs (`psr pairs --label checker`): the task's step checker as the labeller.

An ablation, never training data of the loop: it answers "is my judge or my trainer holding the
loop back?". With a perfect judge, would one iteration of step-DPO improve M(N)? The pairs come
from the same sealed rounds as the judge's pairs, with the same prompt, EOS policy and gates:

- every round (the candidates sampled together for one parent) holding a correct and a wrong
  candidate gives one pair, rolled-back rounds included (their prefix is the accepted path too);
- chosen: the accepted step when it is correct, else the first correct candidate by index;
  rejected: the first wrong candidate by index;
- with pairs.per_round ranked, the oracle of the judge's ranked pairs: every distinct correct step
  over every distinct wrong one of the round (pair ids name both candidates; ranks stay null);
- the judge's own gates (margin, head_to_head) are skipped: they threshold the judge's verdicts,
  which must not filter an oracle; `margin` still records the judge's score difference (negative
  where the judge preferred the wrong step).

They go to part-checker.parquet beside the judge's part-pairs.parquet, with label_source =
'checker'; the manifest's derived.pairs.checker holds their gate counts. The default export reads
judge pairs only; `psr export/config/train/eval --label checker` make and measure M(N+1)-checker.
"""

from __future__ import annotations

from builder.errors import InputError
from builder.pairs.gates import GATES, gate
from builder.pairs.rows import judge_margin, pair_row, path_texts, rounds_of
from builder.store.model_ref import CHECKER

CHECKER_PART = "checker"
ORACLE_NOTE = ("oracle-labelled: chosen/rejected decided by the task's step checker, not the model's judge; "
               "an ablation, never in the default export")


def step_checker(run, problems: list[dict]):
    """The checker generation used for these problems; exit 2 naming the task when it cannot check steps."""
    from builder.search.context import make_checker

    checker = make_checker(run, problems)
    sources = sorted({p["source"] for p in problems})
    name = sources[0][5:] if len(sources) == 1 and sources[0].startswith("task:") else None
    probe = problems[0]["problem"] if problems else ""
    if name is None or checker.check_step(probe, [], "Step 1: 0\n") is None:
        what = f"task '{name}'" if name else f"problems from {', '.join(sources) or 'nowhere'} (not one task)"
        raise InputError(f"psr pairs --label checker: {what} has no step checker, so there is nothing to label "
                         "pairs with; checker pairs need a task whose check_step judges single steps (e.g. arithmetic)")
    return checker


def checker_candidates(nodes: list[dict], label_of, per_round: str = "best_worst") -> tuple[list[tuple[dict, dict]], dict]:
    """(chosen, rejected) per round with a correct and a wrong candidate; counts of the other rounds.

    `label_of(node)` is True/False/None (unknown); unknown candidates take no part. `per_round`
    ranked: every distinct correct x every distinct wrong step (the first sample of each text).
    """
    rounds = rounds_of(nodes)
    out: list[tuple[dict, dict]] = []
    counts = {"rounds": len(rounds), "all_correct": 0, "all_wrong": 0, "single": 0, "unlabelled": 0}
    for group in rounds:
        labels = [label_of(n) for n in group]
        right = [n for n, ok in zip(group, labels) if ok is True]
        wrong = [n for n, ok in zip(group, labels) if ok is False]
        if len(group) < 2:
            counts["single"] += 1
        elif right and wrong and per_round == "ranked":
            out.extend((c, r) for c in _distinct(right) for r in _distinct(wrong))
        elif right and wrong:
            accepted = next((n for n in right if n["on_path"]), None)
            out.append((accepted or right[0], wrong[0]))
        elif not right and not wrong:
            counts["unlabelled"] += 1
        else:
            counts["all_correct" if right else "all_wrong"] += 1
    return out, counts


def _distinct(group: list[dict]) -> list[dict]:
    """The first candidate of each text: duplicate samples would repeat a pair."""
    first: dict[str, dict] = {}
    for n in group:
        first.setdefault(n["text"], n)
    return list(first.values())


def extract_checker_pairs(trees, nodes, problems: dict[str, str], prompt_for, cfg, iteration: int,
                          check_step) -> tuple[list[dict], dict]:
    """Checker pair rows and gate counts; `check_step(problem, prefix, step)` labels each candidate."""
    by_id = {n["node_id"]: n for n in nodes}
    tree_of = {t["tree_id"]: t for t in trees}

    def label_of(node):
        tree = tree_of[node["tree_id"]]
        return check_step(problems[tree["problem_id"]], path_texts(by_id, node["parent_id"]), node["text"])

    candidates, rounds = checker_candidates(nodes, label_of, cfg.per_round)
    no_margin = cfg.model_copy(update={"min_margin": 0.0})  # the judge's margin must not filter an oracle
    rows, dropped = [], dict.fromkeys(GATES, 0)
    for chosen, rejected in candidates:
        tree = tree_of[chosen["tree_id"]]
        prefix = path_texts(by_id, chosen["parent_id"])
        prompt = prompt_for(problems[tree["problem_id"]], prefix)
        try:
            margin = judge_margin(chosen, rejected, tree["strategy"])
        except TypeError:  # a candidate the judge never scored (e.g. a duplicate sample): no judge margin
            margin = 0.0
        failed = gate(chosen["text"], rejected["text"], margin, prompt, no_margin)
        if failed:
            dropped[failed] += 1
            continue
        row = pair_row(iteration, tree, chosen, rejected, prompt, prefix, margin, ranked=cfg.per_round == "ranked")
        row.update(chosen_correct=True, rejected_correct=False, label_source=CHECKER)
        rows.append(row)
    return rows, {"candidates": len(candidates), "kept": len(rows), "dropped": dropped, "rounds": rounds}

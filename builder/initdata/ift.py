"""`psr init-data ift`: a teacher re-splits full solutions into "Step n: " steps (the paper's IFT).

The teacher gets the paper's segmentation prompt (template segment_paper: {question}, {solution})
as one user message. A segmentation is kept only when it is faithful: the text with the step
markers removed and whitespace collapsed equals the source solution treated the same way. Every
rejection is logged with a reason code and a one-line detail (the first differing position for
changed content):
  source_no_boxed       the source solution has no \\boxed{} answer (the teacher is not asked)
  truncated             the teacher hit max_tokens
  no_steps              no "Step n:" marker at the start of a line
  text_before_step_1    words before the first marker
  bad_numbering         markers not numbered 1, 2, ..., n
  empty_step            a marker with no text after it
  changed_content       the words differ from the source (added, dropped or altered)
  answer_not_in_last_step  the last step does not hold the final \\boxed{} answer
Kept solutions are rewritten as "Step n: <body>\\n" per step; the answer is the last \\boxed{}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from builder.steps import extract_boxed

# "Step 3:" at the start of a line, optionally bold ("**Step 3:**"), as teachers write it
MARKER = re.compile(r"(?m)^[ \t]*(?:\*\*)?Step[ \t]+(\d+)[ \t]*:(?:\*\*)?[ \t]*")
REASONS = ("source_no_boxed", "truncated", "no_steps", "text_before_step_1", "bad_numbering", "empty_step",
           "changed_content", "answer_not_in_last_step")
CONTEXT = 24


@dataclass(slots=True)
class Segmentation:
    solution: str | None  # "Step 1: ...\nStep 2: ...\n" when kept
    answer: str | None
    reason: str | None = None  # one of REASONS when rejected
    detail: str = ""


def words(text: str) -> str:
    """Text without step markers, whitespace collapsed: what a faithful split must preserve."""
    return " ".join(MARKER.sub(" ", text).split())


def first_difference(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _snippet(text: str, i: int) -> str:
    return text[max(0, i - CONTEXT):i + CONTEXT].replace("\n", " ")


def check_segmentation(source: str, output: str, finish_reason: str = "eos") -> Segmentation:
    """Keep the teacher's split of `source` only if it changes nothing but the step markers."""
    if extract_boxed(source) is None:
        return Segmentation(None, None, "source_no_boxed", "the source solution has no \\boxed{} answer")
    if finish_reason == "length":
        return Segmentation(None, None, "truncated", f"teacher output cut at max_tokens ({len(output)} chars)")
    marks = list(MARKER.finditer(output))
    if not marks:
        return Segmentation(None, None, "no_steps", f"no 'Step n:' line in: {_snippet(output, 0)!r}")
    if output[:marks[0].start()].strip():
        return Segmentation(None, None, "text_before_step_1", f"{_snippet(output[:marks[0].start()].strip(), 0)!r}")
    numbers = [int(m[1]) for m in marks]
    if numbers != list(range(1, len(marks) + 1)):
        return Segmentation(None, None, "bad_numbering", f"steps numbered {numbers[:12]}")
    bodies = [output[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(output))].strip()
              for i, m in enumerate(marks)]
    if not all(bodies):
        return Segmentation(None, None, "empty_step", f"step {bodies.index('') + 1} is empty")
    want, got = words(source), words(output)
    if want != got:
        i = first_difference(want, got)
        return Segmentation(None, None, "changed_content",
                            f"first difference at char {i}: source {_snippet(want, i)!r} vs steps {_snippet(got, i)!r}")
    answer = extract_boxed(bodies[-1])
    if answer is None or answer != extract_boxed(source):
        return Segmentation(None, None, "answer_not_in_last_step", f"last step: {_snippet(bodies[-1], 0)!r}")
    return Segmentation("".join(f"Step {i}: {b}\n" for i, b in enumerate(bodies, 1)), answer)


# ---- the job ---------------------------------------------------------------------------------
@dataclass(slots=True, frozen=True)
class IftOptions:
    """What `psr init-data ift` segments and how: the source of full solutions and the teacher call."""

    source: str  # full solutions: file or Hub id
    split: str = "train"
    fields: dict = field(default_factory=dict)  # column mapping DST=SRC (problem=..., solution=...)
    limit: int | None = None
    chunk_size: int = 32
    max_tokens: int = 2048
    template: str = "segment_paper"


@dataclass(slots=True)
class IftReport:
    summary: dict
    computed: list
    skipped: list
    removed: list
    sealed: bool


def source_items(source: str, split: str, fields: dict, limit: int | None) -> tuple[list[dict], int]:
    """({id, problem, solution}) from a file or Hub id, deduplicated, in source order; and the duplicate count."""
    from builder.errors import InputError
    from builder.problems import load_rows, problem_id

    items, seen, dups = [], set(), 0
    for r in load_rows(source, split, fields):
        solution = r["meta"].get("solution")
        if not isinstance(solution, str) or not solution.strip():
            raise InputError(f"{source}: row {r['meta']['row']}: no 'solution' text "
                             "(map one with --field solution=COLUMN)")
        item_id = problem_id(r["problem"] + "\n\n" + solution)
        if item_id in seen:
            dups += 1
            continue
        seen.add(item_id)
        items.append({"id": item_id, "problem": r["problem"], "solution": solution.strip()})
        if limit and len(items) >= limit:
            break
    return items, dups


def segment_chunk(items: list[dict], teacher, template: str, max_tokens: int, seed: int, source: str):
    """(ift rows, rejection log, counts) of one chunk: one batched teacher call."""
    from builder.prompts import segment_message
    from builder.initdata.tables import ift_rows

    ask = [it for it in items if extract_boxed(it["solution"]) is not None]
    answers = dict(zip((it["id"] for it in ask), teacher.ask(
        [segment_message(template, it["problem"], it["solution"]) for it in ask], max_tokens=max_tokens, seed=seed)))
    kept, log, counts = [], [], {"items": len(items), "kept": 0, **{f"rejected_{r}": 0 for r in REASONS}}
    for it in items:
        out = answers.get(it["id"])
        seg = check_segmentation(it["solution"], out.text if out else "", out.finish_reason if out else "eos")
        if seg.reason is None:
            kept.append({"problem": it["problem"], "solution": seg.solution, "answer": seg.answer})
            counts["kept"] += 1
        else:
            counts[f"rejected_{seg.reason}"] += 1
            log.append({"id": it["id"], "reason": seg.reason, "detail": seg.detail, "problem": it["problem"],
                        "teacher_output": out.text if out else None})
    return ift_rows(kept, "train", f"{source} | segmented by {teacher.spec}"), log, counts


def build_ift(run, teacher, opts: IftOptions, *, force: bool = False, progress=None) -> IftReport:
    """Segment every source solution with `teacher` (a teacher.Teacher), chunk by chunk, resumably."""
    from builder.initdata import jobs
    from builder.prompts import load_template

    source, chunk_size = opts.source, opts.chunk_size
    items, dups = source_items(source, opts.split, opts.fields or {}, opts.limit)
    n_chunks = -(-len(items) // chunk_size)
    plan = {"source": source, "split": opts.split, "fields": opts.fields or {}, "limit": opts.limit, "chunk_size": chunk_size,
            "teacher": str(teacher.spec), "template": opts.template, "max_tokens": opts.max_tokens,
            "n_items": len(items), "ids_sha256": jobs.ids_sha256([it["id"] for it in items])}
    done = None if force else jobs.finished(run, "ift", plan)
    if done is not None:
        return IftReport(done, [], list(range(n_chunks)), [], True)
    removed = jobs.start(run, "ift", plan, force)
    tmpl = load_template(opts.template)
    computed, skipped = [], []
    # under each chunk's claim, so two `psr init-data` on one run share the chunks (store/jobs.py)
    for c, marker in jobs.job(run, "ift").in_turn(list(range(n_chunks)), lambda c: jobs.marker(run, "ift", c)):
        if marker is not None:
            skipped.append(c)
            continue
        chunk = items[c * chunk_size:(c + 1) * chunk_size]
        rows, log, counts = segment_chunk(chunk, teacher, tmpl, opts.max_tokens, run.config.seed, source)
        jobs.finish_chunk(run, "ift", c, rows, log, counts)
        computed.append(c)
        if progress is not None:
            progress(c, n_chunks, counts)
    summary = jobs.finish_job(run, "ift", n_chunks, {"teacher": str(teacher.spec), "source": source,
                                                      "duplicates_dropped": dups})
    return IftReport(summary, computed, skipped, removed, jobs.seal_if_complete(run))

"""Reasoning steps and judge verdicts as text: normalize, split, find answers, parse verdicts.

Pure string functions shared by the search loop, the trainer export and the evaluation. A step is
"Step l: <body>\n"; the engine has already cut the model output before the stop string "\nStep ".
None of these functions raise on malformed model output: they return None or a best-effort string.
"""

from __future__ import annotations

import re

# A step marker at the start of a model output: "Step 3:", "step 3 :", "Step:" (number missing).
_MARKER = re.compile(r"^\s*step\s*\d*\s*:[ \t]*", re.IGNORECASE)
# Markers inside a whole solution: "Step n:" at the start of the text or of a line.
_SOLUTION_MARKER = re.compile(r"(?m)^[ \t]*Step \d+:")
_VERDICT = re.compile(r"\[\[([AB])\]\]")
_BOXED = "\\boxed{"


def step_body(text: str) -> str:
    """The step without its "Step n:" marker and surrounding whitespace."""
    return _MARKER.sub("", text, count=1).strip()


def norm_body(text: str) -> str:
    """The step body with whitespace collapsed: equal strings mean the same step (the pairs'
    `identical` gate, builder/pairs/gates.py, and the search's distinct candidates, builder/search/context.py)."""
    return " ".join(step_body(text).split())


def normalize_step(raw: str, step_number: int) -> str:
    """"Step <step_number>: <body>\\n" whatever marker (wrong number, none) the model wrote."""
    return f"Step {step_number}: {step_body(raw)}\n"


def extract_boxed(text: str) -> str | None:
    """Content of the last complete \\boxed{...} (nested braces allowed); None when there is none."""
    found = None
    start = text.find(_BOXED)
    while start != -1:
        content = _balanced(text, start + len(_BOXED))
        if content is not None:
            found = content
        start = text.find(_BOXED, start + 1)
    return found


def _balanced(text: str, begin: int) -> str | None:
    """Text from `begin` up to the brace closing the one just before it, or None if unclosed."""
    depth = 1
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[begin:i]
    return None


def is_terminal(text: str, finish_reason: str) -> bool:
    """A step ends the solution when it boxes an answer or the model emitted its EOS."""
    return finish_reason == "eos" or extract_boxed(text) is not None


def parse_verdict(text) -> str | None:
    """"A" or "B" from the last [[A]]/[[B]] (uppercase only) in a judge output, else None."""
    if not isinstance(text, str):
        return None
    verdicts = _VERDICT.findall(text)
    return verdicts[-1] if verdicts else None


def split_steps(solution: str) -> list[str]:
    """Cut a "Step n: ..." solution into steps, each ending in exactly one newline.

    Text before the first marker (rare preambles) is kept as its own chunk so nothing is lost;
    a solution with no marker at all is one chunk; an empty solution gives no steps.
    """
    starts = [m.start() for m in _SOLUTION_MARKER.finditer(solution)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = zip(starts, starts[1:] + [len(solution)])
    chunks = [solution[a:b].strip() for a, b in bounds]
    return [chunk + "\n" for chunk in chunks if chunk]

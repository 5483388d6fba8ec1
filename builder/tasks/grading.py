"""Answer grading: math-verify equivalence (\\frac{1}{2} == 0.5) plus gold-answer extractors.

math-verify times its parsing with signal.alarm, which fails outside the main thread; the
timeouts are switched off (parsing_timeout=None, timeout_seconds=None) so graders can run in
threads. Its import is lazy: it pulls in sympy.
"""

from __future__ import annotations

import re

GSM8K_GOLD = re.compile(r"####\s*(.+?)\s*$", re.S)


def extract_boxed(text: str | None) -> str | None:
    """Content of the last complete \\boxed{...} (nested braces allowed), or None."""
    if not text:
        return None
    start = text.rfind("\\boxed{")
    while start != -1:
        depth, i = 0, start + len("\\boxed")
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1 : j].strip()
        start = text.rfind("\\boxed{", 0, start)  # unclosed: try an earlier one
    return None


def gsm8k_gold(solution: str) -> str | None:
    """GSM8K's gold answer: the number after `####`, thousands separators removed."""
    m = GSM8K_GOLD.search(solution or "")
    return m.group(1).replace(",", "").strip() if m else None


def math_gold(solution: str) -> str | None:
    """MATH's gold answer: the last \\boxed{} of the reference solution."""
    return extract_boxed(solution)


def _as_latex(text: str) -> str:
    boxed = extract_boxed(text)
    return f"\\boxed{{{boxed if boxed is not None else text.strip()}}}"


def answers_match(pred: str | None, gold: str | None) -> bool:
    """True when the prediction (a bare answer or a text with \\boxed{}) equals the gold answer."""
    if pred is None or gold is None or not pred.strip() or not gold.strip():
        return False
    p, g = _as_latex(pred), _as_latex(gold)
    if p.replace(" ", "") == g.replace(" ", ""):
        return True  # exact match: skip sympy
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns about the disabled timeouts on every call

    gp, pp = parse(g, parsing_timeout=None), parse(p, parsing_timeout=None)
    if not gp or not pp:
        return False
    return bool(verify(gp, pp, timeout_seconds=None))

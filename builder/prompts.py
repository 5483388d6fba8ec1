"""Prompt templates and the rendering of generation and judge prompts with a model's chat template.

Templates are text files (builder/templates/<name>.txt or any path). Placeholders such as {problem}
are filled in one pass by name, never with str.format: problems and steps are full of LaTeX braces.
The user-message helpers need no tokenizer, so data builders (IFT/EFT export) render exactly the
text that `ChatRenderer` wraps in the chat template at search time.

A judge template may open with a header block that declares how its verdict is written, for the
verdict modes that read probabilities instead of parsing text (builder/verdicts.py):

    ---
    verdict_prefix: "\n\n[["
    verdicts: [A, B]
    verdict_suffix: "]]"
    ---
    <the template text, verbatim>

`verdict_prefix` is the text right before the verdict string ("[[" of "[[A]]"); `verdicts` are the
strings for "A is better" and "B is better"; `verdict_suffix` (optional) closes a written verdict,
for judgment texts that are training targets (EFT rows). The header is never part of the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError

TEMPLATE_DIR = Path(__file__).parent / "templates"
PLACEHOLDERS = ("problem", "question_and_partial_steps", "steps", "step_a", "step_b", "question", "solution")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt"))


@dataclass(slots=True, frozen=True)
class VerdictSpec:
    """How a judge template's verdict is written: `prefix` then one of `verdicts` ("A" side, "B" side)."""
    template: str
    prefix: str
    verdicts: tuple[str, str]
    suffix: str = ""


def template_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if not path.is_file():
        path = TEMPLATE_DIR / f"{name_or_path}.txt"
    if not path.is_file():
        raise InputError(
            f"prompt template {name_or_path!r} not found: give a file path or one of {', '.join(template_names())}"
        )
    return path


def split_header(text: str) -> tuple[str, str]:
    """(header block without its --- lines, template text); an empty header when there is none."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 3)
        if end != -1:
            return text[4:end], text[end + 5:]
    return "", text


def load_template(name_or_path: str) -> str:
    """Template text by name (file stem in builder/templates/) or by path; header and trailing newlines dropped."""
    return split_header(template_path(name_or_path).read_text(encoding="utf-8"))[1].rstrip("\n")


def load_verdict_spec(name_or_path: str) -> VerdictSpec | None:
    """The verdict declaration of a judge template's header, or None when it declares none."""
    import yaml

    header = split_header(template_path(name_or_path).read_text(encoding="utf-8"))[0]
    try:
        data = yaml.safe_load(header) if header else {}
    except yaml.YAMLError as exc:
        raise InputError(f"prompt template {name_or_path!r}: header is not valid YAML ({str(exc).splitlines()[0]})") from None
    data = data or {}
    unknown = sorted(set(data) - {"verdict_prefix", "verdicts", "verdict_suffix"})
    verdicts = data.get("verdicts", ["A", "B"])
    if unknown or not isinstance(verdicts, list) or len(verdicts) != 2 or not all(isinstance(v, str) and v for v in verdicts):
        raise InputError(f"prompt template {name_or_path!r}: header takes verdict_prefix (text), verdicts "
                         f"(two strings) and verdict_suffix (text); got {data}")
    prefix = data.get("verdict_prefix")
    if prefix is None:
        return None
    if not isinstance(prefix, str) or not prefix.strip():
        raise InputError(f"prompt template {name_or_path!r}: verdict_prefix must be non-empty text")
    return VerdictSpec(str(name_or_path), prefix, (verdicts[0], verdicts[1]), str(data.get("verdict_suffix") or ""))


def fill(template: str, **values: str) -> str:
    """Replace {name} placeholders in one pass, so a value that contains "{step_a}" stays as written.

    A placeholder with no value given is left in place (a template may not use every field).
    """
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), template)


def question_and_partial_steps(problem: str, steps: list[str]) -> str:
    """The judge's context: the problem, then the accepted steps one per line."""
    return "\n".join([problem.strip(), *(s.rstrip("\n") for s in steps)])


def reasoning_message(template: str, problem: str) -> str:
    """The user message that asks for a step-by-step solution."""
    return fill(template, problem=problem.strip())


def judge_message(template: str, problem: str, steps: list[str], step_a: str, step_b: str) -> str:
    """The user message that asks which of two candidate next steps is better."""
    return fill(
        template,
        problem=problem.strip(),
        steps="".join(steps).rstrip("\n"),
        question_and_partial_steps=question_and_partial_steps(problem, steps),
        step_a=step_a.rstrip("\n"),
        step_b=step_b.rstrip("\n"),
    )


def score_message(template: str, problem: str, solution: str) -> str:
    """The user message that asks for a 0-5 score of one complete solution (strategy solution)."""
    return fill(template, problem=problem.strip(), solution=solution.strip())


def segment_message(template: str, question: str, solution: str) -> str:
    """The user message that asks a teacher model to split a solution into steps."""
    return fill(template, question=question.strip(), solution=solution.strip())


class ChatRenderer:
    """Wraps user messages in a model's chat template; loads only the tokenizer."""

    def __init__(self, model_path: str):
        from transformers import AutoTokenizer

        self.model_path = str(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        if not getattr(self.tokenizer, "chat_template", None):
            raise InputError(f"{self.model_path}: tokenizer has no chat_template; use an instruct/chat model")

    def user_turn(self, message: str) -> str:
        """[user: message] through the chat template, ending where the assistant starts writing."""
        return self.tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
        )

    def generation_prompt(self, reasoning_tmpl: str, problem: str, steps: list[str]) -> str:
        """Prompt for the next step: accepted steps appended raw, so the model writes "Step l: "."""
        return self.user_turn(reasoning_message(reasoning_tmpl, problem)) + "".join(steps)

    def judge_prompt(self, judge_tmpl: str, problem: str, steps: list[str], step_a: str, step_b: str) -> str:
        return self.user_turn(judge_message(judge_tmpl, problem, steps, step_a, step_b))

    def score_prompt(self, score_tmpl: str, problem: str, solution: str) -> str:
        return self.user_turn(score_message(score_tmpl, problem, solution))

    @property
    def eos_text(self) -> str:
        """What ends a finished answer: the tokenizer's EOS text (the trainer appends it to final steps)."""
        return self.tokenizer.eos_token or ""

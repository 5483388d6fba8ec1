"""Templates and chat rendering: paper prompts verbatim, LaTeX-safe filling, the tiny model's chat template."""

import re

import pytest

from builder.errors import InputError
from builder.prompts import (
    ChatRenderer,
    fill,
    judge_message,
    load_template,
    question_and_partial_steps,
    reasoning_message,
    segment_message,
)

PROBLEM = r"Compute \frac{1}{2} + {x} where $x = \sqrt{4}$."
STEPS = ["Step 1: \\sqrt{4} = 2\n", "Step 2: so {x} = 2\n"]


def test_paper_templates_carry_their_placeholders():
    reasoning, judge, segment = (load_template(n) for n in ("reasoning_paper", "judge_paper", "segment_paper"))
    assert reasoning.startswith("Let's think step by step") and reasoning.endswith("Problem: {problem}")
    assert judge.startswith("Please act as an impartial judge")
    assert '"[[A]]" if assistant A is better, and "[[B]]" if assistant B is better.' in judge
    for placeholder in ("{question_and_partial_steps}", "{step_a}", "{step_b}"):
        assert judge.count(placeholder) == 1
    assert judge.endswith("[The End of Assistant B's Next Reasoning Step]")
    assert "{question}" in segment and "{solution}" in segment and "Do not omit the final answer" in segment


def test_load_template_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("Solve: {problem}\n\n")
    assert load_template(str(path)) == "Solve: {problem}"
    with pytest.raises(InputError, match="no_such_template.*reasoning_paper"):
        load_template("no_such_template")


def test_fill_keeps_latex_braces_and_does_not_refill_inserted_text():
    out = fill("P: {problem} | A: {step_a} | {unknown}", problem=PROBLEM, step_a="uses {problem} literally")
    assert out == f"P: {PROBLEM} | A: uses {{problem}} literally | {{unknown}}"


def test_messages_fill_every_placeholder():
    judge = judge_message(load_template("judge_paper"), PROBLEM, STEPS, "Step 3: a\n", "Step 3: b\n")
    assert not re.search(r"\{(question_and_partial_steps|step_a|step_b)\}", judge)
    assert f"Provided]\n{PROBLEM}\nStep 1: \\sqrt{{4}} = 2\nStep 2: so {{x}} = 2\n\n[The Start" in judge
    assert "Next Reasoning Step]\nStep 3: a\n[The End of Assistant A's" in judge
    assert "Next Reasoning Step]\nStep 3: b\n[The End of Assistant B's" in judge
    assert question_and_partial_steps("Q", []) == "Q"
    assert reasoning_message("Problem: {problem}", f"  {PROBLEM}\n") == f"Problem: {PROBLEM}"
    assert segment_message(load_template("segment_paper"), "Q?", "S.").count("Q?\n[The End of Question") == 1


@pytest.fixture(scope="module")
def renderer(tiny_model_dir):
    return ChatRenderer(tiny_model_dir)


def test_generation_prompt_is_chat_turn_then_raw_steps(renderer):
    tmpl = load_template("reasoning_paper")
    empty = renderer.generation_prompt(tmpl, PROBLEM, [])
    user = reasoning_message(tmpl, PROBLEM)
    assert empty == f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    assert renderer.generation_prompt(tmpl, PROBLEM, STEPS) == empty + "".join(STEPS)


def test_judge_prompt_is_one_user_turn(renderer):
    tmpl = load_template("judge_paper")
    prompt = renderer.judge_prompt(tmpl, PROBLEM, STEPS, "Step 3: a\n", "Step 3: b\n")
    assert prompt.startswith("<|im_start|>user\nPlease act as an impartial judge")
    assert prompt.endswith("[The End of Assistant B's Next Reasoning Step]<|im_end|>\n<|im_start|>assistant\n")
    assert prompt.count("<|im_start|>") == 2


def test_eos_text_is_the_tokenizer_eos(renderer):
    assert renderer.eos_text == "<|im_end|>"

"""Iteration-0 SFT rows for Axolotl's `input_output` format (IFT solutions, EFT judgments, scores).

Each row is `{"segments": [{"label": false, "text": prompt}, {"label": true, "text": completion}]}`.
Axolotl tokenizes each segment on its own with `add_special_tokens=False` and adds no BOS/EOS
(axolotl 0.19.0 prompt_strategies/input_output.py), so the completion carries the end-of-turn
text itself, and the loss covers only the assistant tokens. The prompt is the chat-rendered user
turn ending in the generation prompt, exactly what the search later feeds the model.
"""

from __future__ import annotations

from builder.steps import split_steps


def ift_row(renderer, reasoning_tmpl: str, row: dict) -> dict:
    prompt = renderer.generation_prompt(reasoning_tmpl, row["problem"], [])
    return _segments(prompt, row["solution"] + renderer.eos_text)


def eft_row(renderer, judge_tmpl: str, row: dict) -> dict:
    steps = split_steps(row["prefix"]) if row["prefix"] else []
    prompt = renderer.judge_prompt(judge_tmpl, row["problem"], steps, row["step_a"], row["step_b"])
    return _segments(prompt, row["judgment"] + renderer.eos_text)


def score_row(renderer, score_tmpl: str, row: dict) -> dict:
    prompt = renderer.score_prompt(score_tmpl, row["problem"], row["solution"])
    return _segments(prompt, row["judgment"] + renderer.eos_text)


def sft_rows(ift_rows, eft_rows, renderer, *, reasoning_tmpl: str, judge_tmpl: str,
             score_rows=(), score_tmpl: str | None = None) -> list[dict]:
    """IFT, EFT, then solution-scoring rows as input_output rows; Axolotl shuffles the merged dataset.

    `renderer` is a `builder.prompts.ChatRenderer` on the model being trained; the templates are
    template texts (`builder.prompts.load_template(task.reasoning_template)`).
    """
    rows = [ift_row(renderer, reasoning_tmpl, r) for r in ift_rows]
    rows += [eft_row(renderer, judge_tmpl, r) for r in eft_rows]
    return rows + [score_row(renderer, score_tmpl, r) for r in score_rows]


def _segments(prompt: str, completion: str) -> dict:
    return {"segments": [{"label": False, "text": prompt}, {"label": True, "text": completion}]}

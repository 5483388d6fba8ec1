"""Step normalization, answer extraction and verdict parsing on well-formed and malformed outputs."""

import pytest

from builder.steps import extract_boxed, is_terminal, normalize_step, parse_verdict, split_steps, step_body


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Step 3: 22 - 4 = 18", "Step 3: 22 - 4 = 18\n"),
        ("Step 7: 22 - 4 = 18\n\n", "Step 3: 22 - 4 = 18\n"),  # wrong number replaced
        ("22 - 4 = 18", "Step 3: 22 - 4 = 18\n"),  # no marker: added
        ("  step 3 :   22 - 4 = 18  ", "Step 3: 22 - 4 = 18\n"),  # sloppy marker and spaces
        ("Step: 22 - 4 = 18", "Step 3: 22 - 4 = 18\n"),  # marker without number
        ("Step 3: first line\nsecond line\n", "Step 3: first line\nsecond line\n"),
        ("", "Step 3: \n"),
        ("   \n\t ", "Step 3: \n"),
    ],
)
def test_normalize_step(raw, expected):
    assert normalize_step(raw, 3) == expected


def test_normalized_step_ends_with_exactly_one_newline_and_body_round_trips():
    step = normalize_step("Step 1:  x = 2 \n\n\n", 1)
    assert step.endswith("\n") and not step.endswith("\n\n")
    assert step_body(step) == "x = 2"


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"The answer is \boxed{18}", "18"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),  # nested braces
        (r"first \boxed{1} then \boxed{2}", "2"),  # last complete one
        (r"done \boxed{7} but then \boxed{8", "7"),  # unterminated last one is skipped
        (r"unterminated \boxed{18", None),
        (r"\boxed{{a}{b}", None),  # inner braces never close the outer one
        ("no answer here", None),
        ("", None),
        (r"\boxed{}", ""),
    ],
)
def test_extract_boxed(text, expected):
    assert extract_boxed(text) == expected


def test_is_terminal():
    assert is_terminal(r"Step 3: The answer is \boxed{18}", "stop")
    assert is_terminal("Step 3: 22 - 4 = 18", "eos")
    assert not is_terminal("Step 3: 22 - 4 = 18", "stop")
    assert not is_terminal(r"Step 3: \boxed{18", "length")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Check: 22 - 4 = 18. A: correct. [[A]]", "A"),
        ("[[B]]", "B"),
        ("first [[A]] then on reflection [[B]]", "B"),  # two verdicts: the last wins
        ('Output "[[A]]" if A is better. A is wrong, B is right. [[B]]', "B"),  # verdict in the explanation
        ("lowercase [[a]]", None),
        ("no verdict at all", None),
        ("", None),
        ("   ", None),
        ("[[C]]", None),
        ("[A]", None),
        ("[[A]", None),
        (None, None),
    ],
)
def test_parse_verdict(text, expected):
    assert parse_verdict(text) == expected


def test_split_steps():
    solution = "Step 1: 13 + 9 = 22\nStep 2: 22 - 4 = 18\nStep 3: The answer is \\boxed{18}"
    assert split_steps(solution) == [
        "Step 1: 13 + 9 = 22\n",
        "Step 2: 22 - 4 = 18\n",
        "Step 3: The answer is \\boxed{18}\n",
    ]


def test_split_steps_keeps_multiline_steps_preambles_and_unmarked_text():
    solution = "Let us solve it.\nStep 1: a\nstill a\n\nStep 2: b\n"
    assert split_steps(solution) == ["Let us solve it.\n", "Step 1: a\nstill a\n", "Step 2: b\n"]
    assert split_steps("just text") == ["just text\n"]
    assert split_steps("") == []
    # "Step 2:" inside a line is not a boundary
    assert split_steps("Step 1: see Step 2: later\n") == ["Step 1: see Step 2: later\n"]

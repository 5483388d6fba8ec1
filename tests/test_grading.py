"""Answer grading with math-verify, and gold-answer extraction for GSM8K and MATH."""

import threading

from builder.tasks.grading import answers_match, extract_boxed, gsm8k_gold, math_gold


def test_equivalences():
    assert answers_match("0.5", "\\frac{1}{2}")
    assert answers_match("\\frac{1}{2}", "0.5")
    assert answers_match("The answer is \\boxed{18}.", "18")
    assert answers_match("Step 3: The answer is \\boxed{\\frac{3}{6}}\n", "\\boxed{\\frac{1}{2}}")
    assert answers_match("18", "18")


def test_wrong_and_missing_answers():
    assert not answers_match("17", "18")
    assert not answers_match("\\boxed{0.51}", "\\frac{1}{2}")
    assert not answers_match(None, "18") and not answers_match("", "18") and not answers_match("18", None)


def test_gold_extractors():
    assert gsm8k_gold("He pays 2 * 3 = <<2*3=6>>6 dollars.\n#### 1,006") == "1006"
    assert gsm8k_gold("no marker") is None
    assert math_gold("So $x = \\boxed{\\frac{a}{b^{2}}}$ and done.") == "\\frac{a}{b^{2}}"
    assert extract_boxed("\\boxed{1} then \\boxed{2}") == "2"
    assert extract_boxed("\\boxed{1} then \\boxed{2") == "1"  # the unclosed one is skipped
    assert extract_boxed("nothing") is None


def test_grading_works_in_threads():
    # math-verify's default timeouts use signal.alarm, which raises outside the main thread
    results = []
    worker = threading.Thread(target=lambda: results.append(answers_match("0.25", "\\frac{1}{4}")))
    worker.start()
    worker.join()
    assert results == [True]

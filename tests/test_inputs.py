"""Strict inputs: a malformed user file is one exit-2 line naming the file and the line or row,
and nothing of the run changes (`psr problems add`, `psr init-data import`)."""

import json

import pytest

from builder.store import seal
from tests.helpers import invoke, make_run

GOOD_IFT = '{"problem": "2 + 3", "solution": "Step 1: 2 + 3 = 5\\nStep 2: The answer is \\\\boxed{5}\\n"}\n'
GOOD_EFT = json.dumps({"problem": "2 + 3", "prefix": "", "step_a": "Step 1: 2 + 3 = 5\n", "step_b": "Step 1: 2 + 3 = 6\n",
                       "label": "A", "judgment": "[[A]]"}) + "\n"

# (file name, content, what the one-line message must say besides the file name)
PROBLEM_FILES = [
    ("unterminated.csv", 'problem,answer\n"unterminated,2\n', "line 2: malformed CSV"),
    ("quote_mid.csv", 'problem,answer\n1 + 1,2\n"2 + 2,4\n3 + 3,6\n', "line 3: malformed CSV"),
    ("ragged_long.csv", "problem,answer\n1 + 1,2\n2 + 2,4,extra\n", "line 3: 3 field(s), the header has 2"),
    ("ragged_short.csv", "problem,answer\n1 + 1\n", "line 2: 1 field(s), the header has 2"),
    ("header.csv", "question,solution\n1 + 1,2\n", "missing column 'problem'"),
    ("dup_header.csv", "problem,problem\n1 + 1,2\n", "line 1: column 'problem' appears twice"),
    ("bad_line.jsonl", '{"problem": "1 + 1"}\n{"problem": "2 + 2"\n', "line 2: invalid JSON"),
    ("not_object.jsonl", '{"problem": "1 + 1"}\n\n[1, 2]\n', "line 3: expected a JSON object"),
    ("fake.parquet", "problem,answer\n1 + 1,2\n", "unreadable Parquet"),
]


def _snapshot(root):
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def _one_line_exit_2(res, path, needle):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert str(path) in lines[0] and needle in lines[0], lines[0]


@pytest.mark.parametrize("name,content,needle", PROBLEM_FILES)
def test_problems_add_rejects_malformed_file(tmp_path, name, content, needle):
    run = make_run(tmp_path)
    before = _snapshot(run.root)
    path = tmp_path / name
    path.write_text(content)
    _one_line_exit_2(invoke("problems", "add", path, "--run", run.root, "--iter", 1), path, needle)
    assert _snapshot(run.root) == before


def test_problems_add_force_keeps_sealed_data_on_bad_input(tmp_path):
    # --force removes the sealed iteration's files, but only after the new source read cleanly.
    run = make_run(tmp_path)
    assert invoke("problems", "add", "task:arithmetic", "--run", run.root, "--iter", 1, "--limit", 3).exit_code == 0
    seal(run, 1, ["problems"], {})
    before = _snapshot(run.root)
    path = tmp_path / "bad.csv"
    path.write_text('problem,answer\n"unterminated,2\n')
    res = invoke("problems", "add", path, "--run", run.root, "--iter", 1, "--force")
    _one_line_exit_2(res, path, "line 2: malformed CSV")
    assert _snapshot(run.root) == before


def test_problems_add_header_without_mapped_column(tmp_path):
    run = make_run(tmp_path)
    before = _snapshot(run.root)
    path = tmp_path / "p.csv"
    path.write_text("question,answer\n1 + 1,2\n")
    res = invoke("problems", "add", path, "--run", run.root, "--iter", 1, "--field", "problem=prompt")
    _one_line_exit_2(res, path, "no column 'prompt' (for --field problem=prompt); columns found: question, answer")
    assert _snapshot(run.root) == before


def test_strict_csv_still_reads_quoted_fields(tmp_path):
    # Multi-line quoted fields, doubled quotes, a byte-order mark and blank lines are valid CSV.
    from builder.inputs import read_file_rows

    path = tmp_path / "ok.csv"
    path.write_text('\ufeffproblem,answer\n"What is\n1 + 1?",2\n\n"say ""hi""",3\n', encoding="utf-8")
    assert read_file_rows(path) == [{"problem": "What is\n1 + 1?", "answer": "2"}, {"problem": 'say "hi"', "answer": "3"}]


def test_empty_csv_answer_is_no_gold(tmp_path):
    run = make_run(tmp_path)
    path = tmp_path / "p.csv"
    path.write_text("problem,answer\n1 + 1,\n")
    assert invoke("problems", "add", path, "--run", run.root, "--iter", 1).exit_code == 0
    from builder.store import read_table

    assert read_table(run, "problems", 1).column("answer").to_pylist() == [None]


IMPORT_FILES = [
    ("ift", "ift.csv", 'problem,solution\n"2 + 3,Step 1\n', "line 2: malformed CSV"),
    ("ift", "ift.csv", "problem,solution\n2 + 3,Step 1: 5,x\n", "line 2: 3 field(s), the header has 2"),
    ("ift", "ift.csv", "question,solution\n2 + 3,Step 1: \\boxed{5}\n",
     "no column 'problem' (required: problem, solution); columns found: question, solution"),
    ("eft", "eft.jsonl", GOOD_EFT + "{oops\n", "line 2: invalid JSON"),
    ("eft", "eft.parquet", "not parquet at all", "unreadable Parquet"),
    ("eft", "eft.jsonl", json.dumps({"problem": "p", "prefix": "", "step_a": "a", "step_b": "b", "label": "A"}) + "\n",
     "no column 'judgment'"),
]


@pytest.mark.parametrize("which,name,content,needle", IMPORT_FILES)
def test_init_data_import_rejects_malformed_file(tmp_path, which, name, content, needle):
    run = make_run(tmp_path)
    files = {"ift": tmp_path / "ift.jsonl", "eft": tmp_path / "eft.jsonl"}
    files["ift"].write_text(GOOD_IFT)
    files["eft"].write_text(GOOD_EFT)
    files[which] = tmp_path / f"bad-{name}"
    files[which].write_text(content)
    before = _snapshot(run.root)
    # --run on the group, as `psr init-data --help` shows it, counts for the subcommand
    res = invoke("init-data", "--run", run.root, "import", "--ift", files["ift"], "--eft", files["eft"])
    _one_line_exit_2(res, files[which], needle)
    assert _snapshot(run.root) == before


def test_init_data_group_run_reaches_import(tmp_path):
    run = make_run(tmp_path)
    (tmp_path / "ift.jsonl").write_text(GOOD_IFT)
    (tmp_path / "eft.jsonl").write_text(GOOD_EFT)
    res = invoke("init-data", "--run", run.root, "import", "--ift", tmp_path / "ift.jsonl", "--eft", tmp_path / "eft.jsonl")
    assert res.exit_code == 0 and "ift 1 train, eft 1 train + 0 test" in res.output, res.output
    res = invoke("init-data", "import", "--ift", tmp_path / "ift.jsonl", "--eft", tmp_path / "eft.jsonl",
                 env={"PSR_RUN": ""})
    assert res.exit_code == 2 and "Missing option '--run'" in res.output


def test_sql_out_with_table_format_is_a_usage_error(tmp_path):
    run = make_run(tmp_path)
    out = tmp_path / "out.txt"
    res = invoke("sql", "SELECT 1", "--run", run.root, "--out", out)
    assert res.exit_code == 2 and "--out writes csv, json or parquet" in res.output and not out.exists()

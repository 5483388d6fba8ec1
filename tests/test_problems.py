"""`psr problems add`: files, task generators, mapping, dedup, disjoint iterations, bad input."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.store import read_table
from tests.helpers import invoke, make_run


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_add_from_jsonl_with_field_mapping_and_dedup(tmp_path):
    run = make_run(tmp_path)
    src = _jsonl(tmp_path / "gsm.jsonl", [
        {"question": "What is 1 + 1?", "answer": "1 + 1 = 2\n#### 2"},
        {"question": "What is 2 + 2?", "answer": "#### 4"},
        {"question": "What  is 1 + 1?", "answer": "#### 2"},  # same after whitespace normalization
    ])
    res = invoke("problems", "add", src, "--run", run.root, "--iter", 1, "--field", "problem=question", "--limit", 10)
    assert res.exit_code == 0, res.output
    assert "added 2" in res.output and "1 duplicates" in res.output
    tbl = read_table(run, "problems", 1)
    assert sorted(tbl.column("answer").to_pylist()) == ["2", "4"]
    assert all(len(p) == 16 for p in tbl.column("problem_id").to_pylist())


def test_later_iteration_gets_disjoint_problems(tmp_path):
    run = make_run(tmp_path)
    src = _jsonl(tmp_path / "p.jsonl", [{"problem": f"Compute {i}*3.", "answer": str(3 * i)} for i in range(10)])
    invoke("problems", "add", src, "--run", run.root, "--iter", 1, "--limit", 4)
    res = invoke("problems", "add", src, "--run", run.root, "--iter", 2, "--limit", 4)
    assert "4 used by earlier iterations" in res.output
    one = set(read_table(run, "problems", 1).column("problem_id").to_pylist())
    two = set(read_table(run, "problems", 2).column("problem_id").to_pylist())
    assert len(one) == len(two) == 4 and not one & two


def test_add_from_parquet_csv_json(tmp_path):
    run = make_run(tmp_path)
    pq.write_table(pa.table({"problem": ["a?", "b?"], "answer": [1, 2]}), tmp_path / "p.parquet")
    (tmp_path / "p.csv").write_text("problem,answer\nc?,3\n")
    (tmp_path / "p.json").write_text(json.dumps([{"problem": "d?", "solution": "so \\boxed{\\frac{1}{2}}"}]))
    for name in ("p.parquet", "p.csv", "p.json"):
        res = invoke("problems", "add", tmp_path / name, "--run", run.root, "--iter", 1, "--limit", 10)
        assert res.exit_code == 0, res.output
    answers = sorted(read_table(run, "problems", 1).column("answer").to_pylist())
    assert answers == ["1", "2", "3", "\\frac{1}{2}"]


def test_add_from_task_generator(tmp_path):
    run = make_run(tmp_path)
    res = invoke("problems", "add", "task:arithmetic", "--run", run.root, "--iter", 1, "--limit", 8)
    assert res.exit_code == 0, res.output
    tbl = read_table(run, "problems", 1)
    assert tbl.num_rows == 8 and set(tbl.column("source").to_pylist()) == {"task:arithmetic"}
    assert all(a is not None for a in tbl.column("answer").to_pylist())


@pytest.mark.parametrize("name,content,needle", [
    ("empty.jsonl", b"", "empty file"),
    ("bad.jsonl", b'{"problem": "x"}\n{not json\n', "line 2: invalid JSON"),
    ("latin.csv", "problem\ncaf\xe9?\n".encode("latin-1"), "not UTF-8"),
    ("cols.jsonl", b'{"question": "x"}\n', "missing column 'problem'"),
    ("bad.parquet", b"PAR1 not really", "unreadable Parquet"),
    ("x.txt", b"hello", "unsupported file type"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, name, content, needle):
    run = make_run(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    res = invoke("problems", "add", path, "--run", run.root, "--iter", 1)
    assert res.exit_code == 2, res.output
    assert needle in res.output and str(path) in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_missing_mapped_column_lists_columns_found(tmp_path):
    run = make_run(tmp_path)
    src = _jsonl(tmp_path / "p.jsonl", [{"question": "x", "answer": "1"}])
    res = invoke("problems", "add", src, "--run", run.root, "--iter", 1, "--field", "problem=prompt")
    assert res.exit_code == 2 and "no column 'prompt'" in res.output and "question, answer" in res.output


def test_hub_id_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    run = make_run(tmp_path)
    res = invoke("problems", "add", "nobody/no-such-dataset", "--run", run.root, "--iter", 1)
    assert res.exit_code == 1 and "cannot load Hugging Face dataset 'nobody/no-such-dataset'" in res.output
    assert "Traceback" not in res.output


def test_sealed_iteration_refuses_then_force_reports(tmp_path):
    from builder.store import seal

    run = make_run(tmp_path)
    src = _jsonl(tmp_path / "p.jsonl", [{"problem": f"q{i}?"} for i in range(3)])
    invoke("problems", "add", src, "--run", run.root, "--iter", 1)
    seal(run, 1, ["problems"], {})
    res = invoke("problems", "add", src, "--run", run.root, "--iter", 1)
    assert res.exit_code == 1 and "sealed; pass --force" in res.output
    res = invoke("problems", "add", src, "--run", run.root, "--iter", 1, "--force")
    assert res.exit_code == 0 and "--force: removed" in res.output and "part-add-000.parquet" in res.output


def test_if_needed_skips_when_problems_exist(tmp_path):
    run = make_run(tmp_path)
    res = invoke("problems", "add", "task:arithmetic", "--run", run.root, "--iter", 1, "--limit", 4, "--if-needed")
    assert res.exit_code == 0 and "added 4" in res.output
    res = invoke("problems", "add", "task:arithmetic", "--run", run.root, "--iter", 1, "--limit", 4, "--if-needed")
    assert "nothing to do" in res.output
    assert read_table(run, "problems", 1).num_rows == 4

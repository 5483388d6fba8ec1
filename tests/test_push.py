"""`psr push --dry-run`: the repository folder, its dataset card, and that datasets/DuckDB read it.

The run is built directly with the store (schema-valid rows, sealed iterations 0, 1 and 2, pairs
recorded after sealing, iteration 3 left unsealed); no model is involved.
"""

import json

import pytest
import yaml

from builder import schemas
from builder.store import record_table, seal, write_table
from builder.store.lineage import base_lineage
from tests.helpers import invoke, make_run

SEARCH_TABLES = ["problems", "trees", "nodes", "judgments"]
ROWS = {0: 3, 1: 4, 2: 5}


def _row(table, i):
    """A valid row of any table, derived from the schema itself."""
    values = {"string": f"v{i}", "int32": i, "int64": i, "float64": float(i), "bool": bool(i % 2)}
    return {c.name: values[c.type] for c in schemas.get(table).columns if c.name != "iteration"}


def _write(run, table, n, rows, name="c0"):
    write_table(run, table, n, name, [_row(table, i) for i in range(rows)])


def build_run(tmp_path):
    run = make_run(tmp_path, "demo", "hub.license=mit", "hub.tags=[psrlm, test-tag]")
    lineage = dict(base_lineage(run), model={"path": "models/M0"}, engine={"name": "hf", "version": "5.24"})
    for table in ("ift", "eft"):
        _write(run, table, 0, ROWS[0])
    seal(run, 0, ["ift", "eft"], lineage)
    for n in (1, 2):
        for table in SEARCH_TABLES:
            _write(run, table, n, ROWS[n])
        _write(run, "nodes", n, 2, name="c1")  # a second part
        seal(run, n, SEARCH_TABLES, dict(lineage, model={"path": f"models/M{n}"}))
        _write(run, "pairs", n, ROWS[n])
        record_table(run, n, "pairs", {"min_margin": 0.0})
    _write(run, "problems", 3, 2)  # iteration 3: not sealed, never pushed
    return run


@pytest.fixture(scope="module")
def dry_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("push")
    run = build_run(tmp)
    out = tmp / "repo"
    result = invoke("push", "--run", run.root, "--repo", "my-org/psr-demo", "--dry-run", out)
    assert result.exit_code == 0, result.output
    assert "uploaded nothing" in result.output
    return run, out


def front_matter(folder):
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


def test_folder_layout_is_the_sealed_files_only(dry_folder):
    run, out = dry_folder
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "README.md" in files and "run.yaml" in files
    assert [f for f in files if f.startswith("manifests/")] == [f"manifests/iteration={n}.json" for n in (0, 1, 2)]
    parquet = [f for f in files if f.endswith(".parquet")]
    assert "nodes/iteration=1/part-c1.parquet" in parquet and "pairs/iteration=2/part-c0.parquet" in parquet
    assert not [f for f in parquet if "iteration=3" in f]  # unsealed: never pushed
    assert not (out / "report").exists()
    for f in parquet:  # byte-identical copies of the sealed parts
        table, part, name = f.split("/")
        assert (out / f).read_bytes() == (run.data_dir / table / part / name).read_bytes()


def test_card_front_matter_declares_configs_and_splits(dry_folder):
    _, out = dry_folder
    meta, _ = front_matter(out)
    assert meta["license"] == "mit" and meta["tags"] == ["psrlm", "test-tag"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs)[0] == "pairs" and configs["pairs"]["default"] is True
    assert [c for c in configs if configs[c].get("default")] == ["pairs"]
    assert set(configs) == {"pairs", "problems", "trees", "nodes", "judgments", "ift", "eft"}
    assert configs["pairs"]["data_files"] == [
        {"split": "iter1", "path": "pairs/iteration=1/*.parquet"},
        {"split": "iter2", "path": "pairs/iteration=2/*.parquet"},
    ]
    assert configs["ift"]["data_files"] == [{"split": "iter0", "path": "ift/iteration=0/*.parquet"}]
    # The Hub's own card parser and datasets' config reader agree on the default.
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(out / "README.md")
    assert card.data.license == "mit" and MetadataConfigs.from_dataset_card_data(card.data).get_default_config_name() == "pairs"


def test_every_declared_config_and_split_loads_with_datasets(dry_folder, tmp_path):
    import datasets

    _, out = dry_folder
    ds = datasets.load_dataset(str(out), "pairs", split="iter1", cache_dir=str(tmp_path))
    assert ds.num_rows == ROWS[1] and set(ds["iteration"]) == {1}
    meta, _ = front_matter(out)
    for cfg in meta["configs"]:
        table = cfg["config_name"]
        for entry in cfg["data_files"]:
            n = int(entry["split"].removeprefix("iter"))
            ds = datasets.load_dataset(str(out), table, split=entry["split"], cache_dir=str(tmp_path))
            expected = ROWS[n] + (2 if table == "nodes" else 0)
            assert ds.num_rows == expected, (table, n)
            assert ds.features == schemas.features(table)
            assert set(ds["iteration"]) == {n}
    default = datasets.load_dataset(str(out), split="iter2", cache_dir=str(tmp_path))  # no name: the default config
    assert default.column_names == schemas.get("pairs").names


def test_duckdb_reads_the_folder(dry_folder):
    import duckdb

    _, out = dry_folder
    con = duckdb.connect()
    rows = con.sql(
        f"SELECT iteration, count(*) FROM read_parquet('{out}/pairs/*/*.parquet', hive_partitioning = false) "
        "GROUP BY iteration ORDER BY iteration"
    ).fetchall()
    assert rows == [(1, ROWS[1]), (2, ROWS[2])]
    nodes = con.sql(f"SELECT count(*) FROM read_parquet('{out}/nodes/**/*.parquet', hive_partitioning = false)").fetchall()
    assert nodes == [(ROWS[1] + ROWS[2] + 4,)]


def test_card_body_documents_columns_lineage_and_usage(dry_folder):
    run, out = dry_folder
    _, text = front_matter(out)
    assert "arXiv:2503.03746" in text and "Process-based Self-Rewarding" in text
    for table in ("pairs", "nodes", "ift"):
        for col in schemas.column_docs(table):
            assert f"| `{col['name']}` | {col['type']} |" in text
    assert schemas.get("pairs").columns[-1].description in text
    manifest = json.loads((run.manifest_path(2)).read_text())
    sha = manifest["tables"]["pairs"]["files"]["part-c0.parquet"]["sha256"]
    assert f"| `pairs/iteration=2/part-c0.parquet` | {ROWS[2]} | `{sha}` |" in text
    assert "models/M2" in text and manifest["lineage"]["package_version"] in text
    assert 'load_dataset("my-org/psr-demo", "pairs", split="iter1", revision="iter-1")' in text
    assert "hf://datasets/my-org/psr-demo@iter-1/pairs/**/*.parquet" in text
    assert "The report was not run" in text
    assert "name: demo" in text  # the run config


def test_named_iteration_only(tmp_path):
    run = build_run(tmp_path)
    out = tmp_path / "one"
    result = invoke("push", "--run", run.root, "--repo", "my-org/psr-demo", "--iter", "1", "--dry-run", out)
    assert result.exit_code == 0, result.output
    meta, _ = front_matter(out)
    assert {c["config_name"]: [d["split"] for d in c["data_files"]] for c in meta["configs"]} == {
        t: ["iter1"] for t in ["pairs", "problems", "trees", "nodes", "judgments"]}
    assert not list(out.glob("*/iteration=2")) and not (out / "ift").exists()


def test_report_summary_when_present(tmp_path):
    run = build_run(tmp_path)
    report = {"iterations": {"1": {"judge": {"swap_consistency": 0.8125, "first_position_win_rate": 0.55}}},
              "samples": list(range(100))}
    (run.root / "report").mkdir()
    (run.root / "report" / "report.json").write_text(json.dumps(report))
    out = tmp_path / "repo"
    assert invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", out).exit_code == 0
    _, text = front_matter(out)
    assert "| `iterations.1.judge.swap_consistency` | 0.8125 |" in text
    assert "The report was not run" not in text and "`samples" not in text  # long lists are data, skipped
    assert json.loads((out / "report" / "report.json").read_text()) == report


def test_changed_file_is_refused(tmp_path):
    run = build_run(tmp_path)
    part = run.table_dir("pairs", 1) / "part-c0.parquet"
    part.write_bytes(part.read_bytes() + b"x")
    result = invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", tmp_path / "repo")
    assert result.exit_code == 1
    assert "does not match its manifest" in result.output and "part-c0.parquet" in result.output


def test_non_empty_dry_run_dir_is_refused(tmp_path):
    run = build_run(tmp_path)
    out = tmp_path / "repo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", out)
    assert result.exit_code == 1 and "not an empty directory" in result.output
    assert (out / "keep.txt").read_text() == "mine"


def test_sealed_but_empty_iteration_is_refused(tmp_path):
    run = make_run(tmp_path)
    seal(run, 1, [], base_lineage(run))
    result = invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", tmp_path / "repo")
    assert result.exit_code == 1 and "nothing to push" in result.output


@pytest.mark.parametrize("judge_orders", ["both", "one"])
def test_card_intro_follows_the_run_and_warns_about_duplicate_samples(tmp_path, judge_orders):
    """The intro states the run's judge orders (not always both) and how to avoid double-counting
    duplicate samples in `nodes` (they carry their first copy's wins)."""
    run = make_run(tmp_path, "demo", f"search.judge_orders={judge_orders}")
    intro = _intro_of(run)
    assert ("both A/B orders" in intro) == (judge_orders == "both")
    assert ("seeded coin flip" in intro) == (judge_orders == "one")
    assert "pair of distinct candidates" in intro and "`duplicate_of IS NULL`" in intro


def test_card_intro_of_a_solution_run_describes_scoring(tmp_path):
    intro = _intro_of(make_run(tmp_path, "demo", "search.strategy=solution"))
    assert "scores each one itself" in intro and "pair of distinct candidates" not in intro


def _intro_of(run) -> str:
    from builder.hub.card import CardInputs, render_card

    text = render_card(CardInputs("o/n", "demo", "mit", [], run.config_path.read_text(), {"nodes": [1]}, {}, {}))
    return text.split("## Configs and splits")[0]


def test_card_says_which_pairs_are_oracle_labelled(tmp_path):
    run = build_run(tmp_path)
    write_table(run, "pairs", 2, "checker", [dict(_row("pairs", i), label_source="checker") for i in range(2)])
    record_table(run, 2, "pairs", {"gates": {}, "checker": {"gates": {}, "note": "oracle-labelled"}})
    out = tmp_path / "repo"
    assert invoke("push", "--run", run.root, "--repo", "o/n", "--dry-run", out).exit_code == 0
    _, text = front_matter(out)
    assert "## Oracle-labelled pairs" in text and "`pairs/iteration=2/part-checker.parquet`" in text
    assert "iteration(s) 2 also" in text and "label_source = 'judge'" in text
    plain = tmp_path / "plain"
    assert invoke("push", "--run", build_run(tmp_path / "b").root, "--repo", "o/n", "--dry-run", plain).exit_code == 0
    assert "Oracle-labelled" not in front_matter(plain)[1]

"""The README.md dataset card: YAML front matter the Hub and `datasets` read, then the documentation.

Front matter: license and tags from run.config.hub, and `configs:` with one config per table
present and one split per iteration (`iter<N>`), `pairs` the default config. The body: what the
data is (the method, citing the paper), every column's description from schemas/, lineage per
iteration from the manifests, the run config, the report summary, and how to load and query it.
The card is a pure function of plain values so it can be tested without a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from builder import schemas

# Config order on the card; `pairs` (the step-DPO training data) is the default config.
TABLE_ORDER = ("pairs", "problems", "trees", "nodes", "judgments", "evals", "ift", "eft", "scores")
DEFAULT_CONFIG = "pairs"
PAPER = (
    'S. Zhang, X. Liu, X. Zhang, J. Liu, Z. Luo, S. Huang, Y. Gong, "Process-based Self-Rewarding '
    'Language Models", Findings of ACL 2025, [arXiv:2503.03746](https://arxiv.org/abs/2503.03746)'
)
# Report keys worth showing first in the compact summary (substring match, lower case).
_REPORT_KEYS = ("consisten", "accura", "position", "first", "unparse", "tie", "rollback", "cycle", "pairs", "steps")
_REPORT_MAX_LINES = 40
_MAX_FILES_LISTED = 8


@dataclass(slots=True)
class CardInputs:
    repo_id: str
    run_name: str
    license: str
    tags: list[str]
    run_yaml: str
    splits: dict[str, list[int]]          # table -> iterations present in the repo
    rows: dict[tuple[str, int], int]       # (table, iteration) -> rows, where known
    manifests: dict[int, dict]             # iteration -> manifest, for iterations pushed from this run
    report: dict | None = None             # RUN/report/report.json, when present
    remote_only: tuple[int, ...] = ()      # iterations already on the Hub, not pushed this time


def split_name(iteration: int) -> str:
    return f"iter{iteration}"


def tag_name(iteration: int) -> str:
    return f"iter-{iteration}"


def data_path(table: str, iteration: int) -> str:
    return f"{table}/iteration={iteration}/*.parquet"


def ordered_tables(splits: dict[str, list[int]]) -> list[str]:
    known = [t for t in TABLE_ORDER if splits.get(t)]
    return known + sorted(t for t in splits if splits[t] and t not in TABLE_ORDER)


def front_matter(inp: CardInputs) -> dict:
    configs = []
    for table in ordered_tables(inp.splits):
        cfg = {"config_name": table}
        if table == DEFAULT_CONFIG:
            cfg["default"] = True
        cfg["data_files"] = [{"split": split_name(n), "path": data_path(table, n)} for n in inp.splits[table]]
        configs.append(cfg)
    meta = {"license": inp.license, "tags": list(inp.tags), "pretty_name": f"PSRLM step-wise self-rewarding data ({inp.run_name})"}
    meta["configs"] = configs
    return meta


def render_card(inp: CardInputs) -> str:
    head = yaml.safe_dump(front_matter(inp), sort_keys=False, allow_unicode=True)
    sections = [
        _intro(inp), _contents(inp), _oracle(inp), _loading(inp), _columns(inp), _lineage(inp),
        _report(inp), _config(inp), _citation(),
    ]
    return f"---\n{head}---\n\n" + "\n\n".join(s.strip() for s in sections if s.strip()) + "\n"


def _intro(inp: CardInputs) -> str:
    name = inp.repo_id.split("/")[1]
    return f"""
# {name}

Step-level preference data built with psr-builder by Process-based
Self-Rewarding (PSRLM; {PAPER}). {_method(inp)} No gold answer is used by the search. M(N+1) is
then trained on these pairs with step-wise DPO, whose loss covers only the tokens of the one step.
This repository holds the search trees, every sampled step, every self-judgment and the resulting
pairs, per iteration, so others can train on the pairs, audit the judge, or query everything with
DuckDB.
"""


def _method(inp: CardInputs) -> str:
    """What this run's search did, from its run.yaml (judge orders and strategy differ per run)."""
    search = (yaml.safe_load(inp.run_yaml) or {}).get("search") or {}
    if search.get("strategy") == "solution":
        return ("This run is the solution-level baseline (SRLM, Yuan et al. 2024): in iteration N the model "
                "M(N) samples several complete solutions per problem, scores each one itself with a judge "
                "prompt, and records the highest- vs the lowest-scored solution as a pair.")
    orders = ("one A/B order per pair, which step is shown first decided by a seeded coin flip"
              if search.get("judge_orders") == "one" else "both A/B orders")
    keep = ("searches with MCTS guided by these judgments and its own rollouts"
            if search.get("strategy") == "mcts" else "keeps the step that wins most comparisons")
    return (f"In iteration N the model M(N) solves each problem one step at a time: it samples several "
            f"candidate next steps, judges every pair of distinct candidates itself with a step-wise pairwise "
            f"judge prompt ({orders}; a step sampled only in identical copies needs no judge), {keep} and "
            f"records the best-vs-worst pair. In `nodes` a sample that repeats an earlier one of its round has "
            f"`duplicate_of` set, was not judged and carries its first copy's `wins`: filter "
            f"`duplicate_of IS NULL` (distinct samples) or `judged` (the judged candidates) before averaging "
            f"per-candidate figures such as `wins`.")


def _contents(inp: CardInputs) -> str:
    iters = sorted({n for its in inp.splits.values() for n in its})
    head = "| config | " + " | ".join(f"`{split_name(n)}`" for n in iters) + " |"
    sep = "|---|" + "---|" * len(iters)
    lines = ["## Configs and splits", "",
             f"One config per table, one split per iteration (`iter<N>`; tag `iter-<N>` marks the commit that "
             f"published iteration N). `{DEFAULT_CONFIG}` is the default config. Rows per split:", "", head, sep]
    for table in ordered_tables(inp.splits):
        cells = [_rows_cell(inp, table, n) for n in iters]
        lines.append(f"| `{table}` | " + " | ".join(cells) + " |")
    lines += ["", "Files: `<table>/iteration=<N>/part-*.parquet` (the partition value is also the `iteration` "
              "column); `manifests/iteration=<N>.json` (lineage and sha256 of every file); `run.yaml` (the run config)."]
    return "\n".join(lines)


def oracle_iterations(manifests: dict[int, dict]) -> list[int]:
    """Iterations whose pairs include oracle-labelled (step checker) pairs."""
    return sorted(n for n, m in manifests.items() if "checker" in (m.get("derived") or {}).get("pairs", {}))


def _oracle(inp: CardInputs) -> str:
    its = oracle_iterations(inp.manifests)
    if not its:
        return ""
    files = ", ".join(f"`pairs/iteration={n}/part-checker.parquet`" for n in its)
    return f"""
## Oracle-labelled pairs (an ablation, not self-rewarding data)

The `pairs` config of iteration(s) {", ".join(map(str, its))} also holds pairs labelled by the task's
step checker, not by the model: rows with `label_source = 'checker'` ({files}). They measure the
ceiling (what training on perfectly labelled pairs of the same rounds would do) and were never
used to train the loop's models. Self-rewarding data is `label_source = 'judge'`: filter on it,
e.g. `pairs.filter(lambda r: r["label_source"] == "judge")`.
"""


def _rows_cell(inp: CardInputs, table: str, n: int) -> str:
    if n not in inp.splits.get(table, []):
        return ""
    rows = inp.rows.get((table, n))
    return f"{rows:,}" if rows is not None else "yes"


def _loading(inp: CardInputs) -> str:
    repo = inp.repo_id
    first = min(inp.splits.get(DEFAULT_CONFIG) or [n for its in inp.splits.values() for n in its])
    table = DEFAULT_CONFIG if inp.splits.get(DEFAULT_CONFIG) else ordered_tables(inp.splits)[0]
    extra = ""
    if first in inp.splits.get("judgments", []):
        extra = f'judgments = load_dataset("{repo}", "judgments", split="{split_name(first)}")\n'
    return f"""
## Load it

```python
from datasets import load_dataset

{table} = load_dataset("{repo}", "{table}", split="{split_name(first)}")
# exactly as published with iteration {first} (a git tag of this repository):
{table} = load_dataset("{repo}", "{table}", split="{split_name(first)}", revision="{tag_name(first)}")
{extra}```

## Query it with DuckDB

```sql
-- every iteration of a table (`iteration` is a real column; hive_partitioning = false keeps its INTEGER type)
SELECT iteration, count(*) AS pairs, avg(margin) AS mean_margin
FROM read_parquet('hf://datasets/{repo}/pairs/*/*.parquet', hive_partitioning = false, union_by_name = true)
WHERE label_source IS DISTINCT FROM 'checker'  -- the self-judged pairs (checker: oracle-labelled ablation)
GROUP BY iteration ORDER BY iteration;

-- pinned to the commit tagged {tag_name(first)}
SELECT * FROM read_parquet('hf://datasets/{repo}@{tag_name(first)}/{table}/**/*.parquet', hive_partitioning = false) LIMIT 5;
```

Tags `iter-<N>` need no escaping; a revision with special characters (such as `/` in
`refs/convert/parquet`) must be URL-encoded after `@` (`refs%2Fconvert%2Fparquet`). Private
repositories need a token: `CREATE SECRET hf (TYPE huggingface, PROVIDER credential_chain);`.
"""


def _columns(inp: CardInputs) -> str:
    out = ["## Tables and columns"]
    for table in ordered_tables(inp.splits):
        ts = schemas.get(table)
        out += ["", f"### `{table}` (schema version {ts.version})", "", ts.description, "",
                "| column | type | nullable | description |", "|---|---|---|---|"]
        for col in schemas.column_docs(table):
            null = "yes" if col["nullable"] else "no"
            out.append(f"| `{col['name']}` | {col['type']} | {null} | {_cell(col['description'])} |")
    return "\n".join(out)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _lineage(inp: CardInputs) -> str:
    out = ["## Lineage", "", "From each iteration's manifest (`manifests/iteration=<N>.json`, written when the "
           "iteration was sealed; it also records the sha256 of every file)."]
    for n in sorted(inp.manifests):
        out += ["", *_lineage_one(n, inp.manifests[n])]
    for n in inp.remote_only:
        out += ["", f"### Iteration {n}", "", f"Published by an earlier push; see `manifests/iteration={n}.json`."]
    return "\n".join(out)


def _lineage_one(n: int, manifest: dict) -> list[str]:
    lines = [f"### Iteration {n}", "", f"- sealed at: {manifest.get('sealed_at', 'unknown')}"]
    for key, value in (manifest.get("lineage") or {}).items():
        lines.append(f"- {key}: {_value(value)}")
    for key, value in (manifest.get("derived") or {}).items():
        lines.append(f"- derived `{key}`: {_value(value)}")
    lines += ["", "| file | rows | sha256 |", "|---|---|---|"]
    for table, entry in manifest.get("tables", {}).items():
        files = sorted(entry.get("files", {}).items())
        if len(files) > _MAX_FILES_LISTED:  # many chunk parts: one line, the manifest has every hash
            lines.append(f"| `{table}/iteration={n}/` ({len(files)} files) | {entry.get('rows', '')} | in the manifest |")
            continue
        for name, meta in files:
            lines.append(f"| `{table}/iteration={n}/{name}` | {meta.get('rows', '')} | `{meta.get('sha256', '')}` |")
    return lines


def _value(value) -> str:
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, sort_keys=True, ensure_ascii=False).replace("`", "'") + "`"
    return f"`{value}`" if value is not None else "none"


def _report(inp: CardInputs) -> str:
    if inp.report is None:
        return ("## Judge consistency and accuracy\n\nThe report was not run for this push "
                "(`psr report --run RUN --format json` writes it; push again to include it).")
    flat = _flatten(inp.report)
    first = [kv for kv in flat if any(k in kv[0].lower() for k in _REPORT_KEYS)]
    rest = [kv for kv in flat if kv not in first]
    picked = (first + rest)[:_REPORT_MAX_LINES]
    lines = ["## Judge consistency and accuracy", "",
             "A compact summary of `report/report.json` (from `psr report --format json`; the full file is in this repository).",
             "", "| metric | value |", "|---|---|"]
    lines += [f"| `{key}` | {_cell(_fmt(value))} |" for key, value in picked]
    if len(flat) > len(picked):
        lines += ["", f"({len(flat) - len(picked)} more values in `report/report.json`.)"]
    return "\n".join(lines)


def _flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    """Scalar leaves of a JSON value as (dotted.path, value); long lists are skipped (they are data)."""
    if isinstance(obj, dict):
        out = []
        for key, value in obj.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(obj, list):
        if len(obj) > 12:
            return []
        out = []
        for i, value in enumerate(obj):
            out += _flatten(value, f"{prefix}[{i}]")
        return out
    if isinstance(obj, str) and len(obj) > 120:
        return []
    return [(prefix or "value", obj)]


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "null" if value is None else str(value)


def _config(inp: CardInputs) -> str:
    return f"## Run config\n\nThe run's frozen `run.yaml` (also in this repository):\n\n```yaml\n{inp.run_yaml.strip()}\n```"


def _citation() -> str:
    return """
## Citation

```bibtex
@inproceedings{zhang2025psrlm,
  title     = {Process-based Self-Rewarding Language Models},
  author    = {Zhang, S. and Liu, X. and Zhang, X. and Liu, J. and Luo, Z. and Huang, S. and Gong, Y.},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2025},
  year      = {2025},
  eprint    = {2503.03746},
  archivePrefix = {arXiv}
}
```
"""

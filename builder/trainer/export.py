"""`psr export`: the trainer's input file of one iteration, written again only when its inputs change.

Iteration N >= 1: RUN/trainer/iteration=N/pairs.parquet with exactly `prompt, chosen, rejected`
(Axolotl `rl: dpo` with no `type:` uses them verbatim), from the pairs table of the sealed iteration.
Iteration 0: RUN/trainer/iteration=0/sft.parquet, Axolotl `input_output` rows built by
builder.trainer.sft from the train split of the ift and eft tables.

EOS policy (docs/training.md): a terminal step (is_final_step for chosen, rejected_terminal
for rejected) ends with the model's EOS text; an intermediate step carries none. The trainer
(builder.trainer.eos_dpo) adds nothing on top, so this file is exactly what is trained on.

Rows that would break or mislead the trainer are dropped and counted, never exported: an empty
prompt/chosen/rejected (Axolotl raises on them), chosen == rejected (no preference), and a pair
whose tokenized prompt is not a prefix of tokenized prompt+step (TRL would silently cut the step).
A done marker (builder/store/done.py) holds the export's inputs (the source part files, the
tokenizer's model, the templates): an unchanged source is not even re-read. A changed source is
exported again, and `psr train` then retrains, since its marker holds this file's hash. The rows'
hash also sits in the file's metadata, so a recomputation with identical rows writes nothing.

Only the judge's pairs (label_source 'judge') are exported by default. `--label checker` exports
the oracle ablation's pairs instead, into RUN/trainer/iteration=N/checker/ (its own config,
prepared cache and model M(N+1)-checker), so the loop's files never see them. `--label replay`
(iteration N >= 1) writes RUN/trainer/iteration=N/replay/sft.parquet: iteration 0's SFT rows, the
same rows as RUN/trainer/iteration=0/sft.parquet (same tables, templates and M0 tokenizer), for
the compute-matched control M(N+1)-replay (builder/trainer/render.py gives it its step count).
With trainer.dpo.replay_share > 0 the pairs file also holds iteration 0's rows as tie pairs
(`replay_rows`): replay inside the DPO run, trained by its NLL term alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import InputError, PsrError
from builder.ids import rows_digest
from builder.store import ModelRef, Run, atomic, is_sealed, load_manifest, read_table
from builder.store.model_ref import JUDGE, skips_iteration

HASH_KEY = b"psr_export_sha256"
DPO_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass(slots=True)
class ExportResult:
    path: Path
    status: str  # written | replaced | unchanged | skipped
    rows: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    sha256: str = ""


def label_dir(run: Run, iteration: int, label: str = JUDGE) -> Path:
    """An iteration's trainer folder; an ablation (label checker) has its own subfolder."""
    return ModelRef.trained_by(iteration, label).trainer_dir(run)


def export_path(run: Run, iteration: int, label: str = JUDGE) -> Path:
    sft = not ModelRef.trained_by(iteration, label).from_pairs
    return label_dir(run, iteration, label) / ("sft.parquet" if sft else "pairs.parquet")


def prepared_path(run: Run, iteration: int, label: str = JUDGE) -> Path:
    """Axolotl's tokenized-dataset cache of this iteration (keyed by config, so one per iteration)."""
    return label_dir(run, iteration, label) / "prepared"


def export_iteration(run: Run, iteration: int, force: bool = False, label: str = JUDGE) -> ExportResult:
    """Write the iteration's trainer file unless done from the same inputs (builder/store/done.py);
    `force` recomputes it anyway. A replaced file drops Axolotl's prepared cache (keyed by config)."""
    from builder.store.done import check, mark_done

    label_dir(run, iteration, label)  # an unknown label, or a label at iteration 0: exit 2 before any work
    if skips_iteration(run, iteration):
        return ExportResult(export_path(run, 0), "skipped")
    path, sft = export_path(run, iteration, label), not ModelRef.trained_by(iteration, label).from_pairs
    source = _sft_source(run) if sft else _dpo_source(run, iteration, label)
    step, fp = export_step(run, iteration, label), export_fingerprint(run, iteration, label, source)
    marker = None if force else check(run, step, fp)
    if marker:
        facts = marker["facts"]
        return ExportResult(path, "unchanged", facts["rows"], facts["dropped"], facts["sha256"])
    rows, dropped, lineage = _sft_export(run, source) if sft else _dpo_export(run, iteration, label, source)
    if not rows:
        what = "no IFT/EFT train rows" if sft else "no step pairs to train on"
        raise PsrError(f"iteration {iteration}: {what} ({_dropped_text(dropped)}); nothing to export, "
                       f"so {ModelRef.trained_by(iteration, label).name} cannot be trained from it")
    digest = rows_digest(rows)
    old = existing_sha256(path)
    if old != digest:
        write_parquet(path, rows, digest, sft=sft)
        if old is not None:  # a stale prepared cache would train on the old file
            shutil.rmtree(prepared_path(run, iteration, label), ignore_errors=True)
        _write_json(path.with_name("export.json"), {
            "file": path.name, "sha256": digest, "rows": len(rows), "dropped": dropped, **lineage,
        })
    mark_done(run, step, fp, [path], {"rows": len(rows), "dropped": dropped, "sha256": digest})
    status = "unchanged" if old == digest else "replaced" if old else "written"
    return ExportResult(path, status, len(rows), dropped, digest)


def export_step(run: Run, iteration: int, label: str = JUDGE) -> str:
    return f"export/iteration={iteration}" + (f"/{label}" if ModelRef.trained_by(iteration, label).ablation else "")


def export_fingerprint(run: Run, iteration: int, label: str, source: dict) -> str:
    """The export's inputs: its source part files (by sha256), the tokenizer's model and, for the
    SFT file, the prompt templates it renders."""
    from builder.prompts import load_template
    from builder.store.done import fingerprint, model_id

    sft = not ModelRef.trained_by(iteration, label).from_pairs  # iteration 0's rows: M0's tokenizer renders them
    inputs = {"source": source, "label": label, "model": model_id(run.require_model(0 if sft else iteration))}
    share = 0.0 if sft else run.config.trainer.dpo.replay_share
    if share:  # replayed iteration-0 rows: their source, templates and share (absent at 0: older markers hold)
        inputs.update(replay_share=share, replay_source=_sft_source(run))
    if sft or share:
        p = run.config.prompts
        inputs["templates"] = [load_template(p.reasoning), load_template(p.judge), load_template(p.score)]
    return fingerprint(inputs)


def _dpo_source(run: Run, iteration: int, label: str) -> dict:
    """This label's pairs part files in the sealed manifest; a missing step is exit 2 naming it."""
    from builder.pairs.checker import CHECKER_PART

    ref = ModelRef.trained_by(iteration, label)

    root, ref = run.root, ModelRef.trained_by(iteration, label)
    if not is_sealed(run, iteration):
        raise InputError(
            f"iteration {iteration} is not sealed; run `psr generate --run {root} --iter {iteration}` and "
            f"`psr seal --run {root} --iter {iteration}`, then `psr pairs`, before exporting"
        )
    manifest = load_manifest(run, iteration)
    derived = manifest.get("derived", {}).get("pairs", {})
    if "pairs" not in manifest.get("tables", {}) or (ref.ablation and label not in derived):
        raise InputError(f"iteration {iteration} has no {label} pairs yet; run `psr pairs --run {root} --iter {iteration}{ref.flag}` first")
    files = manifest["tables"]["pairs"]["files"]
    own = {f"part-{CHECKER_PART}.parquet"} if ref.ablation else set(files) - {f"part-{CHECKER_PART}.parquet"}
    return {"table": "pairs", "iteration": iteration, "label_source": label,
            "files": {k: v for k, v in files.items() if k in own}}


def _dpo_export(run: Run, iteration: int, label: str, source: dict) -> tuple[list[dict], dict, dict]:
    from builder.pairs.checker import ORACLE_NOTE

    ref = ModelRef.trained_by(iteration, label)

    pairs = [p for p in read_table(run, "pairs", iteration).to_pylist() if p["label_source"] == label]
    if not pairs:
        from builder.pairs import gates_text, no_pairs_hint

        derived = load_manifest(run, iteration).get("derived", {}).get("pairs", {})
        gates = derived.get(label, {}).get("gates", {}) if ref.ablation else derived.get("gates", {})
        hint = ("no round held both a correct and a wrong candidate" if ref.ablation
                else no_pairs_hint(gates, run.config.search.strategy, run.root, iteration))
        raise PsrError(f"iteration {iteration}: 0 {label + ' ' if ref.ablation else ''}pairs ({gates_text(gates)}); nothing to export, so "
                       f"{ref.name} cannot be trained from it: {hint}")
    model = run.require_model(iteration)
    renderer = renderer_for(model, iteration)
    rows, dropped = dpo_rows(pairs, renderer.eos_text, renderer.tokenizer)
    lineage = {"source": source, "tokenizer": model, "eos_text": renderer.eos_text}
    share = run.config.trainer.dpo.replay_share
    if share and rows:
        replay, of = replay_rows(run, iteration, len(rows), share, renderer.tokenizer)
        rows += replay
        lineage["replay"] = {"share": share, "rows": len(replay), "drawn_from": of}
    if ref.ablation:
        lineage["note"] = ORACLE_NOTE
    return rows, dropped, lineage


def replay_rows(run: Run, iteration: int, n_pairs: int, share: float, tokenizer) -> tuple[list[dict], int]:
    """trainer.dpo.replay_share: iteration 0's SFT train rows beside n_pairs pairs, so that they are
    `share` of the file, each as prompt / completion / the same completion. Such a pair's DPO term is
    exactly zero (equal log-ratios), so only the NLL term trains on it: replay in the same run.
    Drawn without replacement by the run's seed and the iteration; `tokenizer` is M(N)'s, for TRL's
    prefix check. Returns (rows, rows drawn from)."""
    import random

    sft, _, _ = _sft_export(run, _sft_source(run))
    want = min(len(sft), round(n_pairs * share / (1.0 - share)))
    picked = sorted(random.Random(f"{run.config.seed}/replay/{iteration}").sample(range(len(sft)), want))
    rows = [_as_pair(sft[i]["segments"]) for i in picked]
    keep, _ = _keep_token_prefix(rows, tokenizer)
    return keep, len(sft)


def _as_pair(segments: list[dict]) -> dict:
    """An input_output row (prompt segment, completion segment) as a tie pair."""
    prompt, completion = segments[0]["text"], "".join(seg["text"] for seg in segments[1:])
    return {"prompt": prompt, "chosen": completion, "rejected": completion}


def dpo_rows(pairs: list[dict], eos_text: str, tokenizer=None) -> tuple[list[dict], dict]:
    """Pairs table rows -> trainer rows with the EOS policy applied; returns (rows, dropped counts)."""
    rows, dropped = [], {}
    for pair in pairs:
        row = {
            "prompt": pair["prompt"],
            "chosen": with_eos(pair["chosen"], eos_text, pair["is_final_step"]),
            "rejected": with_eos(pair["rejected"], eos_text, pair["rejected_terminal"]),
        }
        reason = _reject_reason(row, eos_text)
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
        else:
            rows.append(row)
    if tokenizer is not None and rows:
        rows, n_bad = _keep_token_prefix(rows, tokenizer)
        if n_bad:
            dropped["prompt not a token prefix"] = n_bad
    return rows, dropped


def with_eos(step: str, eos_text: str, terminal: bool) -> str:
    """A terminal step ends with exactly one EOS text; an intermediate one with none."""
    if not eos_text:
        return step
    while step.endswith(eos_text):
        step = step[: -len(eos_text)]
    return step + eos_text if terminal else step


def _reject_reason(row: dict, eos_text: str) -> str | None:
    for col in DPO_COLUMNS:
        text = row[col].removesuffix(eos_text) if eos_text else row[col]
        if not text.strip():
            return f"empty {col}"
    if row["chosen"] == row["rejected"]:
        return "chosen == rejected"
    return None


def _keep_token_prefix(rows: list[dict], tokenizer) -> tuple[list[dict], int]:
    """TRL's own check, done here: tokens(prompt) must prefix tokens(prompt + completion)."""
    enc = lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompts = enc([r["prompt"] for r in rows])
    chosen = enc([r["prompt"] + r["chosen"] for r in rows])
    rejected = enc([r["prompt"] + r["rejected"] for r in rows])
    keep = [r for r, p, c, j in zip(rows, prompts, chosen, rejected) if c[: len(p)] == p and j[: len(p)] == p]
    return keep, len(rows) - len(keep)


def _sft_source(run: Run) -> dict:
    """Iteration 0's ift/eft/scores part files in its manifest; unsealed is exit 2 naming init-data."""
    if not is_sealed(run, 0):
        raise InputError(f"iteration 0 is not sealed; run `psr init-data --run {run.root}` first")
    files = load_manifest(run, 0)["tables"]
    return {t: files.get(t, {}).get("files", {}) for t in ("ift", "eft", "scores")}


def _sft_export(run: Run, source: dict) -> tuple[list[dict], dict, dict]:
    from builder.prompts import load_template
    from builder.trainer.sft import sft_rows

    ift = [r for r in read_table(run, "ift", 0).to_pylist() if r["split"] == "train"]
    eft = [r for r in read_table(run, "eft", 0).to_pylist() if r["split"] == "train"]
    scores = [r for r in read_table(run, "scores", 0).to_pylist() if r["split"] == "train"]
    model = run.require_model(0)
    renderer = renderer_for(model, 0)
    prompts = run.config.prompts
    rows = sft_rows(ift, eft, renderer, reasoning_tmpl=load_template(prompts.reasoning),
                    judge_tmpl=load_template(prompts.judge), score_rows=scores,
                    score_tmpl=load_template(prompts.score) if scores else None)
    keep = [r for r in rows if all(seg["text"].strip() for seg in r["segments"])]
    dropped = {"empty segment": len(rows) - len(keep)} if len(keep) < len(rows) else {}
    tables = ["ift", "eft"] + (["scores"] if scores else [])
    lineage = {"source": {"tables": tables, "split": "train", "ift_rows": len(ift), "eft_rows": len(eft),
                          **({"score_rows": len(scores)} if scores else {}),
                          "files": {t: source[t] for t in tables}},
               "tokenizer": model, "prompts": run.config.prompts.model_dump()}
    return keep, dropped, lineage


def renderer_for(model: str, iteration: int):
    """The chat renderer (tokenizer) of M(N): its chat template and EOS text shape the export."""
    from builder.prompts import ChatRenderer

    try:
        return ChatRenderer(model)
    except (OSError, ValueError) as exc:
        raise PsrError(f"cannot load the tokenizer of M{iteration} ({model}): {str(exc).splitlines()[0]}") from None


def existing_sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # noqa: BLE001 - an unreadable file is "different content"
        return "unreadable"
    return meta.get(HASH_KEY, b"unknown").decode()


def _schema(sft: bool):
    import pyarrow as pa

    if sft:
        seg = pa.struct([pa.field("label", pa.bool_()), pa.field("text", pa.string())])
        return pa.schema([pa.field("segments", pa.list_(seg), nullable=False)])
    return pa.schema([pa.field(c, pa.string(), nullable=False) for c in DPO_COLUMNS])


def write_parquet(path: Path, rows: list[dict], digest: str, sft: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=_schema(sft)).replace_schema_metadata({HASH_KEY: digest.encode()})
    with atomic.atomic_open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")


def _write_json(path: Path, data: dict) -> None:
    atomic.write_json(path, data, indent=2, default=str)


def _dropped_text(dropped: dict) -> str:
    return ", ".join(f"{n} dropped: {why}" for why, n in dropped.items()) or "the table is empty"

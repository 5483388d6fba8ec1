"""Step markers (builder/store/done.py): done only for the same inputs and untouched outputs."""

from builder.store import atomic
from builder.store.done import check, fingerprint, is_done, mark_done, marker_path, model_id, path_hash
from tests.helpers import make_run


def test_done_needs_the_same_fingerprint_and_the_outputs_as_written(tmp_path):
    run = make_run(tmp_path)
    out = run.root / "eval" / "result.json"
    atomic.write_text(out, "first\n")
    fp = fingerprint({"limit": 3, "model": "m"})
    assert not is_done(run, "demo/step", fp)  # no marker yet
    mark_done(run, "demo/step", fp, [out], {"rows": 3})
    assert check(run, "demo/step", fingerprint({"model": "m", "limit": 3}))["facts"] == {"rows": 3}  # key order is no input
    assert not is_done(run, "demo/step", fingerprint({"limit": 4, "model": "m"}))
    assert not list(marker_path(run, "demo/step").parent.glob(".*tmp*"))  # written atomically
    out.write_text("changed by hand\n")
    assert not is_done(run, "demo/step", fp)
    out.unlink()
    assert not is_done(run, "demo/step", fp)


def test_a_model_folder_is_its_files_without_axolotls_run_logs(tmp_path, tiny_model_dir):
    import shutil

    model = tmp_path / "M1"
    shutil.copytree(tiny_model_dir, model)
    before = model_id(str(model))
    (model / "README.md").write_text("written by the trainer, run by run\n")
    (model / "checkpoint-1").mkdir()
    assert model_id(str(model)) == before == path_hash(model)
    (model / "config.json").write_text((model / "config.json").read_text() + "\n")
    assert model_id(str(model)) != before
    assert model_id("Qwen/Qwen2.5-Math-7B") == "Qwen/Qwen2.5-Math-7B"  # a Hub id stands for itself

"""Lineage facts for manifests: content hashes, model fingerprints, package and git versions."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def model_fingerprint(model: str) -> dict:
    """Path plus hashes of the config and of the weight index (or weight file sizes) when local."""
    p = Path(model)
    out: dict[str, object] = {"path": model}
    if not p.is_dir():
        return out
    for name in ("config.json", "model.safetensors.index.json", "generation_config.json"):
        if (p / name).exists():
            out[name] = sha256_file(p / name)
    weights = sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin"))
    if weights and len(weights) <= 2 and sum(w.stat().st_size for w in weights) < 2 << 30:
        out["weights_sha256"] = {w.name: sha256_file(w) for w in weights}
    else:
        out["weights_sizes"] = {w.name: w.stat().st_size for w in weights}
    return out


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("psr-builder")
    except PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def base_lineage(run) -> dict:
    return {
        "run_config_sha256": sha256_file(run.config_path),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "seed": run.config.seed,
    }

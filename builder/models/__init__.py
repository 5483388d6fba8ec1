"""Model builders: the tiny demo model (tiny.py) and SmolLM2 from its packaged GGUF (smollm2.py)."""

"""Hand-off to Axolotl: export training files, render and validate configs, run `axolotl train`.

Kept import-free on purpose: `builder.trainer.eos_dpo` is imported inside the Axolotl venv, which
has none of the toolkit's own dependencies beyond what Axolotl brings.
"""

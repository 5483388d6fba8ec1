"""The versioned iteration store: RUN/data/<table>/iteration=<N>/part-*.parquet plus manifests.

`Run` knows the paths; `parts` writes and reads Parquet atomically; `manifest` seals iterations
and checks files against what was sealed (`check_sealed_files`).
"""

from builder.store.manifest import (
    check_sealed_files,
    is_sealed,
    load_manifest,
    record_table,
    require_sealed,
    require_unsealed,
    seal,
)
from builder.store.parts import clear_tables, part_paths, read_table, write_table
from builder.store.model_ref import ModelRef
from builder.store.run import Run, init_run

__all__ = [
    "Run", "init_run", "ModelRef", "write_table", "read_table", "part_paths", "clear_tables",
    "seal", "is_sealed", "load_manifest", "record_table", "require_sealed", "require_unsealed", "check_sealed_files",
]

"""Publishing sealed iterations as a Hugging Face dataset repository (`psr push`).

folder.py lays out the repository folder (Parquet parts, manifests, run config, report), card.py
writes its README.md dataset card, upload.py talks to the Hub (HfApi) with retries, and
push.py ties them together. Only sealed iterations are ever published.
"""

from builder.hub.folder import check_repo_id, select_iterations
from builder.hub.push import PushResult, publish

__all__ = ["check_repo_id", "select_iterations", "publish", "PushResult"]

"""Self-judged search, batched across problems: step-wise tournament (the paper's) and judge-guided MCTS, and
solution-level self-rewarding (strategy solution, the SRLM baseline).

`run_search` is the store-free core (used by `psr generate` per chunk and by `psr eval`);
`builder.search.iteration` runs it over an iteration's chunks with resumable, sharded writes.
"""

from builder.search.context import AnswerChecker, Templates
from builder.search.driver import NullProgress, SearchResult, SearchStats, run_search

__all__ = ["AnswerChecker", "NullProgress", "SearchResult", "SearchStats", "Templates", "run_search"]

"""Analysis of a run: the report's DuckDB queries, held-out evaluation and judge evaluation."""

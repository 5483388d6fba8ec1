-- Test-time search against greedy decoding of the same model M(N) on the same held-out problems
-- (`psr eval --mode search` and `--mode greedy`; eval.search_limit searches the first K of greedy's
-- problems), per iteration and benchmark; the loop's models only (label_source 'judge').
--   problems_shared               problems (problem_id) scored in both modes
--   search_correct, greedy_correct, search_accuracy, greedy_accuracy   on those problems
--   only_search, only_greedy      right in one mode only (the discordant counts of the exact McNemar
--                                 p in builder/analysis/report.py search_vs_greedy_stats)
--   difference                    search_accuracy - greedy_accuracy
--   judge_calls, judge_tokens     summed over the search-mode rows (evals.judge_calls, judge_tokens;
--                                 null for rows written before those columns)
--   judge_tokens_per_decision     judge_tokens / judge_calls
--   judge_calls_per_step          judge_calls / steps of the search-mode solutions (evals.n_steps)
SELECT s.iteration, s.benchmark,
       count(*) AS problems_shared,
       count(*) FILTER (WHERE s.correct) AS search_correct,
       count(*) FILTER (WHERE g.correct) AS greedy_correct,
       count(*) FILTER (WHERE s.correct) / count(*) AS search_accuracy,
       count(*) FILTER (WHERE g.correct) / count(*) AS greedy_accuracy,
       count(*) FILTER (WHERE s.correct AND NOT g.correct) AS only_search,
       count(*) FILTER (WHERE g.correct AND NOT s.correct) AS only_greedy,
       (count(*) FILTER (WHERE s.correct AND NOT g.correct) - count(*) FILTER (WHERE g.correct AND NOT s.correct))
           / count(*) AS difference,
       sum(s.judge_calls) AS judge_calls,
       sum(s.judge_tokens) AS judge_tokens,
       sum(s.judge_tokens) / nullif(sum(s.judge_calls), 0) AS judge_tokens_per_decision,
       sum(s.judge_calls) / nullif(sum(s.n_steps), 0) AS judge_calls_per_step
FROM evals s
JOIN evals g ON g.iteration = s.iteration AND g.benchmark = s.benchmark AND g.problem_id = s.problem_id
            AND g.mode = 'greedy' AND g.label_source = 'judge'
WHERE s.mode = 'search' AND s.label_source = 'judge'
GROUP BY s.iteration, s.benchmark
ORDER BY s.iteration, s.benchmark;

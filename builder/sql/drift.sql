-- Length drift per iteration (the paper saw fewer, longer steps every round).
--   steps_mean, steps_median   steps on the accepted path of finished trees (all trees when none finished)
--   step_tokens_*              tokens of accepted steps (nodes on_path, depth > 0): mean and the
--                              10/25/50/75/90th percentiles (the report's box plot)
--   candidate_tokens_mean      tokens of every sampled candidate step
WITH steps AS (
    SELECT iteration,
           avg(n_steps) FILTER (WHERE status = 'finished' OR NOT has_finished) AS steps_mean,
           median(n_steps) FILTER (WHERE status = 'finished' OR NOT has_finished) AS steps_median
    FROM (SELECT *, bool_or(status = 'finished') OVER (PARTITION BY iteration) AS has_finished FROM trees)
    GROUP BY iteration
),
accepted AS (
    SELECT iteration,
           count(*) AS accepted_steps,
           avg(n_tokens) AS step_tokens_mean,
           quantile_cont(n_tokens, 0.10) AS step_tokens_p10,
           quantile_cont(n_tokens, 0.25) AS step_tokens_p25,
           quantile_cont(n_tokens, 0.50) AS step_tokens_p50,
           quantile_cont(n_tokens, 0.75) AS step_tokens_p75,
           quantile_cont(n_tokens, 0.90) AS step_tokens_p90,
           avg(length(text)) AS step_chars_mean
    FROM nodes WHERE on_path AND depth > 0
    GROUP BY iteration
),
cands AS (
    SELECT iteration, avg(n_tokens) AS candidate_tokens_mean FROM nodes WHERE depth > 0 GROUP BY iteration
)
SELECT iteration, s.steps_mean, s.steps_median, a.accepted_steps, a.step_tokens_mean,
       a.step_tokens_p10, a.step_tokens_p25, a.step_tokens_p50, a.step_tokens_p75, a.step_tokens_p90,
       a.step_chars_mean, c.candidate_tokens_mean
FROM steps s FULL JOIN accepted a USING (iteration) FULL JOIN cands c USING (iteration)
ORDER BY iteration;

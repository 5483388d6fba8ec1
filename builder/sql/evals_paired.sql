-- Each model against the previous evaluated model on the same held-out problems, per benchmark
-- and mode: the discordant counts behind the exact McNemar p-value in the report's statistics.
-- The loop's models only (label_source 'judge'); the oracle ablation M(N)-checker is in ceiling.sql.
--   prev_iteration   the previous iteration evaluated on this benchmark and mode
--   problems_shared  problems (problem_id) scored for both models
--   only_prev        right for M(prev_iteration), wrong for M(iteration)
--   only_this        right for M(iteration), wrong for M(prev_iteration)
--   both_right, both_wrong
--   difference       (only_this - only_prev) / problems_shared: paired accuracy difference
WITH its AS (
    SELECT DISTINCT benchmark, mode, iteration FROM evals WHERE label_source = 'judge'
),
prev AS (
    SELECT benchmark, mode, iteration,
           lag(iteration) OVER (PARTITION BY benchmark, mode ORDER BY iteration) AS prev_iteration
    FROM its
)
SELECT p.iteration, p.benchmark, p.mode, p.prev_iteration,
       count(*) AS problems_shared,
       count(*) FILTER (WHERE a.correct AND NOT b.correct) AS only_prev,
       count(*) FILTER (WHERE b.correct AND NOT a.correct) AS only_this,
       count(*) FILTER (WHERE a.correct AND b.correct) AS both_right,
       count(*) FILTER (WHERE NOT a.correct AND NOT b.correct) AS both_wrong,
       (count(*) FILTER (WHERE b.correct AND NOT a.correct) - count(*) FILTER (WHERE a.correct AND NOT b.correct))
           / count(*) AS difference
FROM prev p
JOIN evals b ON b.iteration = p.iteration AND b.benchmark = p.benchmark AND b.mode = p.mode
            AND b.label_source = 'judge'
JOIN evals a ON a.iteration = p.prev_iteration AND a.benchmark = p.benchmark AND a.mode = p.mode
            AND a.problem_id = b.problem_id AND a.label_source = 'judge'
GROUP BY p.iteration, p.benchmark, p.mode, p.prev_iteration
ORDER BY p.benchmark, p.mode, p.iteration;

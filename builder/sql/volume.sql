-- Volume per iteration: problems, trees by status, pairs, judge calls, generated and judge tokens.
-- pairs: the judge's (training) pairs; oracle-labelled checker pairs are counted in ceiling.sql.
-- Columns: iteration, problems, trees, finished, max_steps, abandoned, rollbacks, pairs,
--          pairs_per_tree, judge_calls (trees.judge_calls), judgments (rows in the judgments table),
--          gen_tokens, judge_tokens.
WITH iters AS (
    SELECT iteration FROM problems UNION SELECT iteration FROM trees
    UNION SELECT iteration FROM judgments UNION SELECT iteration FROM pairs
),
p AS (SELECT iteration, count(*) AS problems FROM problems GROUP BY iteration),
t AS (
    SELECT iteration,
           count(*) AS trees,
           count(*) FILTER (WHERE status = 'finished') AS finished,
           count(*) FILTER (WHERE status = 'max_steps') AS max_steps,
           count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
           sum(n_rollbacks) AS rollbacks,
           sum(judge_calls) AS judge_calls,
           sum(gen_tokens) AS gen_tokens,
           sum(judge_tokens) AS judge_tokens
    FROM trees GROUP BY iteration
),
pr AS (SELECT iteration, count(*) AS pairs FROM pairs WHERE label_source = 'judge' GROUP BY iteration),
j AS (SELECT iteration, count(*) AS judgments FROM judgments GROUP BY iteration)
SELECT i.iteration,
       coalesce(p.problems, 0) AS problems,
       coalesce(t.trees, 0) AS trees,
       coalesce(t.finished, 0) AS finished,
       coalesce(t.max_steps, 0) AS max_steps,
       coalesce(t.abandoned, 0) AS abandoned,
       coalesce(t.rollbacks, 0) AS rollbacks,
       coalesce(pr.pairs, 0) AS pairs,
       coalesce(pr.pairs, 0) / nullif(t.trees, 0) AS pairs_per_tree,
       coalesce(t.judge_calls, 0) AS judge_calls,
       coalesce(j.judgments, 0) AS judgments,
       coalesce(t.gen_tokens, 0) AS gen_tokens,
       coalesce(t.judge_tokens, 0) AS judge_tokens
FROM iters i
LEFT JOIN p USING (iteration) LEFT JOIN t USING (iteration)
LEFT JOIN pr USING (iteration) LEFT JOIN j USING (iteration)
ORDER BY i.iteration;

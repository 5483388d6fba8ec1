-- Outcome of the search per iteration: is the accepted path's final answer right?
--   trees_with_gold  trees whose problem has a gold answer (problems.answer not null)
--   accuracy         trees.correct true / trees_with_gold (no final answer counts as wrong)
--   answered_rate    trees with a boxed final answer / trees
--   finished_rate    trees with status 'finished' / trees
SELECT t.iteration,
       count(*) AS trees,
       count(*) FILTER (WHERE p.answer IS NOT NULL OR t.correct IS NOT NULL) AS trees_with_gold,
       count(*) FILTER (WHERE t.correct) AS correct,
       count(*) FILTER (WHERE t.correct)
           / nullif(count(*) FILTER (WHERE p.answer IS NOT NULL OR t.correct IS NOT NULL), 0) AS accuracy,
       count(t.final_answer) / count(*) AS answered_rate,
       count(*) FILTER (WHERE t.status = 'finished') / count(*) AS finished_rate
FROM trees t
LEFT JOIN problems p ON p.problem_id = t.problem_id AND p.iteration = t.iteration
GROUP BY t.iteration
ORDER BY t.iteration;

-- Held-out evaluation (`psr eval`) per iteration, benchmark and mode: the model is M(iteration) of
-- the loop (label_source 'judge'); the oracle ablation M(N)-checker is in ceiling.sql.
--   accuracy       correct / problems
--   answered_rate  rows with an extracted prediction / problems
SELECT iteration, benchmark, mode,
       count(*) AS problems,
       count(*) FILTER (WHERE correct) AS correct,
       count(*) FILTER (WHERE correct) / count(*) AS accuracy,
       count(prediction) / count(*) AS answered_rate,
       avg(n_steps) AS steps_mean,
       avg(n_tokens) AS tokens_mean
FROM evals
WHERE label_source = 'judge'
GROUP BY iteration, benchmark, mode
ORDER BY iteration, benchmark, mode;

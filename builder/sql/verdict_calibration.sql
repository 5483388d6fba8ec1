-- Calibration of the judge's P(A) (judgments.p_a, search.verdict forced or logprob) against step
-- correctness, per iteration and p_a bin of width 0.1 (the last bin includes 1): a reliability
-- table. Only judgments between one correct and one incorrect step (task step checker) count.
--   judgments       judgments in the bin;  mean_p_a   their mean P(A)
--   a_correct_rate  share of them where the step shown as A is the correct one
-- A calibrated judge has a_correct_rate close to mean_p_a in every bin.
WITH mixed AS (
    SELECT j.iteration, j.p_a, na.step_correct AS a_correct
    FROM judgments j
    JOIN nodes na ON na.node_id = j.node_a AND na.iteration = j.iteration
    JOIN nodes nb ON nb.node_id = j.node_b AND nb.iteration = j.iteration
    WHERE j.p_a IS NOT NULL AND na.step_correct IS NOT NULL AND nb.step_correct IS NOT NULL
      AND na.step_correct <> nb.step_correct
)
SELECT iteration,
       least(floor(p_a * 10), 9) / 10 AS bin_lo,
       round(least(floor(p_a * 10), 9) / 10 + 0.1, 1) AS bin_hi,
       count(*) AS judgments,
       avg(p_a) AS mean_p_a,
       avg(CASE WHEN a_correct THEN 1.0 ELSE 0.0 END) AS a_correct_rate
FROM mixed
GROUP BY iteration, bin_lo, bin_hi
ORDER BY iteration, bin_lo;

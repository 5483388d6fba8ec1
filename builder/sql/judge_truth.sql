-- The judge against ground truth, per iteration, where the task's step checker labeled the
-- candidates (nodes.step_correct not null).
--   candidates_known         sampled candidate steps with a known label, duplicate samples included
--                            (candidate_correct_rate: share correct = the policy's per-sample step
--                            accuracy, what one random sample gives: the baseline for the next figure)
--   accepted_correct_rate    share of accepted (on_path) steps that are correct, among those known
--   judgments_mixed          judgments between a correct and an incorrect step
--   judge_accuracy           share of those whose verdict names the correct step (an unparseable
--                            verdict counts as a miss); judge_accuracy_parseable: over parseable ones
WITH cand AS (
    SELECT iteration,
           count(step_correct) AS candidates_known,
           count(*) FILTER (WHERE step_correct) / nullif(count(step_correct), 0) AS candidate_correct_rate,
           count(*) FILTER (WHERE on_path AND step_correct) / nullif(count(step_correct) FILTER (WHERE on_path), 0) AS accepted_correct_rate
    FROM nodes WHERE depth > 0
    GROUP BY iteration
),
mixed AS (
    SELECT j.iteration, j.verdict,
           CASE WHEN na.step_correct THEN j.node_a ELSE j.node_b END AS correct_node, j.winner
    FROM judgments j
    JOIN nodes na ON na.node_id = j.node_a AND na.iteration = j.iteration
    JOIN nodes nb ON nb.node_id = j.node_b AND nb.iteration = j.iteration
    WHERE na.step_correct IS NOT NULL AND nb.step_correct IS NOT NULL AND na.step_correct <> nb.step_correct
),
judge AS (
    SELECT iteration,
           count(*) AS judgments_mixed,
           count(*) FILTER (WHERE winner = correct_node) AS judged_right,
           count(*) FILTER (WHERE winner = correct_node) / count(*) AS judge_accuracy,
           count(*) FILTER (WHERE winner = correct_node) / nullif(count(verdict), 0) AS judge_accuracy_parseable
    FROM mixed GROUP BY iteration
)
SELECT c.iteration, c.candidates_known, c.candidate_correct_rate, c.accepted_correct_rate,
       coalesce(j.judgments_mixed, 0) AS judgments_mixed,
       coalesce(j.judged_right, 0) AS judged_right,
       j.judge_accuracy, j.judge_accuracy_parseable
FROM cand c LEFT JOIN judge j USING (iteration)
WHERE c.candidates_known > 0
ORDER BY c.iteration;

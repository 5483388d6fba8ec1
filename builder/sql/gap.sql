-- The generation-verification gap of M(N), per iteration (iteration N's search is M(N)'s), at its
-- mixed rounds: rounds (children of one parent sampled together: nodes.parent_id, round) whose
-- judged candidates (nodes.judged) include a checker-correct and a checker-wrong step
-- (nodes.step_correct), and whose parent has the policy's own greedy step recorded
-- (nodes.greedy_step_correct: search.record_greedy or search.greedy_candidate).
--   greedy_parents       nodes with greedy_step_correct known (prefixes whose greedy step was checked)
--   mixed_rounds         mixed rounds with the parent's greedy step known: the paired sample
--   judge_right          of those, rounds whose best candidate (nodes.selection 'best') is correct; an
--                        undecided round (all-tie: no best) is a miss, as an unparseable verdict is in
--                        judge_truth.sql
--   greedy_right         rounds whose parent's greedy step is correct
--   judge_only, greedy_only   judge right and greedy wrong, and the reverse (the discordant rounds)
--   rounds_undecided     mixed rounds the judge schedule left undecided
--   judge_accuracy, greedy_accuracy   judge_right, greedy_right / mixed_rounds
--   gap                  judge_accuracy - greedy_accuracy = (judge_only - greedy_only) / mixed_rounds
--   judge_tokens_per_decision   judgments.n_tokens per judge call over the iteration's search
--   judge_calls_per_step        trees.judge_calls per accepted step (on_path nodes below the root)
-- The interval and McNemar p of the gap: builder/analysis/report.py gap_stats (paired over rounds).
WITH rounds AS (
    SELECT iteration, parent_id, round,
           coalesce(bool_or(step_correct) FILTER (WHERE judged), false) AS any_right,
           coalesce(bool_or(NOT step_correct) FILTER (WHERE judged), false) AS any_wrong,
           coalesce(bool_or(selection = 'best' AND step_correct), false) AS judge_right,
           coalesce(bool_or(selection = 'best'), false) AS decided
    FROM nodes WHERE parent_id IS NOT NULL
    GROUP BY iteration, parent_id, round
),
mixed AS (
    SELECT r.iteration, r.judge_right, r.decided, p.greedy_step_correct AS greedy_right
    FROM rounds r JOIN nodes p ON p.node_id = r.parent_id AND p.iteration = r.iteration
    WHERE r.any_right AND r.any_wrong AND p.greedy_step_correct IS NOT NULL
),
m AS (
    SELECT iteration, count(*) AS mixed_rounds,
           count(*) FILTER (WHERE judge_right) AS judge_right,
           count(*) FILTER (WHERE greedy_right) AS greedy_right,
           count(*) FILTER (WHERE judge_right AND NOT greedy_right) AS judge_only,
           count(*) FILTER (WHERE greedy_right AND NOT judge_right) AS greedy_only,
           count(*) FILTER (WHERE NOT decided) AS rounds_undecided
    FROM mixed GROUP BY iteration
),
g AS (SELECT iteration, count(*) AS greedy_parents FROM nodes WHERE greedy_step_correct IS NOT NULL GROUP BY iteration),
j AS (SELECT iteration, sum(n_tokens) / count(*) AS judge_tokens_per_decision FROM judgments GROUP BY iteration),
t AS (SELECT iteration, sum(judge_calls) AS judge_calls FROM trees GROUP BY iteration),
s AS (SELECT iteration, count(*) AS accepted_steps FROM nodes WHERE on_path AND parent_id IS NOT NULL GROUP BY iteration)
SELECT g.iteration, g.greedy_parents,
       coalesce(m.mixed_rounds, 0) AS mixed_rounds,
       coalesce(m.judge_right, 0) AS judge_right,
       coalesce(m.greedy_right, 0) AS greedy_right,
       coalesce(m.judge_only, 0) AS judge_only,
       coalesce(m.greedy_only, 0) AS greedy_only,
       coalesce(m.rounds_undecided, 0) AS rounds_undecided,
       m.judge_right / nullif(m.mixed_rounds, 0) AS judge_accuracy,
       m.greedy_right / nullif(m.mixed_rounds, 0) AS greedy_accuracy,
       (m.judge_only - m.greedy_only) / nullif(m.mixed_rounds, 0) AS gap,
       j.judge_tokens_per_decision,
       t.judge_calls / nullif(s.accepted_steps, 0) AS judge_calls_per_step
FROM g LEFT JOIN m USING (iteration) LEFT JOIN j USING (iteration)
LEFT JOIN t USING (iteration) LEFT JOIN s USING (iteration)
ORDER BY g.iteration;

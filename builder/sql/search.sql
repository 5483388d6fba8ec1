-- What the search did with its samples, per iteration (the figures of `psr generate`'s summary,
-- plus pairs). A round = the children of one parent sampled together (nodes.parent_id, round).
-- Distinct candidates are counted from the step text (marker stripped, whitespace collapsed: the
-- normalization of builder/steps.py norm_body), so runs made before nodes.duplicate_of existed
-- (where it reads as null) give the same figures for the same data.
--   rounds                 rounds that sampled candidates
--   samples, distinct_candidates   sampled nodes; distinct step bodies among them
--   distinct_per_round     histogram "d:rounds ..." of distinct candidates per round
--   rounds_one_distinct    rounds with one distinct candidate
--   judge_calls_one_distinct   judgments in those rounds (0 since distinct-candidate judging)
--   rounds_judged          rounds with >= 2 distinct candidates and judgments
--   all_tie_rate           of those, the undecided rounds / rounds_judged: the judge schedule named no
--                          best and worst (nodes.selection); in older runs (trees.judge_schedule
--                          null) rounds whose judged candidates (nodes.judged; every node in older
--                          runs) all have the same wins
--   judge_schedule         trees.judge_schedule (round_robin, knockout, adaptive; null: older runs)
--   judge_calls_per_judged_round, judge_stages_per_judged_round
--                          judgments per judged round, and the schedule stages it took (judgments.stage)
--   rollbacks              sum of trees.n_rollbacks
--   finished, max_steps, abandoned   trees by status
--   pairs_per_problem      pairs / trees
--   judge_calls_per_step   sum of trees.judge_calls / accepted steps (on_path nodes below the root)
--   pairs_right_over_wrong, pairs_wrong_over_right, pairs_both_right, pairs_both_wrong
--                          pairs by step_correct of chosen and rejected (only pairs with both known;
--                          all null when no pair has both)
WITH rounds AS (
    SELECT iteration, parent_id, round,
           count(*) AS samples,
           count(DISTINCT trim(regexp_replace(regexp_replace(text, '^\s*[Ss][Tt][Ee][Pp]\s*\d*\s*:', ''), '\s+', ' ', 'g')))
               AS distinct_samples,
           count(DISTINCT wins) FILTER (WHERE judged OR judged IS NULL) AS judged_win_levels,
           coalesce(bool_or(selection IS NOT NULL), false) AS named,
           any_value(tree_id) AS tree_id
    FROM nodes WHERE parent_id IS NOT NULL
    GROUP BY iteration, parent_id, round
),
jr AS (SELECT iteration, parent_id, round, count(*) AS calls, coalesce(max(stage), 1) AS stages
       FROM judgments GROUP BY iteration, parent_id, round),
ts AS (SELECT iteration, tree_id, judge_schedule FROM trees),
r AS (
    SELECT iteration,
           count(*) AS rounds,
           sum(samples) AS samples,
           sum(distinct_samples) AS distinct_samples,
           count(*) FILTER (WHERE distinct_samples = 1) AS rounds_one_distinct,
           coalesce(sum(calls) FILTER (WHERE distinct_samples = 1), 0) AS judge_calls_one_distinct,
           count(*) FILTER (WHERE distinct_samples >= 2 AND calls > 0) AS rounds_judged,
           count(*) FILTER (WHERE distinct_samples >= 2 AND calls > 0 AND NOT named
                            AND (judge_schedule IS NOT NULL OR judged_win_levels = 1)) AS all_tie_rounds,
           sum(calls) FILTER (WHERE distinct_samples >= 2 AND calls > 0) AS judged_calls,
           sum(stages) FILTER (WHERE distinct_samples >= 2 AND calls > 0) AS judged_stages
    FROM rounds LEFT JOIN jr USING (iteration, parent_id, round) LEFT JOIN ts USING (iteration, tree_id)
    GROUP BY iteration
),
h AS (
    SELECT iteration, string_agg(d || ':' || n, ' ' ORDER BY d) AS distinct_per_round
    FROM (SELECT iteration, distinct_samples AS d, count(*) AS n FROM rounds GROUP BY iteration, distinct_samples)
    GROUP BY iteration
),
t AS (
    SELECT iteration, count(*) AS trees,
           count(*) FILTER (WHERE status = 'finished') AS finished,
           count(*) FILTER (WHERE status = 'max_steps') AS max_steps,
           count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
           sum(n_rollbacks) AS rollbacks,
           sum(judge_calls) AS judge_calls,
           string_agg(DISTINCT judge_schedule, ',') AS judge_schedule
    FROM trees GROUP BY iteration
),
s AS (SELECT iteration, count(*) AS accepted_steps FROM nodes WHERE on_path AND parent_id IS NOT NULL GROUP BY iteration),
p AS (
    SELECT iteration, count(*) AS pairs,
           count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL) AS known,
           count(*) FILTER (WHERE chosen_correct AND NOT rejected_correct) AS row_,
           count(*) FILTER (WHERE NOT chosen_correct AND rejected_correct) AS wor,
           count(*) FILTER (WHERE chosen_correct AND rejected_correct) AS both_right,
           count(*) FILTER (WHERE NOT chosen_correct AND NOT rejected_correct) AS both_wrong
    FROM pairs WHERE label_source = 'judge' GROUP BY iteration  -- not the oracle ablation
)
SELECT t.iteration,
       coalesce(r.rounds, 0) AS rounds,
       coalesce(r.samples, 0) AS samples,
       coalesce(r.distinct_samples, 0) AS distinct_candidates,
       h.distinct_per_round,
       coalesce(r.rounds_one_distinct, 0) AS rounds_one_distinct,
       coalesce(r.judge_calls_one_distinct, 0) AS judge_calls_one_distinct,
       coalesce(r.rounds_judged, 0) AS rounds_judged,
       r.all_tie_rounds / nullif(r.rounds_judged, 0) AS all_tie_rate,
       t.rollbacks,
       t.finished, t.max_steps, t.abandoned,
       coalesce(p.pairs, 0) AS pairs,
       coalesce(p.pairs, 0) / t.trees AS pairs_per_problem,
       t.judge_calls,
       coalesce(s.accepted_steps, 0) AS accepted_steps,
       t.judge_calls / nullif(s.accepted_steps, 0) AS judge_calls_per_step,
       t.judge_schedule,
       r.judged_calls / nullif(r.rounds_judged, 0) AS judge_calls_per_judged_round,
       r.judged_stages / nullif(r.rounds_judged, 0) AS judge_stages_per_judged_round,
       CASE WHEN p.known > 0 THEN p.row_ END AS pairs_right_over_wrong,
       CASE WHEN p.known > 0 THEN p.wor END AS pairs_wrong_over_right,
       CASE WHEN p.known > 0 THEN p.both_right END AS pairs_both_right,
       CASE WHEN p.known > 0 THEN p.both_wrong END AS pairs_both_wrong
FROM t
LEFT JOIN r USING (iteration) LEFT JOIN h USING (iteration)
LEFT JOIN s USING (iteration) LEFT JOIN p USING (iteration)
ORDER BY t.iteration;

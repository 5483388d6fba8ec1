-- One run's self-rewarding loop per iteration, for `psr report --compare` (per problem searched).
-- Columns: iteration, problems (trees), pairs, pairs_per_problem, pairs_checkable (both sides'
--          correctness known), right_over_wrong (chosen correct, rejected wrong), wrong_over_right,
--          right_over_wrong_share (of the checkable pairs), judge_calls_per_problem,
--          gen_tokens_per_problem, judge_tokens_per_problem.
WITH t AS (
    SELECT iteration, count(*) AS problems, sum(judge_calls) AS judge_calls,
           sum(gen_tokens) AS gen_tokens, sum(judge_tokens) AS judge_tokens
    FROM trees GROUP BY iteration
),
p AS (
    SELECT iteration, count(*) AS pairs,
           count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL) AS pairs_checkable,
           count(*) FILTER (WHERE chosen_correct AND NOT rejected_correct) AS right_over_wrong,
           count(*) FILTER (WHERE NOT chosen_correct AND rejected_correct) AS wrong_over_right
    FROM pairs WHERE label_source = 'judge' GROUP BY iteration  -- not the oracle ablation
)
SELECT t.iteration,
       t.problems,
       coalesce(p.pairs, 0) AS pairs,
       coalesce(p.pairs, 0) / t.problems AS pairs_per_problem,
       coalesce(p.pairs_checkable, 0) AS pairs_checkable,
       coalesce(p.right_over_wrong, 0) AS right_over_wrong,
       coalesce(p.wrong_over_right, 0) AS wrong_over_right,
       p.right_over_wrong / nullif(p.pairs_checkable, 0) AS right_over_wrong_share,
       t.judge_calls / t.problems AS judge_calls_per_problem,
       t.gen_tokens / t.problems AS gen_tokens_per_problem,
       t.judge_tokens / t.problems AS judge_tokens_per_problem
FROM t LEFT JOIN p USING (iteration)
ORDER BY t.iteration;

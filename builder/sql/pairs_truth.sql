-- Training pairs against ground truth, per iteration (pairs whose chosen and rejected steps both
-- have a known step_correct), plus a length check on every pair. The judge's pairs only: the
-- oracle-labelled ablation (label_source 'checker') is right by construction (see ceiling.sql).
--   pairs_known          pairs with both labels known
--   right_order_rate     chosen correct and rejected incorrect / pairs_known
--   reversed_rate        chosen incorrect and rejected correct / pairs_known (the harmful pairs)
--   same_label_rate      both correct or both incorrect / pairs_known
--   chosen_longer_rate   pairs whose chosen step has more characters than the rejected / pairs
--                        (a length-biased judge pushes this above 0.5)
SELECT iteration,
       count(*) AS pairs,
       count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL) AS pairs_known,
       count(*) FILTER (WHERE chosen_correct AND NOT rejected_correct)
           / nullif(count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL), 0) AS right_order_rate,
       count(*) FILTER (WHERE NOT chosen_correct AND rejected_correct)
           / nullif(count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL), 0) AS reversed_rate,
       count(*) FILTER (WHERE chosen_correct = rejected_correct)
           / nullif(count(*) FILTER (WHERE chosen_correct IS NOT NULL AND rejected_correct IS NOT NULL), 0) AS same_label_rate,
       count(*) FILTER (WHERE length(chosen) > length(rejected)) / count(*) AS chosen_longer_rate,
       avg(margin) AS mean_margin
FROM pairs
WHERE label_source = 'judge'
GROUP BY iteration
ORDER BY iteration;

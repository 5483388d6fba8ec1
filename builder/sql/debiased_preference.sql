-- Verdict sources and the position-debiased preference, per iteration (search.verdict forced or
-- logprob record p_a, the judge's P(A) among the two verdict tokens; parsed verdicts have none).
--   judgments_parsed/forced/logprob/undecided   judgments by verdict_source (undecided: no verdict;
--                         parts written before verdict_source existed count their verdicts as parsed)
--   pairs_scored          candidate pairs judged in both orders with a p_a in both
--   preference            per pair, P(x better than y) = (p_ab + 1 - p_ba) / 2, where p_ab is P(A) with
--                         x shown as A and p_ba with y shown as A: the position bias cancels
--   mean_position_bias    mean of (p_ab + p_ba - 1) / 2 over scored pairs: > 0 favours the A position
--   pairs_mixed           scored pairs of one correct and one incorrect step (task step checker)
--   debiased_accuracy     share of mixed pairs whose preference (> 0.5) names the correct step
--   single_order_accuracy share of those pairs' judgments whose p_a (> 0.5 means A) names it
WITH j AS (
    SELECT iteration, parent_id, round, node_a, node_b, p_a,
           coalesce(verdict_source, CASE WHEN verdict IS NOT NULL THEN 'parsed' END) AS verdict_source
    FROM judgments
),
sources AS (
    SELECT iteration,
           count(*) FILTER (WHERE verdict_source = 'parsed') AS judgments_parsed,
           count(*) FILTER (WHERE verdict_source = 'forced') AS judgments_forced,
           count(*) FILTER (WHERE verdict_source = 'logprob') AS judgments_logprob,
           count(*) FILTER (WHERE verdict_source IS NULL) AS judgments_undecided
    FROM j GROUP BY iteration
),
pair AS (  -- x = the lexically smaller node id; one row per pair judged both ways with p_a
    SELECT ab.iteration, ab.node_a AS x, ab.node_b AS y, ab.p_a AS p_ab, ba.p_a AS p_ba,
           (ab.p_a + 1 - ba.p_a) / 2 AS preference
    FROM j ab JOIN j ba
      ON ba.iteration = ab.iteration AND ba.parent_id = ab.parent_id AND ba.round = ab.round
     AND ba.node_a = ab.node_b AND ba.node_b = ab.node_a
    WHERE ab.node_a < ab.node_b AND ab.p_a IS NOT NULL AND ba.p_a IS NOT NULL
),
truth AS (
    SELECT p.*, nx.step_correct AS x_correct
    FROM pair p
    JOIN nodes nx ON nx.node_id = p.x AND nx.iteration = p.iteration
    JOIN nodes ny ON ny.node_id = p.y AND ny.iteration = p.iteration
    WHERE nx.step_correct IS NOT NULL AND ny.step_correct IS NOT NULL AND nx.step_correct <> ny.step_correct
),
agg AS (
    SELECT p.iteration, count(*) AS pairs_scored, avg((p_ab + p_ba - 1) / 2) AS mean_position_bias
    FROM pair p GROUP BY p.iteration
),
acc AS (
    SELECT iteration, count(*) AS pairs_mixed,
           avg(CASE WHEN (preference > 0.5) = x_correct THEN 1.0 ELSE 0.0 END) AS debiased_accuracy,
           avg(((CASE WHEN (p_ab > 0.5) = x_correct THEN 1.0 ELSE 0.0 END)
              + (CASE WHEN (p_ba > 0.5) = (NOT x_correct) THEN 1.0 ELSE 0.0 END)) / 2) AS single_order_accuracy
    FROM truth GROUP BY iteration
)
SELECT s.iteration, s.judgments_parsed, s.judgments_forced, s.judgments_logprob, s.judgments_undecided,
       coalesce(a.pairs_scored, 0) AS pairs_scored, a.mean_position_bias,
       coalesce(c.pairs_mixed, 0) AS pairs_mixed, c.debiased_accuracy, c.single_order_accuracy
FROM sources s LEFT JOIN agg a USING (iteration) LEFT JOIN acc c USING (iteration)
ORDER BY s.iteration;

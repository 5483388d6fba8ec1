-- Judge consistency per iteration, any round width: the same columns and definitions as
-- judge_consistency.sql (read its header), computed pair by pair with joins. Slower on large
-- runs; `psr report` uses it only when judge_consistency.sql skipped rounds (wider than 8).
WITH pair AS (  -- one row per unordered candidate pair of a round
    SELECT iteration, parent_id, round,
           least(node_a, node_b) AS lo, greatest(node_a, node_b) AS hi,
           bool_or(swapped) AND bool_or(NOT swapped) AS both_orders,
           count(verdict) = count(*) AS all_parseable,
           min(winner) = max(winner) AS same_winner,
           sum(CASE WHEN winner = least(node_a, node_b) THEN 1
                    WHEN winner = greatest(node_a, node_b) THEN -1 ELSE 0 END) AS net
    FROM judgments
    GROUP BY ALL
),
position AS (
    SELECT iteration, count(*) AS judgments, count(verdict) AS parseable,
           count(*) FILTER (WHERE verdict = 'A') AS first_wins
    FROM judgments GROUP BY iteration
),
swap AS (
    SELECT iteration,
           count(*) FILTER (WHERE both_orders) AS pairs_both_orders,
           count(*) FILTER (WHERE both_orders AND NOT all_parseable) AS pairs_excluded,
           count(*) FILTER (WHERE both_orders AND all_parseable) AS pairs_eligible,
           count(*) FILTER (WHERE both_orders AND all_parseable AND same_winner) AS pairs_consistent
    FROM pair GROUP BY iteration
),
cand AS (  -- score of every candidate: judgments it won (0 when none)
    SELECT iteration, parent_id, round, node, sum(won) AS wins
    FROM (SELECT iteration, parent_id, round, node_a AS node, coalesce(winner = node_a, false)::INTEGER AS won FROM judgments
          UNION ALL
          SELECT iteration, parent_id, round, node_b, coalesce(winner = node_b, false)::INTEGER FROM judgments)
    GROUP BY ALL
),
rnd AS (
    SELECT iteration, parent_id, round, count(*) AS n, max(wins) AS best, min(wins) AS worst
    FROM cand GROUP BY ALL
),
ties AS (
    SELECT iteration, count(*) AS rounds,
           count(*) FILTER (WHERE best = worst) AS all_tie_rounds,
           avg(best - worst) AS mean_spread,
           sum(n * (n - 1) * (n - 2) // 6) AS triads
    FROM rnd GROUP BY iteration
),
edge AS (  -- majority edge x -> y; ties give none
    SELECT iteration, parent_id, round,
           CASE WHEN net > 0 THEN lo ELSE hi END AS x,
           CASE WHEN net > 0 THEN hi ELSE lo END AS y
    FROM pair WHERE net <> 0
),
path AS (  -- x -> y -> z inside one round
    SELECT e1.iteration, e1.parent_id, e1.round, e1.x, e2.y AS z
    FROM edge e1 JOIN edge e2
      ON e1.y = e2.x AND e1.parent_id = e2.parent_id AND e1.round = e2.round
),
closed AS (  -- closed by x -> z: transitive (once per triad); by z -> x: a cycle (3 paths per cycle)
    SELECT p.iteration,
           count(*) FILTER (WHERE (c.net > 0) = (p.x = c.lo)) AS transitive,
           count(*) FILTER (WHERE (c.net > 0) <> (p.x = c.lo)) // 3 AS cyclic
    FROM path p JOIN pair c
      ON c.parent_id = p.parent_id AND c.round = p.round
     AND c.lo = least(p.x, p.z) AND c.hi = greatest(p.x, p.z) AND c.net <> 0
    GROUP BY p.iteration
)
SELECT p.iteration,
       p.judgments::BIGINT AS judgments,
       p.parseable::BIGINT AS parseable,
       (p.judgments - p.parseable) / p.judgments AS unparseable_rate,
       p.first_wins / nullif(p.parseable, 0) AS first_position_rate,
       t.rounds,
       0::BIGINT AS rounds_skipped,
       s.pairs_both_orders::BIGINT AS pairs_both_orders,
       s.pairs_excluded::BIGINT AS pairs_excluded,
       s.pairs_eligible::BIGINT AS pairs_eligible,
       s.pairs_consistent::BIGINT AS pairs_consistent,
       s.pairs_consistent / nullif(s.pairs_eligible, 0) AS swap_consistency,
       t.all_tie_rounds,
       t.all_tie_rounds / t.rounds AS all_tie_rate,
       t.mean_spread,
       t.triads::BIGINT AS triads,
       coalesce(c.transitive + c.cyclic, 0)::BIGINT AS triads_decided,
       coalesce(c.cyclic, 0)::BIGINT AS triads_intransitive,
       c.cyclic / nullif(c.transitive + c.cyclic, 0) AS intransitive_rate
FROM position p
JOIN swap s USING (iteration)
JOIN ties t USING (iteration)
LEFT JOIN closed c USING (iteration)
ORDER BY p.iteration;

-- Judge consistency per iteration, from the judgments table alone: one scan, one GROUP BY round.
-- Fast path for rounds of at most 8 candidates (the paper uses 6); judge_consistency_general.sql
-- computes the same columns for any width (pair-level, with joins; slower) and is what `psr report`
-- uses when rounds_skipped > 0 here.
--
-- A round is one (parent_id, round): sibling candidates sampled together and judged against each
-- other. Its candidates are the nodes shown as A or B in it.
--   unparseable_rate     verdicts NULL / judgments
--   first_position_rate  verdicts 'A' / parseable verdicts (0.5 = no position bias)
--   swap_consistency     pairs_consistent / pairs_eligible. pairs_both_orders: unordered candidate
--                        pairs of a round judged in both A/B orders; pairs_excluded: those with an
--                        unparseable verdict (left out); pairs_eligible: the rest; consistent: both
--                        verdicts name the same candidate ([[A]] in one order, [[B]] in the other)
--   all_tie_rate         rounds whose candidates all have the same score / rounds
--                        (score = judgments won; a candidate that won none scores 0)
--   mean_spread          mean over rounds of (best score - worst score)
--   intransitive_rate    triads_intransitive / triads_decided. In each pair the majority edge points
--                        from the candidate that won more of the pair's judgments to the other; equal
--                        wins (the two orders disagree, or nothing parseable) is a tie: no edge. A triad
--                        (3 candidates of a round) is decided when its 3 pairs all have an edge, and is
--                        then either transitive or a cycle x > y > z > x. triads = all (n choose 3).
--
-- How: a node id is '<tree_id>/<k>', k counting nodes in creation order; siblings of a round are
-- created together, so their k are consecutive and k % 8 is a distinct lane 0..7 (checked: a round
-- whose k span 8 or more, or whose node ids do not end in '/<integer>', is counted in rounds_skipped
-- and left out of the pair, tie and triad figures). Each round packs 8x8 relations into UBIGINT bit matrices, bit 8*i + j for (i, j):
--   shown: i was shown as A and j as B     w1: i beat j as A     w2: i beat j as B
-- shown_t, l1, l2 are their transposes (j beat i ...), by three delta swaps. Each ordered pair is
-- judged at most once per round in the tournament; repeated judgments of one ordered pair count once.
WITH j AS (
    SELECT iteration, hash(parent_id, round) AS rk, verdict,
           TRY_CAST(split_part(node_a, '/', -1) AS UBIGINT) AS ka,
           TRY_CAST(split_part(node_b, '/', -1) AS UBIGINT) AS kb
    FROM judgments
),
rounds AS (
    SELECT iteration, rk,
           count(*) AS judgments,
           count(verdict) AS parseable,
           sum((verdict = 'A')::INTEGER) AS first_wins,
           greatest(max(ka), max(kb)) - least(min(ka), min(kb)) < 8
               AND count(ka) = count(*) AND count(kb) = count(*) AS packed,
           bit_or((1::UBIGINT << (ka % 8)) | (1::UBIGINT << (kb % 8))) AS cand,
           bit_or(1::UBIGINT << (8 * (ka % 8) + kb % 8)) AS shown,
           bit_or(CASE WHEN verdict = 'A' THEN 1::UBIGINT << (8 * (ka % 8) + kb % 8) ELSE 0::UBIGINT END) AS w1,
           bit_or(CASE WHEN verdict = 'B' THEN 1::UBIGINT << (8 * (kb % 8) + ka % 8) ELSE 0::UBIGINT END) AS w2,
           shown AS shown_t, w1 AS l1, w2 AS l2
    FROM j
    GROUP BY iteration, rk
),
transpose1 AS (  -- delta swap 1 of 3: shift 7, mask 0x00AA00AA00AA00AA
    SELECT * REPLACE (
           xor(xor(shown_t, xor(shown_t, shown_t >> 7) & 47851476196393130::UBIGINT), (xor(shown_t, shown_t >> 7) & 47851476196393130::UBIGINT) << 7) AS shown_t,
           xor(xor(l1, xor(l1, l1 >> 7) & 47851476196393130::UBIGINT), (xor(l1, l1 >> 7) & 47851476196393130::UBIGINT) << 7) AS l1,
           xor(xor(l2, xor(l2, l2 >> 7) & 47851476196393130::UBIGINT), (xor(l2, l2 >> 7) & 47851476196393130::UBIGINT) << 7) AS l2)
    FROM rounds
),
transpose2 AS (  -- delta swap 2 of 3: shift 14, mask 0x0000CCCC0000CCCC
    SELECT * REPLACE (
           xor(xor(shown_t, xor(shown_t, shown_t >> 14) & 225176545447116::UBIGINT), (xor(shown_t, shown_t >> 14) & 225176545447116::UBIGINT) << 14) AS shown_t,
           xor(xor(l1, xor(l1, l1 >> 14) & 225176545447116::UBIGINT), (xor(l1, l1 >> 14) & 225176545447116::UBIGINT) << 14) AS l1,
           xor(xor(l2, xor(l2, l2 >> 14) & 225176545447116::UBIGINT), (xor(l2, l2 >> 14) & 225176545447116::UBIGINT) << 14) AS l2)
    FROM transpose1
),
transpose3 AS (  -- delta swap 3 of 3: shift 28, mask 0x00000000F0F0F0F0
    SELECT * REPLACE (
           xor(xor(shown_t, xor(shown_t, shown_t >> 28) & 4042322160::UBIGINT), (xor(shown_t, shown_t >> 28) & 4042322160::UBIGINT) << 28) AS shown_t,
           xor(xor(l1, xor(l1, l1 >> 28) & 4042322160::UBIGINT), (xor(l1, l1 >> 28) & 4042322160::UBIGINT) << 28) AS l1,
           xor(xor(l2, xor(l2, l2 >> 28) & 4042322160::UBIGINT), (xor(l2, l2 >> 28) & 4042322160::UBIGINT) << 28) AS l2)
    FROM transpose2
),
per_round AS (
    SELECT iteration, judgments, parseable, first_wins, packed,
           bit_count(cand) AS n,
           bit_count(shown & shown_t) // 2 AS pairs_both,
           -- parseable in order (i, j): i won as A (w1) or j won as B (l2)
           bit_count((w1 | l2) & (l1 | w2)) // 2 AS pairs_eligible,
           -- same winner in both orders: exactly one of the two orders was won by its A
           bit_count((w1 | l2) & (l1 | w2) & xor(w1, l1)) // 2 AS pairs_consistent,
           [bit_count((w1 >> (8 * i)) & 255::UBIGINT) + bit_count((w2 >> (8 * i)) & 255::UBIGINT)
            FOR i IN range(8)::UBIGINT[] IF (cand >> i) & 1::UBIGINT = 1] AS score,
           -- majority edge i -> j: i won more of the pair's (at most two) judgments than j
           (w1 & w2 & ~(l1 & l2)) | ((w1 | w2) & ~(l1 | l2)) AS e,
           (l1 & l2 & ~(w1 & w2)) | ((l1 | l2) & ~(w1 | w2)) AS et
    FROM transpose3
),
triads AS (
    -- For each edge i -> j (bit p = 8i + j): a k with j -> k and k -> i closes a cycle (each cycle is
    -- found from its 3 edges); a k with j -> k and i -> k makes a transitive triad (found once).
    -- Both counts per edge (at most 6) are packed into one integer: cycle hits + 256 * transitive hits.
    SELECT *, list_max(score) AS best, list_min(score) AS worst, (hits % 256) // 3 AS cyclic, hits // 256 AS transitive
    FROM (SELECT *,
                 coalesce(list_sum([bit_count((e >> (8 * (p % 8))) & (et >> (8 * (p // 8))) & 255::UBIGINT)
                                    + 256 * bit_count((e >> (8 * (p % 8))) & (e >> (8 * (p // 8))) & 255::UBIGINT)
                                    FOR p IN range(64)::UBIGINT[] IF (e >> p) & 1::UBIGINT = 1]), 0) AS hits
          FROM per_round)
)
SELECT iteration,
       sum(judgments)::BIGINT AS judgments,
       sum(parseable)::BIGINT AS parseable,
       (sum(judgments) - sum(parseable)) / sum(judgments) AS unparseable_rate,
       sum(first_wins) / nullif(sum(parseable), 0) AS first_position_rate,
       count(*) AS rounds,
       count(*) FILTER (WHERE NOT packed) AS rounds_skipped,
       coalesce(sum(pairs_both) FILTER (WHERE packed), 0)::BIGINT AS pairs_both_orders,
       coalesce(sum(pairs_both - pairs_eligible) FILTER (WHERE packed), 0)::BIGINT AS pairs_excluded,
       coalesce(sum(pairs_eligible) FILTER (WHERE packed), 0)::BIGINT AS pairs_eligible,
       coalesce(sum(pairs_consistent) FILTER (WHERE packed), 0)::BIGINT AS pairs_consistent,
       sum(pairs_consistent) FILTER (WHERE packed) / nullif(sum(pairs_eligible) FILTER (WHERE packed), 0) AS swap_consistency,
       count(*) FILTER (WHERE packed AND best = worst) AS all_tie_rounds,
       count(*) FILTER (WHERE packed AND best = worst) / nullif(count(*) FILTER (WHERE packed), 0) AS all_tie_rate,
       avg(best - worst) FILTER (WHERE packed) AS mean_spread,
       coalesce(sum(n * (n - 1) * (n - 2) // 6) FILTER (WHERE packed), 0)::BIGINT AS triads,
       coalesce(sum(cyclic + transitive) FILTER (WHERE packed), 0)::BIGINT AS triads_decided,
       coalesce(sum(cyclic) FILTER (WHERE packed), 0)::BIGINT AS triads_intransitive,
       sum(cyclic) FILTER (WHERE packed) / nullif(sum(cyclic + transitive) FILTER (WHERE packed), 0) AS intransitive_rate
FROM triads
GROUP BY iteration
ORDER BY iteration;

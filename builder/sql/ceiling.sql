-- The oracle ceiling per pairs iteration N, benchmark and mode: M(N), the judge-trained M(N+1) and
-- the checker-trained M(N+1)-checker (`psr pairs --label checker`: ORACLE-labelled pairs, an
-- ablation) on the same held-out problems. A row exists where M(N) and M(N+1)-checker were both
-- evaluated; the judge columns are null while M(N+1) has no evals on that benchmark and mode.
--   problems              problems every compared model was evaluated on (the intersection)
--   base_correct          M(N) right
--   judge_correct         M(N+1) right;  judge_only / base_only_judge: discordant vs M(N)
--   checker_correct       M(N+1)-checker right;  checker_only / base_only_checker: discordant vs M(N)
--   judge_pairs           pairs of iteration N labelled by the judge (label_source 'judge')
--   checker_pairs         pairs of iteration N labelled by the step checker (label_source 'checker')
--   shared_rounds         rounds (pair_id) with both a judge pair and a checker pair
--   judge_agrees          of those, judge pairs whose chosen step is correct and rejected wrong
--   judge_reversed        of those, judge pairs whose chosen step is wrong and rejected correct
--   agreement             judge_agrees / shared_rounds
-- Accuracies, Wilson intervals and exact McNemar p-values are computed from these counts by
-- builder/analysis/stats.py (psr report).
WITH e AS (
    SELECT iteration, label_source, benchmark, mode, problem_id, correct FROM evals
),
base AS (SELECT iteration AS n, benchmark, mode, problem_id, correct FROM e WHERE label_source = 'judge'),
chk AS (SELECT iteration - 1 AS n, benchmark, mode, problem_id, correct FROM e WHERE label_source = 'checker'),
jdg AS (SELECT iteration - 1 AS n, benchmark, mode, problem_id, correct FROM e WHERE label_source = 'judge'),
judged AS (SELECT DISTINCT n, benchmark, mode FROM jdg),
joined AS (
    SELECT c.n, c.benchmark, c.mode, b.correct AS base_ok, c.correct AS checker_ok, j.correct AS judge_ok
    FROM chk c
    JOIN base b ON b.n = c.n AND b.benchmark = c.benchmark AND b.mode = c.mode AND b.problem_id = c.problem_id
    LEFT JOIN judged h ON h.n = c.n AND h.benchmark = c.benchmark AND h.mode = c.mode
    LEFT JOIN jdg j ON j.n = c.n AND j.benchmark = c.benchmark AND j.mode = c.mode AND j.problem_id = c.problem_id
    WHERE h.n IS NULL OR j.problem_id IS NOT NULL
),
acc AS (
    SELECT n, benchmark, mode,
           count(*) AS problems,
           count(*) FILTER (WHERE base_ok) AS base_correct,
           CASE WHEN count(judge_ok) > 0 THEN count(*) FILTER (WHERE judge_ok) END AS judge_correct,
           CASE WHEN count(judge_ok) > 0 THEN count(*) FILTER (WHERE judge_ok AND NOT base_ok) END AS judge_only,
           CASE WHEN count(judge_ok) > 0 THEN count(*) FILTER (WHERE base_ok AND NOT judge_ok) END AS base_only_judge,
           count(*) FILTER (WHERE checker_ok) AS checker_correct,
           count(*) FILTER (WHERE checker_ok AND NOT base_ok) AS checker_only,
           count(*) FILTER (WHERE base_ok AND NOT checker_ok) AS base_only_checker
    FROM joined
    GROUP BY n, benchmark, mode
),
pj AS (SELECT iteration AS n, pair_id, chosen_correct, rejected_correct FROM pairs WHERE label_source = 'judge'),
pc AS (SELECT iteration AS n, pair_id FROM pairs WHERE label_source = 'checker'),
agree AS (
    SELECT n,
           (SELECT count(*) FROM pj WHERE pj.n = i.n) AS judge_pairs,
           (SELECT count(*) FROM pc WHERE pc.n = i.n) AS checker_pairs,
           (SELECT count(*) FROM pj JOIN pc USING (n, pair_id) WHERE pj.n = i.n) AS shared_rounds,
           (SELECT count(*) FROM pj JOIN pc USING (n, pair_id)
             WHERE pj.n = i.n AND pj.chosen_correct AND NOT pj.rejected_correct) AS judge_agrees,
           (SELECT count(*) FROM pj JOIN pc USING (n, pair_id)
             WHERE pj.n = i.n AND NOT pj.chosen_correct AND pj.rejected_correct) AS judge_reversed
    FROM (SELECT DISTINCT n FROM acc) i
)
SELECT a.n AS iteration, a.benchmark, a.mode, a.problems,
       a.base_correct, a.judge_correct, a.judge_only, a.base_only_judge,
       a.checker_correct, a.checker_only, a.base_only_checker,
       g.judge_pairs, g.checker_pairs, g.shared_rounds, g.judge_agrees, g.judge_reversed,
       g.judge_agrees / nullif(g.shared_rounds, 0) AS agreement
FROM acc a JOIN agree g USING (n)
ORDER BY a.n, a.benchmark, a.mode;

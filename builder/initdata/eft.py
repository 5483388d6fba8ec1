"""`psr init-data eft`: mine step pairs, label them with a teacher, keep what passes the paper's filters.

Per chunk of problems (with gold answers):
1. candidates: the policy's step-wise search (run_search; MCTS or tournament with the policy as
   its own judge). Every expanded node, i.e. every group of siblings sampled together, is a
   candidate site; its candidates are the group's distinct samples (a sample whose body repeats an
   earlier one, nodes.duplicate_of, would only be scored again and can never pair with its twin).
   The search's own self-consistency rollouts (search.mcts.rollouts) are off while mining
   (EftOptions.search_rollouts, default 0): step 2 scores every candidate against the gold
   answer anyway, so they would only cost engine time.
2. scores: Monte Carlo rollouts per candidate step (rollouts.py), or with EftOptions.scorer
   "prm:PATH_OR_ID" a process reward model's reward of the step (prm.py); both in [0, 1]. Every
   candidate's score is logged (eft_candidates.jsonl), with the scorer that made it.
3. pair: best and worst scored sibling; a site with fewer than two distinct steps ("single") or
   with best score - worst score <= min_margin ("tied") gives none.
4. the teacher judges the pair in both orders with the judge prompt (run.yaml prompts.judge),
   verdicts read by the verdict mode (`verdict`: parse | forced | logprob, builder/verdicts.py;
   forced/logprob always decide, and their judgment text is the output with the verdict written out).
   Filters, in order: a missing verdict in either order ("unparseable"); the two orders pick
   different steps ("inconsistent", the swap filter); both orders pick the worse-scored step
   ("disagrees_with_scorer", the scorer filter). What is left is kept.
5. a kept pair gives two EFT rows, one per order: A=best/B=worst with label A and the teacher's
   full judgment of that order, and A=worst/B=best with label B. The split (train/test) follows
   the problem's hash, so a problem never lands in both.
Counts add up: sites = single + tied + pairs; pairs = unparseable + inconsistent +
disagrees_with_scorer + kept; rows = 2 * kept = rows_train + rows_test.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from builder.errors import InputError, PsrError
from builder.initdata.rollouts import Candidate, RolloutConfig, score_candidates
from builder.pairs import path_texts

OUTCOMES = ("unparseable", "inconsistent", "disagrees_with_scorer", "kept")
COUNT_KEYS = ("problems", "candidates", "duplicates", "sites", "single", "tied", "pairs", *OUTCOMES,
              "rows_train", "rows_test", "rollouts", "teacher_calls")


@dataclass(slots=True, frozen=True)
class EftOptions:
    """What `psr init-data eft` mines and how: the problem source, then search, scoring and judging."""

    source: str  # problems with gold answers: file, Hub id or task:NAME
    split: str = "train"
    fields: dict = field(default_factory=dict)  # column mapping DST=SRC (problem=..., answer=...)
    limit: int | None = None
    strategy: str = "mcts"
    search_rollouts: int = 0  # search.mcts.rollouts while mining (see step 1 above)
    rollout: RolloutConfig = RolloutConfig()
    min_margin: float = 0.0
    test_share: float = 0.1
    judge_max_tokens: int = 1024
    chunk_size: int = 16
    verdict: str = "parse"
    scorer: str = "rollouts"  # or prm:PATH_OR_ID


# The job plan records the source keys on their own, before "options" (the mining options): plans of
# jobs started before the source moved into EftOptions stay equal, so those jobs resume.
SOURCE_KEYS = ("source", "split", "fields", "limit")


@dataclass(slots=True, frozen=True)
class Policy:
    """The model whose search proposes candidate steps: an open engine and its chat renderer, or an
    ENGINE_SPEC and None (executor ray: each actor opens it); desc names it in the plan and the rows."""

    engine: object
    renderer: object
    desc: str


# ---- pure rules ------------------------------------------------------------------------------
def sibling_sites(nodes: list[dict]) -> list[dict]:
    """Groups of siblings sampled together: {tree_id, parent_id, prefix: [step texts], children};
    children are the group's distinct samples only (duplicates, nodes.duplicate_of, are left out)."""
    by_id = {n["node_id"]: n for n in nodes}
    groups = defaultdict(list)
    for n in nodes:
        if n["parent_id"] is not None and n.get("duplicate_of") is None:
            groups[(n["parent_id"], n["round"])].append(n)
    sites = []
    for (parent_id, _), children in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        sites.append({"tree_id": children[0]["tree_id"], "parent_id": parent_id, "prefix": path_texts(by_id, parent_id),
                      "children": sorted(children, key=lambda n: n["candidate_index"])})
    return sites


def pick_pair(texts: list[str], scores: list[float], min_margin: float) -> tuple[str, int | None, int | None]:
    """("single" | "tied" | "pair", best index, worst index); the first index wins ties in the ranking."""
    if len(set(texts)) < 2:
        return "single", None, None
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    worst = min(range(len(scores)), key=lambda i: (scores[i], i))
    if scores[best] - scores[worst] <= min_margin or texts[best] == texts[worst]:
        return "tied", None, None
    return "pair", best, worst


def judge_outcome(best_first: str | None, worst_first: str | None) -> str:
    """The paper's two filters on the verdicts for (A=best, B=worst) and (A=worst, B=best)."""
    if best_first is None or worst_first is None:
        return "unparseable"
    if (best_first == "A") != (worst_first == "B"):
        return "inconsistent"
    return "kept" if best_first == "A" else "disagrees_with_scorer"


# ---- one chunk ---------------------------------------------------------------------------------
def mine_chunk(problems: list[dict], c: int, *, policy, renderer, teacher, templates, search_cfg, checker,
               opts: EftOptions, seed: int, source: str, verdicts=None, prm=None):
    """(eft rows, pair log, counts, candidate scores) for one chunk of problems ({problem_id, problem, answer});
    prm: an open PRM (prm.py) scores the candidates instead of rollouts."""
    from builder.search.driver import run_search

    res = run_search(policy, renderer, problems, search_cfg, templates, seed, checker, iteration=0, chunk=c)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    counts["problems"] = len(problems)
    from builder.search.state import tree_id

    gold = {tree_id(0, p["problem_id"]): p for p in problems}
    sites = sibling_sites(res.nodes)
    cands = [Candidate(n["node_id"], gold[s["tree_id"]]["problem"], gold[s["tree_id"]]["answer"], s["prefix"],
                       n["text"], n["is_terminal"]) for s in sites for n in s["children"]]
    if prm is None:
        scores, counts["rollouts"] = score_candidates(policy, renderer, templates.reasoning, cands, checker,
                                                      opts.rollout, seed)
    else:
        from builder.initdata.prm import candidate_scores

        scores = candidate_scores(prm, cands)
    score_of = {cd.key: s for cd, s in zip(cands, scores)}
    scored = [{"problem_id": gold[s["tree_id"]]["problem_id"], "parent_id": s["parent_id"], "node_id": n["node_id"],
               "text": n["text"], "is_terminal": n["is_terminal"], "score": score_of[n["node_id"]],
               "scorer": opts.scorer} for s in sites for n in s["children"]]
    counts["candidates"], counts["sites"] = len(cands), len(sites)
    counts["duplicates"] = sum(n.get("duplicate_of") is not None for n in res.nodes)
    pairs = []
    for s in sites:
        kids = s["children"]
        kind, b, w = pick_pair([k["text"] for k in kids], [score_of[k["node_id"]] for k in kids], opts.min_margin)
        counts[kind if kind != "pair" else "pairs"] += 1
        if kind == "pair":
            pairs.append((s, kids[b], kids[w]))
    return (*_judge_pairs(pairs, gold, score_of, teacher, templates.judge, opts, seed, source, counts, verdicts), scored)


def _judge_pairs(pairs, gold, score_of, teacher, judge_tmpl, opts, seed, source, counts, verdicts):
    from builder.prompts import judge_message
    from builder.tasks.base import hash_split
    from builder.initdata.tables import eft_rows

    messages = []
    for s, best, worst in pairs:
        problem = gold[s["tree_id"]]["problem"]
        messages += [judge_message(judge_tmpl, problem, s["prefix"], best["text"], worst["text"]),
                     judge_message(judge_tmpl, problem, s["prefix"], worst["text"], best["text"])]
    from builder.verdicts import Verdicts, parsed

    verdicts = verdicts or Verdicts("parse")
    if not messages:
        outs = []
    elif verdicts.mode == "parse":  # any teacher that answers messages will do
        outs = parsed(teacher.ask(messages, max_tokens=opts.judge_max_tokens, seed=seed))
    else:
        outs = teacher.judge(messages, verdicts, max_tokens=opts.judge_max_tokens, seed=seed)
    counts["teacher_calls"] = len(messages)
    rows, log = [], []
    for k, (s, best, worst) in enumerate(pairs):
        o1, o2 = outs[2 * k], outs[2 * k + 1]
        v1, v2 = o1.verdict, o2.verdict
        outcome = judge_outcome(v1, v2)
        counts[outcome] += 1
        p = gold[s["tree_id"]]
        prefix = "".join(s["prefix"])
        log.append({"problem_id": p["problem_id"], "parent_id": s["parent_id"], "best_id": best["node_id"],
                    "worst_id": worst["node_id"], "best_score": score_of[best["node_id"]],
                    "worst_score": score_of[worst["node_id"]], "scorer": opts.scorer, "verdict_best_first": v1, "verdict_worst_first": v2,
                    "outcome": outcome, "prefix": prefix, "best": best["text"], "worst": worst["text"],
                    "judgment_best_first": o1.raw, "judgment_worst_first": o2.raw,
                    "verdict_sources": [o1.source, o2.source], "p_a_best_first": o1.p_a, "p_a_worst_first": o2.p_a})
        if outcome != "kept":
            continue
        split = hash_split(p["problem"], opts.test_share)
        examples = [
            {"problem": p["problem"], "prefix": prefix, "step_a": best["text"], "step_b": worst["text"],
             "label": "A", "judgment": verdicts.written(o1)},
            {"problem": p["problem"], "prefix": prefix, "step_a": worst["text"], "step_b": best["text"],
             "label": "B", "judgment": verdicts.written(o2)},
        ]
        rows += eft_rows(examples, split, source)
        counts[f"rows_{split}"] += 2
    return rows, log, counts


def check_counts(counts: dict) -> None:
    """The identities the summary promises; a failure here is a bug, said in one line."""
    ok = (counts["sites"] == counts["single"] + counts["tied"] + counts["pairs"]
          and counts["pairs"] == sum(counts[o] for o in OUTCOMES)
          and 2 * counts["kept"] == counts["rows_train"] + counts["rows_test"])
    if not ok:
        raise PsrError(f"EFT filter counts do not add up: {counts}")


# ---- the job -------------------------------------------------------------------------------------
@dataclass(slots=True)
class EftReport:
    summary: dict
    computed: list
    skipped: list
    removed: list
    sealed: bool


def eft_problems(run, source: str, split: str, fields: dict, limit: int | None) -> tuple[list[dict], dict]:
    """Problems with gold answers ({problem_id, problem, answer}), distinct, in source order; drop counts."""
    from builder.problems import load_rows, problem_id, task_rows

    if source.startswith("task:"):
        from builder.ids import EFT_DRAW_SLOT, draw_seed

        rows = task_rows(run, source[5:], split, limit or 64, draw_seed(run.config.seed, EFT_DRAW_SLOT))
    else:
        rows = load_rows(source, split, fields)
    out, seen, dropped = [], set(), {"duplicates": 0, "without_answer": 0}
    for r in rows:
        pid = problem_id(r["problem"])
        if not r.get("answer"):
            dropped["without_answer"] += 1
        elif pid in seen:
            dropped["duplicates"] += 1
        else:
            seen.add(pid)
            out.append({"problem_id": pid, "problem": r["problem"], "answer": str(r["answer"])})
        if limit and len(out) >= limit:
            break
    if not out:
        raise PsrError(f"{source}: no problems with a gold answer (map one with --field answer=COLUMN)")
    return out, dropped


def answer_checker(run, source: str):
    """The task's checker for task:NAME sources, else math-verify answer equivalence."""
    from builder.search.context import AnswerChecker

    if source.startswith("task:"):
        from builder.tasks import run_task

        name = source[5:]
        return run_task(run.config, name)
    return AnswerChecker()


@dataclass
class EftTask:
    """One chunk of the EFT job for any executor (builder/executors): models opened once per process.

    `teacher` and `policy` are open objects (a Teacher, an engine with its renderer: the local
    executor, tests) or ENGINE_SPECs that each Ray actor opens itself."""

    root: str
    problems: list
    chunk_size: int
    opts: EftOptions
    search_cfg: object
    source: str
    tag: str
    teacher: object
    policy: object
    renderer: object = None
    prm: object = None  # an open PRM (local executor); None: opened from opts.scorer in setup (Ray actors)

    def size(self, c: int) -> int:
        return len(self.problems[c * self.chunk_size:(c + 1) * self.chunk_size])

    def setup(self) -> dict:
        from builder.initdata.teacher import EngineSpec, Teacher, open_policy
        from builder.search.context import Templates
        from builder.store import Run

        run = Run.open(self.root)
        teacher = Teacher.open(self.teacher, run.config.engine) if isinstance(self.teacher, (str, EngineSpec)) \
            else self.teacher
        policy, renderer = (open_policy(self.policy, run.config.engine) if isinstance(self.policy, EngineSpec)
                            else (self.policy, self.renderer))
        prm = self.prm if self.prm is not None else _open_scorer(self.opts.scorer, run.config)
        return {"run": run, "teacher": teacher, "policy": policy, "renderer": renderer, "prm": prm,
                "templates": Templates.from_config(run.config.prompts), "checker": answer_checker(run, self.source),
                "verdicts": _teacher_verdicts(self.opts.verdict, run.config.prompts.judge, teacher)}

    def job(self, st: dict):
        from builder.initdata import jobs

        return jobs.job(st["run"], "eft")

    def done(self, st: dict, c: int) -> dict | None:
        from builder.initdata import jobs

        return jobs.marker(st["run"], "eft", c)

    def run(self, st: dict, c: int, progress=None) -> dict:
        from builder.initdata import jobs

        done = self.done(st, c)
        if done is not None:
            return done
        chunk = self.problems[c * self.chunk_size:(c + 1) * self.chunk_size]
        rows, log, counts, scored = mine_chunk(
            chunk, c, policy=st["policy"], renderer=st["renderer"], teacher=st["teacher"], templates=st["templates"],
            search_cfg=self.search_cfg, checker=st["checker"], opts=self.opts, seed=st["run"].config.seed,
            source=self.tag, verdicts=st["verdicts"], prm=st.get("prm"))
        check_counts(counts)
        # before the marker: a chunk with a marker has its candidates file
        jobs.write_jsonl(candidates_chunk_path(st["run"], c), scored)
        return jobs.finish_chunk(st["run"], "eft", c, rows, log, counts)


def build_eft(run, teacher, policy: Policy, opts: EftOptions, *, force: bool = False, progress=None,
              executor: str = "local", address: str | None = None, prm=None) -> EftReport:
    """Mine, score, judge and filter EFT pairs chunk by chunk, resumably; seal iteration 0 when IFT is done too.

    teacher: an open Teacher or an ENGINE_SPEC; executor="ray" needs specs (teacher and Policy.engine).
    prm: the open PRM of opts.scorer (else each process opens it)."""
    from builder.executors import run_chunks
    from builder.initdata import jobs

    source, policy_desc = opts.source, policy.desc
    problems, dropped = eft_problems(run, source, opts.split, opts.fields or {}, opts.limit)
    search_cfg = mining_search(run.config.search, opts)
    n_chunks = -(-len(problems) // opts.chunk_size)
    teacher_desc = str(getattr(teacher, "spec", teacher))
    plan = {"source": source, "split": opts.split, "fields": opts.fields or {}, "limit": opts.limit, "teacher": teacher_desc,
            "policy": policy_desc, "options": _options_json(opts), "search": search_cfg.model_dump(),
            "prompts": run.config.prompts.model_dump(), "n_items": len(problems),
            "ids_sha256": jobs.ids_sha256([p["problem_id"] for p in problems])}
    if opts.scorer != "rollouts":  # what reads the PRM is part of the job
        plan["prm"] = run.config.prm.model_dump()
    done = None if force else jobs.finished(run, "eft", plan)
    if done is not None:
        return EftReport(done, [], list(range(n_chunks)), [], True)
    removed = jobs.start(run, "eft", plan, force)
    if force and candidates_path(run).exists():
        candidates_path(run).unlink()
        removed.append(candidates_path(run))
    skipped = [c for c in range(n_chunks) if jobs.marker(run, "eft", c) is not None]
    todo = [c for c in range(n_chunks) if c not in skipped]
    task = EftTask(str(run.root), problems, opts.chunk_size, opts, search_cfg, source,
                   f"{source} | policy {policy_desc} | scored by {opts.scorer} | judged by {teacher_desc}", teacher,
                   policy.engine, policy.renderer, prm)
    computed = []

    def on_done(c: int, marker: dict) -> None:
        computed.append(c)
        if progress is not None:
            progress(c, n_chunks, marker["counts"])

    if todo:
        run_chunks(task, todo, executor, ray_settings=run.config.executor.ray, address=address, on_done=on_done)
    summary = jobs.finish_job(run, "eft", n_chunks, {"teacher": teacher_desc, "policy": policy_desc,
                                                      "scorer": opts.scorer, "source": source,
                                                      "dropped_problems": dropped, "options": _options_json(opts)})
    jobs.write_jsonl(candidates_path(run), [r for c in range(n_chunks)
                                            for r in jobs.read_jsonl(candidates_chunk_path(run, c))])
    check_counts(summary["counts"])
    return EftReport(summary, sorted(computed), skipped, removed, jobs.seal_if_complete(run))


def mining_search(search, opts: EftOptions):
    """The run's search settings with the mining strategy and the mining rollouts (EftOptions.search_rollouts)."""
    mcts = search.mcts.model_copy(update={"rollouts": opts.search_rollouts})
    return search.model_copy(update={"strategy": opts.strategy, "mcts": mcts})


def _teacher_verdicts(mode: str, judge_template: str, teacher):
    """The teacher's verdict mode, checked before any work (template header, one-token verdicts)."""
    from builder.verdicts import Verdicts

    if mode == "parse":
        return Verdicts(mode)
    if getattr(teacher, "renderer", None) is None:
        raise InputError(f"teacher {teacher.spec}: verdict {mode} needs raw prompts with the teacher's chat "
                         "template, which an openai teacher applies on the server: use --verdict parse")
    return Verdicts.prepare(mode, judge_template, teacher.engine, teacher.renderer.tokenizer)


def _options_json(opts: EftOptions) -> dict:
    """The mining options of the plan; scorer only when it is a PRM, so plans of rollout jobs started
    before the scorer was an option stay equal and resume."""
    from dataclasses import asdict

    return {k: v for k, v in asdict(opts).items()
            if k not in SOURCE_KEYS and not (k == "scorer" and v == "rollouts")}


def _open_scorer(scorer: str, run_config):
    """The open PRM of a prm:... scorer, or None (rollouts)."""
    from builder.initdata.prm import open_prm, parse_scorer

    model = parse_scorer(scorer)
    return None if model is None else open_prm(model, run_config)


def candidates_chunk_path(run, c: int):
    from builder.initdata import jobs

    return jobs.job_dir(run, "eft") / f"chunk-{c:05d}.candidates.jsonl"


def candidates_path(run):
    """Every scored candidate of the job: problem, site (parent_id), node, text, score and scorer."""
    return run.work_dir(0) / "eft_candidates.jsonl"

"""The run configuration: one validated object, loaded from RUN_DIR/run.yaml.

Presets ship as YAML under builder/presets/; one may say `extends: NAME` to start from another
preset's keys (mappings deep-merged, the child's values win). `psr init` writes a preset (plus `--set` overrides)
to run.yaml, which is then frozen for the run. Unknown or ill-typed keys are errors naming the
key path (pydantic with extra="forbid").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, ValidationInfo, field_validator, model_validator

from builder.errors import InputError

PRESETS_DIR = Path(__file__).parent / "presets"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyModel(Section):
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    intermediate: int = 352


class Models(Section):
    M0: str = Field("models/M0", description="Base model: path (relative to the run dir) or Hub id.")
    M1: str | None = Field(None, description="Given: skip iteration 0 and use this as M1.")
    build_tiny: bool = Field(False, description="`make init` builds M0 with `psr model tiny`.")
    tiny: TinyModel = TinyModel()


class Problems(Section):
    source: str = "task:arithmetic"
    split: str = "train"
    per_iteration: list[int] = Field(default_factory=lambda: [64], description="Problems per iteration 1, 2, ...; the last repeats.")
    fields: dict[str, str] = Field(default_factory=dict, description="Column mapping DST=SRC.")
    disjoint: bool = True

    def count(self, iteration: int) -> int:
        i = min(max(iteration, 1), len(self.per_iteration)) - 1
        return self.per_iteration[i]


class VllmSettings(Section):
    """vLLM `LLM(...)` arguments; the one place their defaults live (the engine restates none)."""

    tensor_parallel_size: int = 1
    enable_prefix_caching: bool = True
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = 4096


class OpenAISettings(Section):
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str | None = Field(None, description="Served model name; default: the engine's model argument.")
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(8, ge=1)
    timeout: float = Field(600.0, gt=0, description="Seconds per HTTP call; a long teacher answer on a busy server needs minutes.")
    max_retries: int = Field(5, ge=0)
    server: Literal["auto", "openai", "vllm", "transformers"] = Field(
        "auto", description="Server quirks to handle; auto asks GET /models once.")
    chat: bool = Field(False, description="generate() sends each prompt as one user message to /chat/completions.")

    @model_validator(mode="before")
    @classmethod
    def _drop_backoff(cls, data):
        # Every run.yaml written before the openai client took over the retries holds `backoff`
        # (run configs are dumped in full): accept and ignore it, so those runs still open.
        if isinstance(data, dict) and "backoff" in data:
            data = {k: v for k, v in data.items() if k != "backoff"}
        return data


class Engine(Section):
    """The engine section; engines receive this object itself (builder.engines.load_engine)."""

    name: Literal["hf", "vllm", "openai"] = "hf"
    dtype: str = Field("auto", description="torch dtype name; auto: float32 on CPU, bfloat16 on GPU (vLLM: its own).")
    device: str = Field("auto", description="hf engine: cpu, cuda, cuda:N; auto picks cuda when available.")
    max_batch_tokens: int = Field(65536, ge=1, description="hf engine: padded tokens per generate call.")
    threads: int | None = Field(None, ge=1, description="torch intra-op threads for the hf engine (None: torch's default).")
    vllm: VllmSettings = VllmSettings()
    openai: OpenAISettings = OpenAISettings()


class Prompts(Section):
    reasoning: str = "reasoning_paper"
    judge: str = "judge_paper"
    # the solution-scoring template of iteration 0's scoring examples (init_data.score_train > 0)
    score: str = "judge_srlm"
    step_stop: str = "\nStep "


class Mcts(Section):
    simulations: int = Field(16, ge=1, description="Simulations per tree; at least search.max_steps are run, so a path can reach the step limit.")
    c_puct: float = 1.0
    rollouts: int = Field(4, ge=0, description="Sampled continuations to a terminal step per new distinct child, scored by agreement with the plurality answer of the tree's rollouts (0: the judged win rate alone).")
    rollout_weight: float = Field(0.5, ge=0.0, le=1.0, description="Leaf evaluation = w * rollout agreement + (1 - w) * judged win rate (when rollouts > 0).")


class Search(Section):
    strategy: Literal["tournament", "mcts", "solution"] = "tournament"
    width: int = Field(6, ge=2)
    temperature: float = 0.5
    top_p: float = 0.95
    max_step_tokens: int = 256
    max_steps: int = Field(20, ge=1)
    judge_orders: Literal["both", "one"] = "both"
    judge_schedule: Literal["round_robin", "knockout", "adaptive"] = Field(
        "round_robin", description="Which pairs of a round's distinct candidates are judged (builder/search/schedules.py): "
        "round_robin (the paper's, every pair), knockout (winners'/losers' brackets, ~3w/2 matches) or adaptive "
        "(knockout, only the finals in both orders).")
    judge_temperature: float = 0.0
    judge_max_tokens: int = 512
    judge_samples: int = Field(1, ge=1, description="solution strategy: scoring calls per solution, averaged (Yuan et al. 2024 used 3).")
    verdict: Literal["parse", "forced", "logprob"] = Field(
        "parse", description="parse: the last [[A]]/[[B]] of the judge's output; forced: parse, and an output "
        "without one is continued with the template's verdict prefix and decided by the two verdict tokens' "
        "probabilities; logprob: no generation, one forward pass on the prompt plus the prefix (builder/verdicts.py).")
    score: Literal["wins", "probability"] = Field(
        "wins", description="Tournament score of a candidate with judge_schedule round_robin: judgments won, "
        "or the summed probability of winning (p_a as A, 1 - p_a as B; a parsed verdict counts 1 or 0).")
    max_rollbacks: int = Field(3, ge=0)
    rollback_scope: Literal["step", "tree"] = Field("step", description="max_rollbacks counts per step (depth) or per tree.")
    on_rollbacks_spent: Literal["accept", "abandon"] = Field(
        "accept", description="All-tie with the budget spent: accept the first distinct candidate (no pair) or abandon the tree (after a last rollback).")
    samples: int | None = Field(None, description="Samples per round (default: width); up to `width` distinct ones are judged.")
    chunk_size: int = Field(16, ge=1)
    greedy_candidate: bool = Field(
        False, description="tournament: one of the round's samples is the policy's greedy step (temperature 0) at the "
        "prefix (candidate_index 0, nodes.is_greedy), so its own most likely mistake can become a rejected step.")
    record_greedy: bool = Field(
        False, description="tournament: record the policy's greedy step at every round's parent prefix and whether the "
        "step checker calls it correct (nodes.greedy_step, greedy_step_correct), for the generation-verification gap "
        "of `psr report`; one greedy request per parent, in the round's generation call. On with greedy_candidate.")
    mcts: Mcts = Mcts()

    @field_validator("samples")
    @classmethod
    def _samples_at_least_width(cls, v: int | None, info: ValidationInfo) -> int | None:
        width = info.data.get("width")
        if v is not None and width is not None and v < width:
            raise ValueError(f"must be >= search.width ({width}), got {v}")
        return v

    @field_validator("judge_schedule")
    @classmethod
    def _mcts_judges_round_robin(cls, v: str, info: ValidationInfo) -> str:
        strategy = info.data.get("strategy")
        if v != "round_robin" and strategy == "mcts":
            raise ValueError(f"strategy mcts needs every candidate's win rate (its prior): use round_robin, got {v!r}")
        if v != "round_robin" and strategy == "solution":
            raise ValueError(f"strategy solution scores solutions instead of comparing them: use round_robin, got {v!r}")
        return v

    @field_validator("greedy_candidate", "record_greedy")
    @classmethod
    def _greedy_in_the_tournament(cls, v: bool, info: ValidationInfo) -> bool:
        strategy = info.data.get("strategy")
        if v and strategy != "tournament":
            raise ValueError(f"the greedy step is recorded by the step tournament only, not strategy {strategy!r}")
        return v

    @property
    def greedy_steps(self) -> bool:
        """Whether the round loop asks for the greedy step at each parent (recorded, or a candidate)."""
        return self.greedy_candidate or self.record_greedy

    @property
    def n_samples(self) -> int:
        """Candidates sampled per round: `samples`, or `width` when unset."""
        return self.samples if self.samples is not None else self.width


class Pairs(Section):
    require_head_to_head: bool = Field(True, description="Keep a pair only when the chosen step won every parseable direct judgment against the rejected one (and at least one).")
    per_round: Literal["best_worst", "ranked"] = Field(
        "best_worst", description="Pairs per decided round: best_worst (the paper: the accepted step over the worst) or "
        "ranked (every judged candidate over every judged candidate with a lower judge score; pairs.chosen_rank, "
        "rejected_rank and margin say which).")
    min_margin: float = 0.0
    max_prompt_chars: int | None = None
    max_step_chars: int | None = None


class TrainerStage(Section):
    template: str
    overrides: dict[str, Any] = Field(default_factory=dict)


class DpoStage(TrainerStage):
    """The DPO stage; beta, lr and epochs are Axolotl's own keys in `overrides` (rl_beta, learning_rate,
    num_epochs), the loss terms below are rendered by builder/trainer/render.py (docs/training.md)."""

    nll_weight: float = Field(
        0.0, ge=0.0, description="RPO (arXiv 2404.19733): loss = DPO + nll_weight x the NLL of the chosen step "
        "(TRL's 'sft' loss, rendered as dpo_loss_type [sigmoid, sft], dpo_loss_weights [1, nll_weight]); 0: plain DPO.")
    dpop_lambda: float = Field(
        0.0, ge=0.0, description="DPOP penalty (arXiv 2402.13228); TRL 1.9 (Axolotl 0.19) has no such loss: only 0 is accepted.")
    replay_share: float = Field(
        0.0, ge=0.0, lt=1.0, description="Share of the exported DPO rows that replay iteration 0's SFT rows (train split), "
        "each as a pair with chosen == rejected: the DPO term of such a pair is exactly zero, so only the NLL term "
        "(nll_weight, needed > 0) trains on it. 0: pairs only.")

    @model_validator(mode="after")
    def _replay_needs_nll(self) -> "DpoStage":
        if self.replay_share and not self.nll_weight:
            raise ValueError("replay_share trains replayed rows through the NLL term alone (their DPO term is zero): "
                             "set nll_weight > 0 too")
        return self

    @field_validator("dpop_lambda")
    @classmethod
    def _no_dpop_in_trl(cls, v: float) -> float:
        if v:
            raise ValueError("DPOP is not in Axolotl 0.19 / TRL 1.9 (no such loss type); use nll_weight (RPO) to keep "
                             "the chosen side's likelihood up, or leave dpop_lambda at 0")
        return v


class Trainer(Section):
    env: str = ".venv-axolotl"
    launcher: str | None = None
    extra_args: list[str] = Field(default_factory=list)
    # `accelerate launch` gives a process one CPU thread (OMP_NUM_THREADS=1) unless told otherwise:
    # null keeps that (or the caller's OMP_NUM_THREADS), "auto" uses every CPU this process may run on
    threads: PositiveInt | Literal["auto"] | None = Field(None, description="CPU threads per training process (OMP_NUM_THREADS): an integer, 'auto' (all usable CPUs) or null (the launcher's default, one).")
    sft: TrainerStage = TrainerStage(template="sft.yaml")
    dpo: DpoStage = DpoStage(template="dpo.yaml")


class OwnSteps(Section):
    """Iteration 0's own-step judge data (builder/initdata/own_stage.py); off while ift_steps is 0."""
    ift_steps: int = Field(0, ge=0)  # SFT steps of M0 on IFT alone (M0-ift), before sampling
    problems: int = Field(2000, ge=1)  # train problems, one sampled site each
    width: int = Field(6, ge=2)  # next steps sampled per site
    temperature: float = Field(0.7, gt=0)


class InitData(Section):
    ift_train: int = 2000
    eft_train: int = 2000
    eft_test: int = 200
    # solution-scoring examples (0-5) so M1 can also judge as the SRLM baseline; tasks that have them
    score_train: int = Field(0, ge=0)
    # EFT pairs from M0-ift's own sampled steps, labelled by the task's step checker (iteration 0 only)
    own_steps: OwnSteps = OwnSteps()


EvalMode = Literal["greedy", "search"]


def _greedy_only() -> list[EvalMode]:
    return ["greedy"]


class Eval(Section):
    benchmarks: list[str] = Field(default_factory=lambda: ["task"])
    modes: list[EvalMode] = Field(default_factory=_greedy_only)
    limit: int | None = 200
    # search mode costs a tree per problem: it may take the first K of the same problems only
    search_limit: int | None = Field(None, ge=1)
    max_steps: int = 20


class Hub(Section):
    license: str = "apache-2.0"
    tags: list[str] = Field(default_factory=lambda: ["psrlm", "step-dpo", "self-rewarding", "math"])


class RayExecutor(Section):
    """Resources of one Ray actor (one model per actor, loaded once); `psr generate --executor ray`."""

    num_cpus: float = Field(1.0, ge=0, description="CPUs per actor (the hf engine's torch threads on CPU when engine.threads is null; else keep them equal).")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor: 1 for one vLLM engine per GPU, "
                            "engine.vllm.tensor_parallel_size for tensor parallel.")
    max_concurrency: int = Field(1, ge=1, description="Chunks one actor runs at once (>1 only for an openai engine).")
    max_retries: int = Field(3, ge=0, description="Restarts of a dead actor and retries of its chunk.")
    workers: int | None = Field(None, ge=1, description="Actors; None: as many as the cluster's resources fit "
                                "(at most one per chunk).")


class Prm(Section):
    """`psr init-data eft --scorer prm:PATH_OR_ID` (builder/initdata/prm.py); device and dtype: the engine section."""

    kind: Literal["auto", "separator", "tag"] = Field(
        "auto", description="separator: Qwen2.5-Math-PRM style (2-class head at each step separator); tag: "
        "Math-Shepherd style (next-token '+' vs '-' at each step tag); auto: read from the model's config and tokenizer.")
    step_separator: str = "<extra_0>"
    step_tag: str = "ки"
    good_token: str = "+"
    bad_token: str = "-"
    system: str = Field("Please reason step by step, and put your final answer within \\boxed{}.",
                        description="separator kind: the system turn of the PRM's chat template.")
    batch_size: int = Field(8, ge=1, description="Candidates per forward pass.")
    trust_remote_code: bool = Field(False, description="Run a PRM's own modeling code (Qwen2ForProcessRewardModel needs it).")


class Executor(Section):
    ray: RayExecutor = RayExecutor()


class RunConfig(Section):
    name: str = "run"
    seed: int = 1234
    task: str = "arithmetic"
    task_options: dict[str, Any] = Field(default_factory=dict)
    # named variants of the task: `task:NAME` in problems.source and eval.benchmarks is the run's
    # task with task_options and then these options (demo-frontier's `frontier`: longer chains)
    task_variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    models: Models = Models()
    problems: Problems = Problems()
    engine: Engine = Engine()
    prompts: Prompts = Prompts()
    search: Search = Search()
    executor: Executor = Executor()
    prm: Prm = Prm()
    pairs: Pairs = Pairs()
    init_data: InitData = InitData()
    trainer: Trainer = Trainer()
    eval: Eval = Eval()
    hub: Hub = Hub()

    @field_validator("task_options", "task_variants")
    @classmethod
    def _string_keys(cls, v: dict) -> dict:
        """Keys as strings at every depth (`ops_weights: {4: 0.05}`): what run.yaml reads back."""
        def keys(x):
            return {str(k): keys(val) for k, val in x.items()} if isinstance(x, dict) else x
        return keys(v)

    @field_validator("task_variants")
    @classmethod
    def _variant_names(cls, v: dict, info: ValidationInfo) -> dict:
        for name in v:
            if not name.isidentifier() or name == info.data.get("task"):
                raise ValueError(f"variant name {name!r} must be a plain word other than the task's own name")
        return v


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict:
    """The preset's keys, with those of the preset it `extends` (recursively) underneath."""
    return _resolve_preset(name, [])


def _read_preset(name: str) -> dict:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.exists():
        raise InputError(f"unknown preset '{name}' (available: {', '.join(preset_names())})")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return data


def _resolve_preset(name: str, chain: list[str]) -> dict:
    if name in chain:
        raise InputError(f"preset '{chain[0]}': 'extends' makes a cycle ({' -> '.join([*chain, name])})")
    data = _read_preset(name)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or parent not in preset_names():
        raise InputError(f"preset '{name}': extends unknown preset {parent!r} (available: {', '.join(preset_names())})")
    return deep_merge(_resolve_preset(parent, [*chain, name]), data)


def deep_merge(base: dict, top: dict) -> dict:
    """`top` over `base`: mappings merge key by key, anything else (lists included) is replaced."""
    out = dict(base)
    for key, value in top.items():
        below = out.get(key)
        out[key] = deep_merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return out


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `a.b.c=value` override in place; the value is parsed as YAML (so 3, true, [1,2] work)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--set expects KEY=VALUE, got '{assignment}'")
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"--set {key}: '{part}' is not a section")
        node = child
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def validate_config(data: dict, origin: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise InputError(f"{origin}: key '{path}': {err['msg']}{more}") from None


def load_config(path: Path) -> RunConfig:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return validate_config(data, str(path))


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

"""Step rewards from a process reward model (PRM): `psr init-data eft --scorer prm:PATH_OR_ID`.

Two conventions are read (run.yaml `prm.kind`, or detected from the model's config and tokenizer):

separator (Qwen2.5-Math-PRM style): the solution is the assistant turn of the model's chat template
  (system `prm.system`, user = problem), steps joined by `prm.step_separator` (`<extra_0>`) with one
  after the last step; a two-class head gives logits at every token, and a step's reward is
  softmax(logits)[1] at its separator. Models: *ForTokenClassification with 2 labels, or
  Qwen2ForProcessRewardModel (its own modeling code: needs prm.trust_remote_code).
tag (Math-Shepherd style): input `problem + " " + steps`, each step followed by " " + `prm.step_tag`
  (`ки`) and joined by newlines; a causal LM's next-token logits at each tag give the reward
  P('+') / (P('+') + P('-')) (a softmax over the two tokens `prm.good_token`, `prm.bad_token`).

A candidate's score is the reward at ITS step (the last one): siblings share their prefix, so the
last step's reward is what tells them apart. Both scales are [0, 1], as rollout shares are.
Inputs go through the model in batches of `prm.batch_size`, in the candidates' order (right
padding; padding after a causal model's positions does not change them), on engine.device.
torch and transformers are imported only when a PRM is opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import InputError, PsrError, need

KINDS = ("separator", "tag")


@dataclass(slots=True, frozen=True)
class PrmInput:
    problem: str
    steps: list  # step texts, the scored one last


def parse_scorer(text: str) -> str | None:
    """--scorer: 'rollouts' -> None; 'prm:PATH_OR_ID' -> the model; anything else is bad input."""
    if text == "rollouts":
        return None
    kind, sep, model = (text or "").partition(":")
    if kind == "prm" and sep and model.strip():
        return model.strip()
    raise InputError(f"--scorer {text!r}: expected rollouts or prm:PATH_OR_ID (a process reward model)")


# ---- inputs ----------------------------------------------------------------------------------
def separator_text(tokenizer, settings, item: PrmInput) -> str:
    """The Qwen2.5-Math-PRM input: chat template, steps each followed by the separator."""
    sep = settings.step_separator
    answer = "".join(s.strip() + sep for s in item.steps)
    messages = [{"role": "system", "content": settings.system}, {"role": "user", "content": item.problem},
                {"role": "assistant", "content": answer}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    return f"{settings.system}\n\n{item.problem}\n\n{answer}"


def tag_text(settings, item: PrmInput) -> str:
    """The Math-Shepherd input: problem, then each step with the tag after it."""
    return f"{item.problem} " + "\n".join(f"{s.strip()} {settings.step_tag}" for s in item.steps)


def single_token(tokenizer, text: str) -> int | None:
    """The id of `text` when the tokenizer reads it as one token (alone and after a space), else None."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) == 1:
        return ids[0]
    spaced = tokenizer.encode(f" {text}", add_special_tokens=False)
    return spaced[-1] if len(spaced) == 1 else None


# ---- read-outs (pure: logits and ids of one sequence) ---------------------------------------------
def separator_rewards(logits, ids, sep_id: int) -> list[float]:
    """softmax over the 2 classes, class 1, at each separator position."""
    probs = logits.float().softmax(-1)[:, 1]
    return probs[ids == sep_id].tolist()


def tag_rewards(logits, ids, tag_id: int, good_id: int, bad_id: int) -> list[float]:
    """P(good) / (P(good) + P(bad)) of the next-token distribution at each tag position."""
    pair = logits.float()[:, [good_id, bad_id]].softmax(-1)[:, 0]
    return pair[ids == tag_id].tolist()


# ---- kind detection -----------------------------------------------------------------------------
def detect_kind(model: str, config, tokenizer, settings) -> str:
    """prm.kind when set; else separator for a 2-label token classifier / ProcessRewardModel whose
    tokenizer has the separator, tag for a causal LM whose tokenizer has the tag and both labels."""
    if settings.kind != "auto":
        return settings.kind
    archs = list(getattr(config, "architectures", None) or [])
    classifier = any(a.endswith("ForTokenClassification") for a in archs) and getattr(config, "num_labels", 0) == 2
    if (classifier or any("ProcessRewardModel" in a for a in archs)) \
            and single_token(tokenizer, settings.step_separator) is not None:
        return "separator"
    if any(a.endswith("ForCausalLM") for a in archs) and all(
            single_token(tokenizer, t) is not None for t in (settings.step_tag, settings.good_token, settings.bad_token)):
        return "tag"
    raise InputError(
        f"PRM {model}: neither a step-separator PRM (2-label token classifier or ProcessRewardModel with "
        f"{settings.step_separator!r} in its tokenizer) nor a step-tag PRM (causal LM whose tokenizer has "
        f"{settings.step_tag!r}, {settings.good_token!r}, {settings.bad_token!r}); architectures {archs}; "
        "set prm.kind if it is one")


def read_prm(model: str, settings):
    """(config, tokenizer, kind) of a PRM, without its weights: what a driver checks before a job starts."""
    transformers = need("transformers", None, "a PRM scorer")
    trust = settings.trust_remote_code
    try:
        config = transformers.AutoConfig.from_pretrained(model, trust_remote_code=trust)
        tokenizer = transformers.AutoTokenizer.from_pretrained(model, trust_remote_code=trust)
    except (OSError, ValueError) as e:
        raise InputError(f"PRM {model}: cannot read its config or tokenizer ({str(e).splitlines()[0]})") from None
    return config, tokenizer, detect_kind(model, config, tokenizer, settings)


# ---- the scorer -------------------------------------------------------------------------------------
class HFPrm:
    """A PRM through transformers: `step_rewards(items)` -> per item, the reward of every step."""

    def __init__(self, model: str, settings, engine_settings):
        """settings: run.yaml's prm section; engine_settings: its engine section (device, dtype, threads)."""
        torch = need("torch", None, "a PRM scorer")
        transformers = need("transformers", None, "a PRM scorer")
        self.torch, self.settings, self.model_name = torch, settings, model
        device = engine_settings.device if engine_settings.device != "auto" else (
            "cuda" if torch.cuda.is_available() else "cpu")
        dtype = engine_settings.dtype if engine_settings.dtype != "auto" else ("float32" if device == "cpu" else "bfloat16")
        if engine_settings.threads:
            torch.set_num_threads(engine_settings.threads)
        config, self.tokenizer, self.kind = read_prm(model, settings)
        self.ids = self._token_ids()
        self.model = self._load(transformers, model, config, getattr(torch, dtype), settings.trust_remote_code)
        self.model.to(device).eval()
        self.device = device
        self.desc = f"prm:{model} ({self.kind})"

    def _token_ids(self) -> dict:
        s = self.settings
        names = {"separator": (s.step_separator,), "tag": (s.step_tag, s.good_token, s.bad_token)}[self.kind]
        ids = {t: single_token(self.tokenizer, t) for t in names}
        missing = [t for t, i in ids.items() if i is None]
        if missing:
            raise InputError(f"PRM {self.model_name} (kind {self.kind}): its tokenizer has no single token for {missing}")
        return {k: ids[t] for k, t in zip(("sep",) if self.kind == "separator" else ("tag", "good", "bad"), names)}

    def _load(self, transformers, model, config, dtype, trust):
        archs = list(getattr(config, "architectures", None) or [])
        if self.kind == "tag":
            return transformers.AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
        if any(a.endswith("ForTokenClassification") for a in archs):
            return transformers.AutoModelForTokenClassification.from_pretrained(model, dtype=dtype)
        if not trust:
            raise InputError(f"PRM {model}: {archs} ships its own modeling code; set prm.trust_remote_code: true "
                             "in run.yaml to run it")
        return transformers.AutoModel.from_pretrained(model, dtype=dtype, trust_remote_code=True)

    def text(self, item: PrmInput) -> str:
        return separator_text(self.tokenizer, self.settings, item) if self.kind == "separator" \
            else tag_text(self.settings, item)

    def step_rewards(self, items: list[PrmInput]) -> list[list[float]]:
        out = []
        for start in range(0, len(items), self.settings.batch_size):
            out += self._batch(items[start:start + self.settings.batch_size])
        return out

    def _batch(self, items: list[PrmInput]) -> list[list[float]]:
        torch = self.torch
        seqs = [self.tokenizer(self.text(it), add_special_tokens=self.kind == "tag")["input_ids"] for it in items]
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=self.device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=self.device)
        with torch.no_grad():
            out = self.model(input_ids=ids, attention_mask=mask)
        logits = out.logits if hasattr(out, "logits") else out[0]
        rewards = []
        for b, (it, s) in enumerate(zip(items, seqs)):
            row_ids, row_logits = ids[b, :len(s)], logits[b, :len(s)]
            r = (separator_rewards(row_logits, row_ids, self.ids["sep"]) if self.kind == "separator"
                 else tag_rewards(row_logits, row_ids, self.ids["tag"], self.ids["good"], self.ids["bad"]))
            if len(r) != len(it.steps):
                raise PsrError(f"PRM {self.model_name}: {len(r)} marker tokens for {len(it.steps)} steps "
                               f"(a step text holds the marker, or the tokenizer merges it): {it.steps[-1]!r}")
            rewards.append(r)
        return rewards


def open_prm(model: str, run_config) -> HFPrm:
    return HFPrm(model, run_config.prm, run_config.engine)


def candidate_scores(prm, cands) -> list[float]:
    """Each candidate's score: the PRM's reward of its own (last) step."""
    items = [PrmInput(c.problem, [*c.prefix, c.text]) for c in cands]
    return [r[-1] for r in prm.step_rewards(items)] if items else []

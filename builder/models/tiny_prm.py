"""A tiny process reward model for the demo task, trained on the task's checker-labelled steps.

`psr model tiny-prm OUT` writes a separator-kind PRM (builder/initdata/prm.py: Qwen2.5-Math-PRM
style, a 2-label Qwen2ForTokenClassification read at each `<extra_0>`) that `psr init-data eft
--scorer prm:OUT` runs on CPU. Its inputs are exactly the scorer's (prm.separator_text with the
default prm settings), so what it learns is what the scorer reads.

Training sites: a train chain, a step position k, the gold steps before it (one in four with the
previous step corrupted, so the right next step is the one that carries the wrong result, as the
checker counts it), then one candidate: the right step, a corruption of one of the task's kinds,
or a malformed step (what an untrained policy writes). Every step of the sequence is labelled by
the task's step checker (builder/tasks/arithmetic.py check_step) at its separator. A plain torch
loop (AdamW, linear warm-up and decay), seeded; held-out sites come from the test split.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEPARATOR = "<extra_0>"
# The tiny PRM's own chat template: the problem, a newline, the steps; no system turn and no role
# markers, whose ~40 tokens would double the sequence and so the CPU training time, for no signal.
PRM_TEMPLATE = ("{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] + '\\n' }}"
                "{% elif m['role'] == 'assistant' %}{{ m['content'] }}{% endif %}{% endfor %}")


def candidate_step(chain, k: int, prefix: list[str], rng: random.Random) -> str:
    """The right step k after prefix (by the checker's rule), a corruption of it, or a malformed step."""
    from builder.tasks.arithmetic import (
        CORRUPTIONS,
        answer_step,
        corrupt_step,
        op_step,
        stated_result,
    )

    carried = chain.start if k == 1 else stated_result(prefix[-1])
    if k > len(chain.ops):
        right = answer_step(k, carried)
    else:
        op, b = chain.ops[k - 1]
        right = op_step(k, carried, op, b, carried + b if op == "+" else carried - b)
    roll = rng.random()
    if roll < 0.45:
        return right
    if roll < 0.9:
        # corrupt_step corrupts the GOLD step k; after a wrong prefix its "right" part differs, which is fine:
        # the label is the checker's anyway
        wrong = corrupt_step(chain, k, rng.choice(CORRUPTIONS), rng)
        if wrong is not None and wrong != right:
            return wrong
    cut = rng.randint(len(f"Step {k}: "), max(len(f"Step {k}: "), len(right.strip()) - 1))
    return right.strip()[:cut] + "\n"  # a step cut short


def site(task, chain, rng: random.Random) -> tuple[list[str], list[bool]]:
    """(steps, checker labels) of one training or held-out site: prefix steps, then the candidate."""
    from builder.tasks.arithmetic import corrupt_step, gold_steps

    gold = gold_steps(chain)
    k = rng.randint(1, len(gold))
    prefix = gold[: k - 1]
    if k > 1 and rng.random() < 0.25:
        wrong = corrupt_step(chain, k - 1, "result", rng)
        if wrong is not None:
            prefix = [*prefix[:-1], wrong]
    steps = [*prefix, candidate_step(chain, k, prefix, rng)]
    labels = [bool(task.check_step(chain.text, steps[:i], s)) for i, s in enumerate(steps)]
    return steps, labels


def encode(tokenizer, settings, problem: str, steps: list[str], labels: list[bool] | None):
    """(input ids, per-token labels: the checker's 0/1 at each separator, -100 elsewhere)."""
    from builder.initdata.prm import PrmInput, separator_text

    ids = tokenizer(separator_text(tokenizer, settings, PrmInput(problem, steps)), add_special_tokens=False)["input_ids"]
    sep = tokenizer.convert_tokens_to_ids(SEPARATOR)
    marks = [i for i, t in enumerate(ids) if t == sep]
    assert len(marks) == len(steps), "a step text holds the separator"
    targets = [-100] * len(ids)
    for i, lab in zip(marks, labels or [False] * len(steps)):
        targets[i] = int(lab)
    return ids, targets


def build_tokenizer(task_name: str, seed: int, settings, task_options: dict | None = None):
    from builder.models.tiny import task_corpus, train_tokenizer

    tok = train_tokenizer(task_corpus(task_name, seed, task_options=task_options), 384)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", SEPARATOR]})
    tok.chat_template = PRM_TEMPLATE
    return tok


def train_tiny_prm(out_dir, task: str = "arithmetic", seed: int = 0, steps: int = 1000, batch: int = 32,
                   lr: float = 2e-3, layers: int = 3, hidden: int = 96, heads: int = 4, intermediate: int = 256,
                   held_out: int = 400, threads: int = 1, task_options: dict | None = None, log=None) -> dict:
    """Train and save the PRM to out_dir; returns (and writes to out_dir/prm_eval.json) held-out agreement.

    threads: torch intra-op threads (one is the fastest on a shared small CPU, see builder/engines/hf.py)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForTokenClassification

    from builder.config import Prm
    from builder.tasks import get_task

    torch.set_num_threads(threads)
    settings, the_task = Prm(), get_task(task, **(task_options or {}))
    tok = build_tokenizer(task, seed, settings, task_options)
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=heads, intermediate_size=intermediate, max_position_embeddings=512,
                         tie_word_embeddings=False, pad_token_id=tok.pad_token_id, num_labels=2)
    model = Qwen2ForTokenClassification(config)
    rng = random.Random(f"tiny-prm:{seed}")
    chains = the_task.chains("train", 4000, seed + 31337)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    model.train()
    for step in range(steps):
        rows = [encode(tok, settings, c.text, *site(the_task, c, rng)) for c in rng.choices(chains, k=batch)]
        ids, targets, mask = _pad(rows, tok.pad_token_id)
        loss = torch.nn.functional.cross_entropy(model(input_ids=ids, attention_mask=mask).logits.flatten(0, 1),
                                                 targets.flatten(), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if log is not None and (step + 1) % 100 == 0:
            log(f"tiny-prm step {step + 1}/{steps}: loss {loss.item():.4f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    report = {"task": task, "seed": seed, "steps": steps, "batch": batch,
              "held_out": held_out_agreement(out, the_task, held_out, seed)}
    (out / "prm_eval.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _pad(rows, pad_id: int):
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([i + [pad_id] * (width - len(i)) for i, _ in rows])
    targets = torch.tensor([t + [-100] * (width - len(t)) for _, t in rows])
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in rows])
    return ids, targets, mask


def held_out_agreement(path, task, n: int, seed: int) -> dict:
    """The saved PRM, read by the real scorer (prm.py), on n test-split sites: the share of candidate
    steps where reward > 0.5 agrees with the checker, per checker label too."""
    from builder.config import Prm
    from builder.initdata.prm import HFPrm, PrmInput

    engine = type("Cpu", (), {"device": "cpu", "dtype": "float32", "threads": None})()
    prm = HFPrm(str(path), Prm(), engine)
    rng = random.Random(f"tiny-prm-heldout:{seed}")
    sites = [site(task, c, rng) for c in task.chains("test", n, seed + 27644437)]
    rewards = prm.step_rewards([PrmInput(c.text, steps) for c, (steps, _) in
                                zip(task.chains("test", n, seed + 27644437), sites)])
    hits = {True: [0, 0], False: [0, 0]}
    for (_, labels), r in zip(sites, rewards):
        hits[labels[-1]][0] += (r[-1] > 0.5) == labels[-1]
        hits[labels[-1]][1] += 1
    agree = hits[True][0] + hits[False][0]
    return {"sites": len(sites), "agreement": round(agree / len(sites), 4),
            "agreement_right_steps": round(hits[True][0] / max(1, hits[True][1]), 4), "right_steps": hits[True][1],
            "agreement_wrong_steps": round(hits[False][0] / max(1, hits[False][1]), 4), "wrong_steps": hits[False][1]}

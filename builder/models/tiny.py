"""Build M0 for the embedded demo: a tiny random-weight Qwen2 model with a BPE trained on the task.

The tokenizer is trained with exactly the pipeline `Qwen2Tokenizer` hard-codes (NFC, Qwen2's
split regex, ByteLevel without its own regex): `AutoTokenizer` on a qwen2 folder rebuilds that
pipeline from vocab and merges alone, so any other pre-tokenizer gives different ids after reload
(a pitfall: the model trains fine and then reads different ids once saved and loaded). Qwen2's regex splits every digit into its own token, which the model
needs to learn column arithmetic.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def qwen2_pipeline_tokenizer():
    """An empty BPE tokenizer with Qwen2Tokenizer's normalizer, pre-tokenizer and decoder."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    tok = Tokenizer(BPE(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                        fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def task_corpus(task_name: str, seed: int, n: int = 1000, task_options: dict | None = None) -> list[str]:
    """Texts the tokenizer learns its merges from: problems, solutions, judge texts, templates."""
    from builder.tasks import get_task

    task = get_task(task_name, **(task_options or {}))
    texts = [_template_text(task.reasoning_template), _template_text(task.judge_template), "user\nassistant\n"]
    for row in task.ift_examples("train", n, seed):
        texts += [row["problem"], row["solution"]]
    for row in task.eft_examples("train", n, seed):
        texts += [row["prefix"], row["step_a"], row["step_b"], row["judgment"]]
    return [t for t in texts if t]


def _template_text(name: str) -> str:
    path = Path(__file__).resolve().parent.parent / "templates" / f"{name}.txt"
    from builder.prompts import split_header

    # without the header block: the tokenizer corpus is the text the model is prompted with
    return split_header(path.read_text())[1] if path.exists() else ""


def train_tokenizer(texts: list[str], vocab_size: int):
    """Byte-level BPE on texts, wrapped as a ChatML PreTrainedTokenizerFast."""
    from tokenizers import pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = qwen2_pipeline_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHATML
    return fast


def build_tiny_model(out_dir, task: str = "arithmetic", seed: int = 0, layers: int = 4, hidden: int = 128,
                     heads: int = 4, intermediate: int = 352, vocab_size: int = 384,
                     max_positions: int = 512, task_options: dict | None = None) -> Path:
    """Write tokenizer + random-weight Qwen2 model (tied embeddings) to out_dir; returns the path."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(task_corpus(task, seed, task_options=task_options), vocab_size)
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        num_key_value_heads=heads, intermediate_size=intermediate, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=eos, pad_token_id=pad,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=pad, bos_token_id=None)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out

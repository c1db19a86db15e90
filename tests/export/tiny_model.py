"""A tiny randomly initialised causal LM with a tokenizer trained on an export's own text.

Nothing is downloaded: the tokenizer is a byte-level BPE trained with the ``tokenizers`` library on
the export's prompts and completions, wrapped as ``PreTrainedTokenizerFast`` with a ChatML-style
chat template, and the model is a 2-layer ``LlamaForCausalLM`` built from a config. Both are saved
to a folder that ``from_pretrained`` (and so ``train_lora`` and the specialist server) loads like
any base model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|im_start|>", "<|im_end|>"]


def _export_texts(export_dir: Path) -> Iterator[str]:
    with (export_dir / "trl_prompt_completion.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            for message in row["prompt"] + row["completion"]:
                yield f"{message['role']}\n{message['content']}"


def train_tokenizer(export_dir: Path, vocab_size: int = 800):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_export_texts(export_dir), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def make_tiny_base_model(
    export_dir: Path, out_dir: Path, seed: int = 0, max_positions: int = 2048
) -> Path:
    """Save a tiny random Llama and its tokenizer to ``out_dir`` and return the folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(Path(export_dir))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def make_random_adapter(base_dir: Path, out_dir: Path, seed: int = 1) -> Path:
    """Save a LoRA adapter with random (non-zero) weights for ``base_dir``: it changes the outputs
    the way a trained one does, without training."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir))
    config = LoraConfig(
        r=4,
        lora_alpha=32,
        target_modules="all-linear",
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(str(out_dir))
    return Path(out_dir)


def check_label_mask(prepared: Any) -> None:
    """Assert that in a collated batch of ``prepared`` (a ``PreparedTraining``) every prompt
    token carries label -100 and every completion token is trained, up to the end of turn.
    Checks the first two examples and the first and last whose prompt holds earlier turns."""
    trainer, rows = prepared.trainer, prepared.train_rows
    tokenizer = trainer.processing_class
    with_history = [
        i for i, r in enumerate(rows) if any(m["role"] == "assistant" for m in r.prompt)
    ]
    picked = sorted({0, 1, *with_history[:1], *with_history[-1:]})
    batch = trainer.data_collator([trainer.train_dataset[i] for i in picked])
    for b, i in enumerate(picked):
        row = rows[i]
        prompt_ids = tokenizer.apply_chat_template(
            list(row.prompt), add_generation_prompt=True, tokenize=True
        )["input_ids"]
        prompt_len = len(prompt_ids)
        length = int(batch["attention_mask"][b].sum())
        labels = batch["labels"][b].tolist()
        ids = batch["input_ids"][b].tolist()
        assert prompt_len < length, f"example {i} was cut before its completion"
        assert all(label == -100 for label in labels[:prompt_len]), f"prompt token trained in {i}"
        assert labels[prompt_len:length] == ids[prompt_len:length], f"completion masked in {i}"
        assert all(label == -100 for label in labels[length:])
        completion = tokenizer.decode(ids[prompt_len:length])
        assert completion.startswith(row.completion[0]["content"])
        assert completion.rstrip().endswith(tokenizer.eos_token)

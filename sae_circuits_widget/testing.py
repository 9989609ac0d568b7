"""Small in-process models and prompt sets for tests and examples: no files, no downloads.

``tiny_model`` builds a random attention-only model whose word-level vocabulary covers
``toy_ioi_task``'s prompts, an indirect-object-identification (IOI) set: each positive
repeats the subject so the next word should be the indirect object; its negative names a
third person instead. ``zero_head_output`` silences one head, which gives tests a head
whose true effect and attribution are known to be zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge
from transformer_lens.model_bridge.sources import boot_native  # TransformerBridge.boot_native, typed

from .organism.tokenizer import word_tokenizer
from .tasks.task import Task

TINY_WORDS: tuple[str, ...] = (
    "When", "Mary", "John", "Tom", "Anna", "and", "went", "to", "the", "store", ",",
    "gave", "a", "drink", "book", "park", "then", ".", "def", "x", "y", "z",
)


def tiny_model(
    n_layers: int = 2,
    n_heads: int = 4,
    d_model: int = 32,
    n_ctx: int = 32,
    words: Sequence[str] = TINY_WORDS,
    seed: int = 0,
) -> TransformerBridge:
    """A randomly initialised attention-only model with a word-level tokenizer.

    Example:
        >>> model = tiny_model()
        >>> model.cfg.n_layers, model.cfg.n_heads
        (2, 4)
    """
    tokenizer = word_tokenizer(words)
    cfg = TransformerBridgeConfig(
        d_model=d_model,
        d_head=d_model // n_heads,
        n_heads=n_heads,
        n_layers=n_layers,
        n_ctx=n_ctx,
        d_vocab=len(tokenizer),
        attn_only=True,
        normalization_type="LN",
        act_fn="gelu",
        seed=seed,
    )
    model = boot_native(cfg, tokenizer=tokenizer)
    model.eval()
    return model


# (indirect object, subject, third name, place, object) of each toy IOI pair
_TOY_IOI = (
    ("Mary", "John", "Tom", "store", "drink"),
    ("Anna", "Tom", "John", "park", "book"),
    ("John", "Mary", "Anna", "store", "book"),
    ("Tom", "Anna", "Mary", "park", "drink"),
)


def toy_ioi_task(model=None, n: int = 4, *, ragged: bool = False, names=None) -> Task:
    """Up to four IOI pairs in ``TINY_WORDS``; token ids filled when ``model`` is given.

    ``names``: other (indirect object, subject, third name, place, object) tuples to
    build the pairs from, instead of the four built in (``n`` of them are used).

    Positive: "When Mary and John went to the store , John gave a drink to" (answer Mary,
    counted against John). Negative: the same with the second "John" replaced by "Tom".
    Every pair has the same token length unless ``ragged``: then the fourth pair ends one
    word early ("... gave a drink"), for tests of padding and grouping by length.

    Example:
        >>> model = tiny_model()
        >>> task = toy_ioi_task(model, n=2)
        >>> task.answers
        ['Mary', 'Anna']
        >>> task.correct_ids[0] == (model.to_single_token("Mary"),)
        True
    """
    rows = tuple(_TOY_IOI if names is None else names)
    if not 1 <= n <= len(rows):
        raise ValueError(f"toy_ioi_task has {len(rows)} pairs; n must be 1..{len(rows)}, got {n}")
    rows = rows[:n]
    pos, neg = [], []
    for i, (io, s, other, place, obj) in enumerate(rows):
        end = "" if ragged and i == 3 else " to"
        stem = f"When {io} and {s} went to the {place} ,"
        pos.append(f"{stem} {s} gave a {obj}{end}")
        neg.append(f"{stem} {other} gave a {obj}{end}")
    correct = incorrect = None
    if model is not None:
        vocab = model.tokenizer.get_vocab()
        correct = [(vocab[io],) for io, *_ in rows]
        incorrect = [(vocab[s],) for _, s, *_ in rows]
    return Task(
        "toy_ioi",
        positives=pos,
        negatives=neg,
        answers=[io for io, *_ in rows],
        correct_ids=correct,
        incorrect_ids=incorrect,
    )


def zero_head_output(model: TransformerBridge, layer: int, head: int) -> None:
    """Zero, in place, the block of the output projection that reads head ``(layer, head)``.

    The head still attends, but writes nothing to the residual stream: ablating,
    patching or attributing it must give exactly zero.

    Example:
        >>> model = tiny_model()
        >>> zero_head_output(model, 1, 2)
        >>> bool((model.W_O[1, 2] == 0).all())
        True
    """
    d = model.cfg.d_head
    with torch.no_grad():
        w = model.blocks[layer].attn.o.original_component.weight  # [d_model, n_heads * d_head]
        w[:, head * d:(head + 1) * d] = 0.0

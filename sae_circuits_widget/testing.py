"""Small in-process models for tests and examples: no files, no downloads."""

from __future__ import annotations

from collections.abc import Sequence

from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge

from .organism.tokenizer import word_tokenizer

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
    model = TransformerBridge.boot_native(cfg, tokenizer=tokenizer)
    model.eval()
    return model

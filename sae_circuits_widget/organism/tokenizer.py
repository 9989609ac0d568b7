"""A word-level tokenizer for small, offline models.

Every word of the vocabulary is one token, so task words (names, years, argument names)
are single tokens by construction. Text is split on whitespace and punctuation; leading
spaces carry no meaning, so " Mary" and "Mary" encode to the same token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"}


def word_tokenizer(words: Iterable[str]) -> PreTrainedTokenizerFast:
    """Build a word-level tokenizer whose vocabulary is the special tokens plus ``words``.

    Example:
        >>> tok = word_tokenizer(["When", "Mary", "John"])
        >>> tok.convert_ids_to_tokens(tok(" Mary John", add_special_tokens=False)["input_ids"])
        ['Mary', 'John']
    """
    vocab: dict[str, int] = {}
    for w in [*SPECIAL_TOKENS.values(), *words]:
        if w not in vocab:
            vocab[w] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("isolated")]
    )
    core.decoder = decoders.WordPiece(prefix="##")  # joins tokens with spaces
    # add_bos_token=True up front: otherwise TransformerBridge reloads the tokenizer by
    # name to switch it on, which fails for a tokenizer that lives only in memory.
    return PreTrainedTokenizerFast(
        tokenizer_object=core, add_bos_token=True, name_or_path="word-level", **SPECIAL_TOKENS
    )


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved by ``save_pretrained`` (offline)."""
    return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)

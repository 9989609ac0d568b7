"""Checking prompt lists before any compute, one issue per offending prompt.

``validate_prompts`` never raises on bad *text*: it returns a list of ``PromptIssue``
records (which list, which prompt, what is wrong, how to fix it) so the widget can mark
each prompt inline and keep what the user typed. ``check_prompts`` raises
``PromptError`` (a ``ValueError``) carrying the same issues when any is an error;
``discover`` calls it first.

Decisions:

* Unequal numbers of positives and negatives are allowed: the scores compare *sets* of
  codes, which need no pairing.
* Duplicate prompts are allowed (a warning): sets make them count once.
* The same text in both lists is allowed (a warning): its codes appear on both sides,
  so it can only lower scores.
* Non-ASCII text and emoji are fine for tokenizers that know them (GPT-2's byte-level
  BPE); a word-level tokenizer (the bundled model) reports them as unknown words.
* Wrong *types* (one string instead of a list, a tensor, a non-string element) raise
  ``TypeError`` at once: that is a programming error, not messy text.
* A special token typed as text (``"Mary <bos> John <pad>"``) is an error: the tokenizer
  turns it into the real BOS/PAD/... id, which the prompt never meant.
* Messages quote long words cut short (``MAX_SHOWN`` characters, with the full length);
  ``PromptIssue.words`` and the prompts themselves stay exactly as typed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..errors import PromptError, PromptTypeError

MIN_PROMPTS = 2
MAX_SHOWN = 40
"""Longest word or text quoted whole in a message; longer ones are cut (only in the message)."""
MAX_WORDS_SHOWN = 8
"""Most words named in one message (the rest are counted)."""


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` for a message: cut to ``limit`` characters, with its full length, if longer.

    Example:
        >>> shorten("x" * 100, 5)
        'xxxxx... (100 characters)'
    """
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _quote_words(words: Sequence[str]) -> str:
    shown = ", ".join(repr(shorten(w)) for w in words[:MAX_WORDS_SHOWN])
    if len(words) > MAX_WORDS_SHOWN:
        shown += f" and {len(words) - MAX_WORDS_SHOWN} more"
    return shown


@dataclass(frozen=True)
class PromptIssue:
    """One problem with one prompt (``index``) or with a whole list (``index=None``).

    ``side`` is ``"positives"``, ``"negatives"`` or ``"answers"``; ``kind`` a stable
    short name (``"empty"``, ``"too_long"``, ``"unknown_words"``, ``"special_tokens"``, ``"too_few"``,
    ``"duplicate"``, ``"in_both"``, ``"answer_not_single_token"``); ``severity`` is
    ``"error"`` (discovery refuses) or ``"warning"`` (allowed, but worth knowing).
    """

    side: str
    index: Optional[int]
    kind: str
    message: str
    severity: str = "error"
    words: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["words"] = list(self.words)
        return d


def as_prompt_list(value: Any, name: str) -> list[str]:
    """``value`` as a list of strings, or ``PromptTypeError`` naming what was given.

    Example:
        >>> as_prompt_list(("a", "b"), "positives")
        ['a', 'b']
    """
    if isinstance(value, str):
        raise PromptTypeError(
            f"{name} must be a list of strings, got a single string ({value[:40]!r}...); "
            f"wrap it in a list: {name}=[...]"
        )
    if value is None:
        raise PromptTypeError(
            f"{name} is missing (got NoneType): pass {name}=[...] as a list of prompt strings, "
            "or a task from get_task"
        )
    if getattr(getattr(value, "dtype", None), "kind", "") in ("U", "S", "O"):
        raise PromptTypeError(
            f"{name} must be a list of strings, got {type(value).__name__} of texts; pass "
            f"{name}=list(...) (e.g. array.tolist())"
        )
    if not isinstance(value, (list, tuple)):
        raise PromptTypeError(
            f"{name} must be a list of strings, got {type(value).__name__}; "
            "convert token tensors back to text (model.to_string) and pass a list of str"
        )
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise PromptTypeError(
                f"{name}[{i}] must be a string, got {type(v).__name__}; pass prompt texts"
            )
        out.append(v)
    return out


def _special_ids(tok: Any) -> set[int]:
    try:
        return {int(i) for i in (getattr(tok, "all_special_ids", None) or []) if i is not None}
    except (TypeError, ValueError):  # pragma: no cover - unusual tokenizers
        return set()


def _typed_tokens(tok: Any, text: str) -> Optional[list[tuple[int, str]]]:
    """(id, typed text) of each token the text itself produced, or ``None`` without offsets."""
    try:
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    except Exception:  # noqa: BLE001 - slow tokenizers have no offsets
        return None
    return [(int(tid), text[a:b]) for tid, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]) if b > a]


def _special_tokens(model: Any, text: str) -> list[str]:
    """Special tokens (BOS, PAD, EOS, UNK, ...) typed in ``text`` that the tokenizer reads as such."""
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        return []
    special = _special_ids(tok)
    if not special:
        return []
    typed = _typed_tokens(tok, text)
    words: list[str] = []
    if typed is None:  # no offsets: look for the special tokens' own spellings
        try:
            ids = set(tok(text, add_special_tokens=False)["input_ids"])
        except Exception:  # noqa: BLE001
            return []
        for s, i in zip(getattr(tok, "all_special_tokens", []), getattr(tok, "all_special_ids", [])):
            if s and s in text and i in ids and s not in words:
                words.append(s)
        return words
    unk = getattr(tok, "unk_token_id", None)
    spellings = set(getattr(tok, "all_special_tokens", None) or [])
    for tid, w in typed:
        # an unknown word also becomes the UNK id: that is an unknown word, not a typed token
        if tid in special and (tid != unk or w in spellings) and w not in words:
            words.append(w)
    return words


def _unknown_words(model: Any, text: str) -> list[str]:
    """Words the tokenizer maps to its unknown token (word-level tokenizers only).

    A typed unknown-token marker (``"<unk>"``) is a special token, not an unknown word.
    """
    tok = getattr(model, "tokenizer", None)
    unk = getattr(tok, "unk_token_id", None)
    if tok is None or unk is None or unk == getattr(tok, "bos_token_id", None):
        return []
    typed = _typed_tokens(tok, text)
    if typed is None:
        return []
    specials = set(getattr(tok, "all_special_tokens", None) or [])
    words = []
    for tid, w in typed:
        if tid == unk and w not in specials and w not in words:
            words.append(w)
    return words


def _n_tokens(model: Any, text: str) -> int:
    return int(model.to_tokens(text, truncate=False).shape[-1])


def _check_list(model: Any, prompts: list[str], side: str, min_prompts: int) -> list[PromptIssue]:
    issues: list[PromptIssue] = []
    if not prompts:
        issues.append(PromptIssue(side, None, "too_few", f"no {side}: add at least {min_prompts} {side}"))
    elif len(prompts) < min_prompts:
        issues.append(PromptIssue(
            side, None, "too_few",
            f"only {len(prompts)} of {side}: add at least {min_prompts} (codes unique to one side "
            "need several prompts per side to mean anything)",
        ))
    n_ctx = int(getattr(model.cfg, "n_ctx", 0) or 0)
    counts = Counter(prompts)
    seen: set[str] = set()
    for i, p in enumerate(prompts):
        if not p.strip():
            issues.append(PromptIssue(side, i, "empty", f"{side}[{i}] is empty: type a prompt or remove it"))
            continue
        n = _n_tokens(model, p)
        if n_ctx and n > n_ctx:
            issues.append(PromptIssue(
                side, i, "too_long",
                f"{side}[{i}] is {n} tokens but the model's context is {n_ctx}: shorten it",
            ))
        unknown = _unknown_words(model, p)
        if unknown:
            issues.append(PromptIssue(
                side, i, "unknown_words",
                f"{side}[{i}] has words the model's tokenizer does not know: {_quote_words(unknown)}; "
                "replace them with words from its vocabulary (model.tokenizer.get_vocab())",
                words=tuple(unknown),
            ))
        special = _special_tokens(model, p)
        if special:
            issues.append(PromptIssue(
                side, i, "special_tokens",
                f"{side}[{i}] has {_quote_words(special)} typed in it, which the model's tokenizer "
                "reads as a special token (BOS, PAD, ...), not as text; remove it (the model adds "
                "its own BOS) or spell it differently",
                words=tuple(special),
            ))
        if counts[p] > 1 and p in seen:
            issues.append(PromptIssue(
                side, i, "duplicate",
                f"{side}[{i}] repeats an earlier prompt; it counts once", severity="warning",
            ))
        seen.add(p)
    return issues


def validate_prompts(
    model: Any,
    positives: Sequence[str],
    negatives: Sequence[str],
    answers: Optional[Sequence[str]] = None,
    *,
    min_prompts: int = MIN_PROMPTS,
) -> list[PromptIssue]:
    """All problems with the prompt lists, errors and warnings, in list order.

    Errors (discovery refuses): fewer than ``min_prompts`` on a side, an empty or
    whitespace-only prompt, a prompt longer than the model's context, words the
    tokenizer does not know (named), a special token typed as text (``"<bos>"``, named),
    an answer that is not one known token.
    Allowed: different numbers of positives and negatives (scores compare *sets* of
    codes, no pairing is needed); duplicate prompts and a text in both lists (warnings:
    a repeated prompt's codes count once, so it never inflates a score).

    Example:
        >>> issues = validate_prompts(model, ["When Mary went"], [])  # doctest: +SKIP
        >>> [i.kind for i in issues]  # doctest: +SKIP
        ['too_few', 'too_few']
    """
    pos = as_prompt_list(positives, "positives")
    neg = as_prompt_list(negatives, "negatives")
    issues = _check_list(model, pos, "positives", min_prompts) + _check_list(model, neg, "negatives", min_prompts)
    both = set(pos) & set(neg)
    for i, p in enumerate(neg):
        if p in both and p.strip():
            issues.append(PromptIssue(
                "negatives", i, "in_both",
                f"negatives[{i}] is also a positive; its codes cannot be unique to either side",
                severity="warning",
            ))
    if answers is not None:
        ans = as_prompt_list(answers, "answers")
        if len(ans) != len(pos):
            issues.append(PromptIssue(
                "answers", None, "answer_count",
                f"{len(ans)} answers for {len(pos)} positives: give one answer per positive",
            ))
        for i, a in enumerate(ans):
            n = int(model.to_tokens(a, prepend_bos=False, truncate=False).shape[-1]) if a.strip() else 0
            unknown = _unknown_words(model, a) if n == 1 else []
            special = _special_tokens(model, a) if n == 1 else []
            if n != 1 or unknown or special:
                what = (
                    "a word the model's tokenizer does not know" if unknown
                    else "a special token (BOS, PAD, ...), not text" if special else f"{n} tokens"
                )
                issues.append(PromptIssue(
                    "answers", i, "answer_not_single_token",
                    f"answer {shorten(a)!r} of positives[{i}] is {what}; the next-token metric needs "
                    "exactly one known token (e.g. ' Mary' with its leading space)",
                    words=tuple(unknown or special),
                ))
    return issues


def check_prompts(
    model: Any,
    positives: Sequence[str],
    negatives: Sequence[str],
    answers: Optional[Sequence[str]] = None,
) -> tuple[list[str], list[str]]:
    """Raise ``PromptError`` (with ``.issues``) if any error is found; else the two lists."""
    pos = as_prompt_list(positives, "positives")
    neg = as_prompt_list(negatives, "negatives")
    issues = validate_prompts(model, pos, neg, answers)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        lines = [i.message for i in errors[:8]]
        more = f" (and {len(errors) - 8} more)" if len(errors) > 8 else ""
        raise PromptError("; ".join(lines) + more, issues)
    return pos, neg

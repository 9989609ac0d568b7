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

Size limits
-----------
Checked before anything is tokenised or run, so a list too large fails in
milliseconds with a one-line error instead of after minutes and gigabytes:

* ``MAX_PROMPTS_PER_SIDE`` positives, negatives or answers per list;
* ``MAX_PROMPT_CHARS`` characters per prompt (no model here reads that much context;
  the token count against the model's context is checked after);
* ``MAX_HEAD_OUTPUT_BYTES`` of head outputs (``prompts x heads x d_model`` float32),
  which bounds the prompts a large model may take;
* ``MAX_FILE_BYTES`` per saved file or JSON text (``serialization``), and the arrays in
  a saved result (``check_result_arrays``: shapes, types, aligned lengths, the limits
  above). The number of SAE features is bounded in ``settings``.

``validate_prompts`` reports a limit as an issue and skips the checks that would cost
time on that list (it never raises on text); ``check_prompts`` and ``as_prompt_list``
(given the limits) raise ``PromptError``.

(Over 500 lines: the prompt checks and the checks of saved prompts and results share the
limits, and are kept in one place.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from ..errors import FileFormatError, PromptError, PromptTypeError

MIN_PROMPTS = 2
MAX_PROMPTS_PER_SIDE = 10_000
"""Most positives (and most negatives, and answers) one run takes. ``discover`` on this
many per side of a built-in task stays under 2 GB on the bundled model
(``benchmarks/memory.py``)."""
MAX_PROMPT_CHARS = 20_000
"""Most characters in one prompt or answer: twice what a 2,048-token context holds of
English text (GPT-2 reads 1,024 tokens, about 4,500 characters)."""
MAX_HEAD_OUTPUT_BYTES = 2 * 2**30
"""Most bytes of head outputs (``prompts x n_layers*n_heads x d_model`` float32) one run
may hold: 245 MB at the prompt limit on the bundled model; about 4,800 prompts on GPT-2 small."""
MAX_FILE_BYTES = 64 * 2**20
"""Largest saved result, session or prompts file (or JSON text) read. A result of the
prompt limit on the bundled model is about 5 MB; on GPT-2 small about 25 MB."""
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


def too_many_message(n: int, name: str) -> str:
    """The one-line message for a list over ``MAX_PROMPTS_PER_SIDE``."""
    return (
        f"{n:,} {name}: more than the limit of {MAX_PROMPTS_PER_SIDE:,} per list; use at most "
        f"{MAX_PROMPTS_PER_SIDE:,} (e.g. a random sample, or split them into several runs)"
    )


def too_long_message(n_chars: int, name: str, index: int) -> str:
    """The one-line message for a prompt over ``MAX_PROMPT_CHARS``."""
    return (
        f"{name}[{index}] is {n_chars:,} characters, more than the limit of {MAX_PROMPT_CHARS:,}; "
        "shorten it (a prompt this long is longer than any supported model's context)"
    )


def as_prompt_list(value: Any, name: str, *, limits: bool = False) -> list[str]:
    """``value`` as a list of strings, or ``PromptTypeError`` naming what was given.

    With ``limits=True``, also ``PromptError`` for more than ``MAX_PROMPTS_PER_SIDE``
    items (before any item is looked at) or an item over ``MAX_PROMPT_CHARS``.

    Example:
        >>> as_prompt_list(("a", "b"), "positives")
        ['a', 'b']
        >>> as_prompt_list(["a"] * 10_001, "positives", limits=True)
        Traceback (most recent call last):
        ...
        sae_circuits_widget.errors.PromptError: 10,001 positives: more than the limit of 10,000 per list; ...
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
    if limits and len(value) > MAX_PROMPTS_PER_SIDE:
        raise PromptError(
            too_many_message(len(value), name), [PromptIssue(name, None, "too_many", too_many_message(len(value), name))]
        )
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise PromptTypeError(
                f"{name}[{i}] must be a string, got {type(v).__name__}; pass prompt texts"
            )
        if limits and len(v) > MAX_PROMPT_CHARS:
            message = too_long_message(len(v), name, i)
            raise PromptError(message, [PromptIssue(name, i, "too_many_characters", message)])
        out.append(v)
    return out


def head_output_bytes(model: Any, n_prompts: int) -> int:
    """Bytes of float32 head outputs ``[n_prompts, n_layers * n_heads, d_model]`` on ``model``."""
    cfg = model.cfg
    return int(n_prompts) * int(cfg.n_layers) * int(cfg.n_heads) * int(cfg.d_model) * 4


def _memory_issue(model: Any, n_prompts: int) -> Optional[PromptIssue]:
    need = head_output_bytes(model, n_prompts)
    if need <= MAX_HEAD_OUTPUT_BYTES:
        return None
    fits = head_output_bytes(model, 1) and MAX_HEAD_OUTPUT_BYTES // head_output_bytes(model, 1)
    return PromptIssue(
        "positives", None, "too_much_memory",
        f"{n_prompts:,} prompts need {need / 2**30:.1f} GB of head outputs on this model, more than "
        f"the limit of {MAX_HEAD_OUTPUT_BYTES / 2**30:.0f} GB; use at most {fits:,} prompts in all",
    )


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


_NOT_YET: Any = object()


def _special_tokens(model: Any, text: str, typed: Any = _NOT_YET) -> list[str]:
    """Special tokens (BOS, PAD, EOS, UNK, ...) typed in ``text`` that the tokenizer reads as such.

    ``typed``: ``_typed_tokens(tokenizer, text)`` when already computed."""
    tok = getattr(model, "tokenizer", None)
    if tok is None:
        return []
    special = _special_ids(tok)
    if not special:
        return []
    if typed is _NOT_YET:
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


def _unknown_words(model: Any, text: str, typed: Any = _NOT_YET) -> list[str]:
    """Words the tokenizer maps to its unknown token (word-level tokenizers only).

    A typed unknown-token marker (``"<unk>"``) is a special token, not an unknown word.
    """
    tok = getattr(model, "tokenizer", None)
    unk = getattr(tok, "unk_token_id", None)
    if tok is None or unk is None or unk == getattr(tok, "bos_token_id", None):
        return []
    if typed is _NOT_YET:
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
        if len(p) > MAX_PROMPT_CHARS:  # not tokenised: that alone could take minutes
            issues.append(PromptIssue(side, i, "too_many_characters", too_long_message(len(p), side, i)))
            continue
        if not p.strip():
            issues.append(PromptIssue(side, i, "empty", f"{side}[{i}] is empty: type a prompt or remove it"))
            continue
        n = _n_tokens(model, p)
        if n_ctx and n > n_ctx:
            issues.append(PromptIssue(
                side, i, "too_long",
                f"{side}[{i}] is {n} tokens but the model's context is {n_ctx}: shorten it",
            ))
        tok = getattr(model, "tokenizer", None)
        typed = _typed_tokens(tok, p) if tok is not None else None  # once for both checks below
        unknown = _unknown_words(model, p, typed)
        if unknown:
            issues.append(PromptIssue(
                side, i, "unknown_words",
                f"{side}[{i}] has words the model's tokenizer does not know: {_quote_words(unknown)}; "
                "replace them with words from its vocabulary (model.tokenizer.get_vocab())",
                words=tuple(unknown),
            ))
        special = _special_tokens(model, p, typed)
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
    an answer that is not one known token; and the size limits (``too_many`` prompts on
    a side, a prompt of ``too_many_characters``, ``too_much_memory`` for the model's
    head outputs), found before anything is tokenised: when a list is over its limit
    (or the head outputs would be) no prompt is checked one by one, and a prompt over
    its limit is not tokenised.
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
    issues: list[PromptIssue] = []
    for side, prompts in (("positives", pos), ("negatives", neg)):
        if len(prompts) > MAX_PROMPTS_PER_SIDE:
            issues.append(PromptIssue(side, None, "too_many", too_many_message(len(prompts), side)))
    memory = _memory_issue(model, len(pos) + len(neg))
    if issues or memory is not None:
        return issues + ([memory] if memory is not None else [])
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
                f"{len(ans):,} answers for {len(pos):,} positives: give one answer per positive",
            ))
        if len(ans) > MAX_PROMPTS_PER_SIDE:
            return issues
        for i, a in enumerate(ans):
            if len(a) > MAX_PROMPT_CHARS:
                issues.append(PromptIssue("answers", i, "too_many_characters", too_long_message(len(a), "answers", i)))
                continue
            n = int(model.to_tokens(a, prepend_bos=False, truncate=False).shape[-1]) if a.strip() else 0
            tok = getattr(model, "tokenizer", None)
            typed = _typed_tokens(tok, a) if n == 1 and tok is not None else None
            unknown = _unknown_words(model, a, typed) if n == 1 else []
            special = _special_tokens(model, a, typed) if n == 1 else []
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
    """Raise ``PromptError`` (with ``.issues``) if any error is found; else the two lists.

    The size limits come first (``as_prompt_list(..., limits=True)``, then the model's
    head-output bytes), before any prompt is tokenised.
    """
    pos = as_prompt_list(positives, "positives", limits=True)
    neg = as_prompt_list(negatives, "negatives", limits=True)
    if answers is not None:
        answers = as_prompt_list(answers, "answers", limits=True)
    memory = _memory_issue(model, len(pos) + len(neg))
    if memory is not None:
        raise PromptError(memory.message, [memory])
    issues = validate_prompts(model, pos, neg, answers)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        lines = [i.message for i in errors[:8]]
        more = f" (and {len(errors) - 8} more)" if len(errors) > 8 else ""
        raise PromptError("; ".join(lines) + more, issues)
    return pos, neg


def _fail(where: str, what: str) -> FileFormatError:
    return FileFormatError(f"the {where} is incomplete or damaged: {what}; save it again from the notebook")


def _length(value: Any, name: str, where: str, limit: int) -> int:
    """``len(value)`` checked against ``limit`` before the value is converted to an array."""
    try:
        n = len(value)
    except TypeError:
        raise _fail(where, f"{name} is {type(value).__name__}, not a list") from None
    if n > limit:
        raise FileFormatError(
            f"the {where}'s {name} has {n:,} entries, more than the limit of {limit:,}; "
            f"only results of at most {MAX_PROMPTS_PER_SIDE:,} prompts per side can be read"
        )
    return n


def check_saved_prompt_lists(where: str = "saved session", **lists: Any) -> None:
    """``FileFormatError`` if a saved prompt list (``positives=[...]``, ...) is over
    ``MAX_PROMPTS_PER_SIDE`` or holds a prompt over ``MAX_PROMPT_CHARS``; other values pass.

    Example:
        >>> check_saved_prompt_lists(positives=["a", "b"], negatives=["c"])
    """
    for name, texts in lists.items():
        if not isinstance(texts, list):
            continue
        if len(texts) > MAX_PROMPTS_PER_SIDE:
            raise FileFormatError(
                f"the {where}'s {name} has {len(texts):,} prompts, more than the limit of "
                f"{MAX_PROMPTS_PER_SIDE:,} per side; only files of at most that many can be read"
            )
        longest = max((len(t) for t in texts if isinstance(t, str)), default=0)
        if longest > MAX_PROMPT_CHARS:
            raise FileFormatError(
                f"the {where}'s {name} has a prompt of {longest:,} characters, more than the limit of {MAX_PROMPT_CHARS:,}"
            )


def _numeric(value: Any, name: str, where: str, kinds: str) -> np.ndarray:
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):  # ragged lists
        a = None
    if a is None or a.dtype.kind not in kinds:
        what = {"iu": "integers", "biu": "true/false values"}.get(kinds, "numbers")
        raise _fail(where, f"{name} must be a rectangular array of {what}")
    return a


def check_result_arrays(
    node_scores: Any,
    edge_scores: Any = None,
    codes: Any = None,
    is_positive: Any = None,
    prompts: Any = None,
    edge_head_scores: Any = None,
    *,
    where: str = "saved result",
) -> None:
    """Check the arrays of a result read from a file, before they are used.

    ``node_scores`` ``[n_layers, n_heads]`` of numbers; ``edge_scores`` and
    ``edge_head_scores`` (when given) ``[n_layers*n_heads, n_layers*n_heads]`` and
    ``[n_layers, n_heads]``; ``codes`` ``[n_prompts, n_layers*n_heads]`` of integers
    (``-1`` or more); ``is_positive`` ``[n_prompts]`` of true/false; ``prompts`` a list of
    texts, as many as ``codes`` has rows (or as ``is_positive``, without codes); at most
    ``MAX_PROMPTS_PER_SIDE`` positives and negatives and ``MAX_PROMPT_CHARS`` per prompt.
    Lengths are checked before any list is turned into an array. Raises
    ``FileFormatError`` with a one-line message.

    Example:
        >>> check_result_arrays([[1.0, 0.0]], codes=[[3, -1]], is_positive=[True], prompts=["a"])
        >>> check_result_arrays([1.0, 0.0])
        Traceback (most recent call last):
        ...
        sae_circuits_widget.errors.FileFormatError: the saved result is incomplete or damaged: node_scores must be
        [n_layers, n_heads], got shape (2,); save it again from the notebook
    """
    most = 2 * MAX_PROMPTS_PER_SIDE
    n_prompts = None
    if prompts is not None:
        n_prompts = _length(prompts, "prompts", where, most)
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise _fail(where, "prompts must be a list of texts")
        longest = max((len(p) for p in prompts), default=0)
        if longest > MAX_PROMPT_CHARS:
            raise FileFormatError(
                f"the {where} has a prompt of {longest:,} characters, more than the limit of {MAX_PROMPT_CHARS:,}"
            )
    rows = {}
    if codes is not None:
        rows["codes"] = _length(codes, "codes", where, most)
    if is_positive is not None:
        rows["is_positive"] = _length(is_positive, "is_positive", where, most)
    if len(set(rows.values())) > 1:
        raise _fail(where, f"codes has {rows['codes']:,} rows but is_positive has {rows['is_positive']:,} entries")
    for name, n in list(rows.items())[:1]:
        if n_prompts is not None and n_prompts != n:
            raise _fail(where, f"{n_prompts:,} prompts but {name} has {n:,} {'rows' if name == 'codes' else 'entries'}")

    if node_scores is None:
        raise _fail(where, "node_scores is missing")
    node = _numeric(node_scores, "node_scores", where, "iuf")
    if node.ndim != 2 or 0 in node.shape:
        raise _fail(where, f"node_scores must be [n_layers, n_heads], got shape {node.shape}")
    n_heads = int(node.shape[0] * node.shape[1])
    if edge_scores is not None:
        _length(edge_scores, "edge_scores", where, n_heads)
        edge = _numeric(edge_scores, "edge_scores", where, "iuf")
        if edge.shape != (n_heads, n_heads):
            raise _fail(where, f"edge_scores must be [{n_heads}, {n_heads}] for {node.shape} heads, got shape {edge.shape}")
    if edge_head_scores is not None:
        pooled = _numeric(edge_head_scores, "edge_head_scores", where, "iuf")
        if pooled.shape != node.shape:
            raise _fail(where, f"edge_head_scores must have node_scores' shape {node.shape}, got {pooled.shape}")
    if is_positive is not None and len(is_positive):
        pos = _numeric(is_positive, "is_positive", where, "biu")
        if pos.ndim != 1 or (pos.dtype.kind != "b" and not np.isin(pos, (0, 1)).all()):
            raise _fail(where, f"is_positive must be one true/false per prompt, got shape {pos.shape}")
        pos = pos.astype(bool)
        n_pos = int(pos.sum())
        for side, n in (("positives", n_pos), ("negatives", pos.size - n_pos)):
            if n > MAX_PROMPTS_PER_SIDE:
                raise FileFormatError(
                    f"the {where} has {n:,} {side}, more than the limit of {MAX_PROMPTS_PER_SIDE:,} per side"
                )
    if codes is not None:
        c = _numeric(codes, "codes", where, "iu") if len(codes) else np.zeros((0, n_heads), dtype=np.int64)
        if c.ndim != 2 or c.shape[1] != n_heads:
            raise _fail(where, f"codes must be [n_prompts, {n_heads}] for {node.shape} heads, got shape {c.shape}")
        if c.size and int(c.min()) < -1:
            raise _fail(where, f"codes must be -1 (no code) or more, found {int(c.min())}")

"""PromptPanel: editable positive/negative prompt pairs with tokens and inline problems.

The browser owns the text: every edit is sent here as the full lists, and Python never
rewrites them on its own (only on an explicit action such as "more like these"), so an
invalid edit can never erase what the user typed. For each prompt Python sends back how
the model's tokenizer splits it and any problem the engine's ``validate_prompts`` finds
(unknown words are named and marked, too-long prompts, empty ones).

Example:
    >>> panel = PromptPanel(["When Mary and John ..."], ["When Mary and Tom ..."], model=model)  # doctest: +SKIP
    >>> panel.issues                                                                           # doctest: +SKIP
    []
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import anywidget
import traitlets as t

from ..engine.validation import PromptIssue, as_prompt_list, validate_prompts
from ._common import bundle, check_kwargs

PairGenerator = Callable[[int], tuple[list[str], list[str]]]
"""``generate(n) -> (positives, negatives)``: draws ``n`` new pairs (e.g. from a task)."""


def token_infos(model: Any, text: str) -> list[dict[str, Any]]:
    """How ``model``'s tokenizer splits ``text``: ``[{"t": text, "u": unknown}, ...]``.

    Unknown words show as the user wrote them (not as ``<unk>``) and are flagged.
    """
    tok = getattr(model, "tokenizer", None)
    if tok is None or not text:
        return []
    unk = getattr(tok, "unk_token_id", None)
    try:
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
    except Exception:  # noqa: BLE001 - slow tokenizers have no offsets
        ids = tok(text, add_special_tokens=False)["input_ids"]
        offsets = [None] * len(ids)
    out = []
    for i, off in zip(ids, offsets):
        is_unk = unk is not None and i == unk and unk != getattr(tok, "bos_token_id", None)
        if is_unk and off is not None and off[1] > off[0]:
            shown = text[off[0]:off[1]]
        else:
            shown = tok.decode([i])
        out.append({"t": shown, "u": bool(is_unk)})
    return out


class PromptPanel(anywidget.AnyWidget):
    """Editable prompt pairs; shows tokens and problems, keeps the user's text."""

    _esm = bundle("prompt_panel")

    positives = t.List(t.Unicode()).tag(sync=True)
    """Positive prompts (the browser sends the whole list on every edit)."""
    negatives = t.List(t.Unicode()).tag(sync=True)
    """Negative prompts, aligned with ``positives`` row by row."""
    positive_tokens = t.List(t.List(t.Dict())).tag(sync=True)
    """Per positive, its tokens as ``{"t": text, "u": unknown}`` (set by Python)."""
    negative_tokens = t.List(t.List(t.Dict())).tag(sync=True)
    """Per negative, its tokens (set by Python)."""
    positive_issues = t.List(t.Unicode()).tag(sync=True)
    """Per positive, its problems as one line ("" = none; set by Python)."""
    negative_issues = t.List(t.Unicode()).tag(sync=True)
    """Per negative, its problems as one line ("" = none; set by Python)."""
    error = t.Unicode("").tag(sync=True)
    """A problem with the lists as a whole or with the last run, shown above the rows."""
    can_generate = t.Bool(False).tag(sync=True)
    """Whether "more like these" has a pair generator to draw from."""
    debounce_ms = t.Int(250).tag(sync=True)
    """Pause after the last keystroke before the browser sends an edit."""

    _TRAITS = ("positives", "negatives", "error", "debounce_ms")

    def __init__(
        self,
        positives: Sequence[str] = (),
        negatives: Sequence[str] = (),
        *,
        model: Any = None,
        generate: Optional[PairGenerator] = None,
        annotate_on_edit: bool = True,
        **traits: Any,
    ):
        """
        Args:
            positives, negatives: the initial pairs.
            model: the model whose tokenizer and context length the checks use.
            generate: ``generate(n) -> (positives, negatives)`` for "more like these".
            annotate_on_edit: check each edit at once (``False``: the owner calls
                ``annotate()``, e.g. the explorer does it on its worker thread).
        """
        check_kwargs("PromptPanel", traits, self._TRAITS)
        self._model = model
        self._annotate_on_edit = bool(annotate_on_edit)
        self._generate = generate
        self._annotated: Optional[tuple] = None
        self.issues: list[PromptIssue] = []
        """The engine's issues for the current lists (errors and warnings)."""
        super().__init__(
            positives=as_prompt_list(positives if isinstance(positives, (str, list, tuple)) else list(positives), "positives"),
            negatives=as_prompt_list(negatives if isinstance(negatives, (str, list, tuple)) else list(negatives), "negatives"),
            can_generate=generate is not None,
            **traits,
        )
        self.on_msg(self._on_msg)
        self.annotate()

    @property
    def annotated(self) -> bool:
        """True when tokens and issues describe the current lists."""
        return self._annotated == (tuple(self.positives), tuple(self.negatives))

    @t.observe("positives", "negatives")
    def _on_lists(self, change: Any) -> None:
        if self._annotate_on_edit and (tuple(self.positives), tuple(self.negatives)) != self._annotated:
            self.annotate()

    def set_model(self, model: Any, generate: Optional[PairGenerator] = None) -> None:
        """Use another model (tokens and checks) and pair generator."""
        self._model = model
        self._generate = generate
        self.can_generate = generate is not None
        if self._annotate_on_edit:
            self.annotate()

    def set_pairs(self, positives: Sequence[str], negatives: Sequence[str]) -> None:
        """Replace the pairs (a preset or an explicit action), in one update."""
        with self.hold_trait_notifications(), self.hold_sync():
            self.positives = as_prompt_list(positives if isinstance(positives, (str, list, tuple)) else list(positives), "positives")
            self.negatives = as_prompt_list(negatives if isinstance(negatives, (str, list, tuple)) else list(negatives), "negatives")

    def add_more(self, n: int = 4) -> None:
        """Append ``n`` new pairs from the generator ("more like these")."""
        if self._generate is None:
            raise ValueError("this panel has no pair generator: pick a task preset to draw more pairs")
        pos, neg = self._generate(int(n))
        self.set_pairs(list(self.positives) + list(pos), list(self.negatives) + list(neg))

    @property
    def has_errors(self) -> bool:
        """True when the engine would refuse these prompts."""
        return any(i.severity == "error" for i in self.issues)

    def annotate(self) -> None:
        """Recompute tokens and per-prompt problems of the current lists."""
        pos, neg = list(self.positives), list(self.negatives)
        self._annotated = (tuple(pos), tuple(neg))
        if self._model is None:
            self.issues = []
            with self.hold_sync():
                self.positive_tokens, self.negative_tokens = [[] for _ in pos], [[] for _ in neg]
                self.positive_issues, self.negative_issues = ["" for _ in pos], ["" for _ in neg]
            return
        self.issues = validate_prompts(self._model, pos, neg)
        per = {"positives": [[] for _ in pos], "negatives": [[] for _ in neg]}
        overall = []
        for issue in self.issues:
            if issue.index is None:
                overall.append(issue.message)
            elif issue.side in per and issue.index < len(per[issue.side]):
                per[issue.side][issue.index].append(issue.message)
        with self.hold_sync():
            self.positive_tokens = [token_infos(self._model, p) for p in pos]
            self.negative_tokens = [token_infos(self._model, p) for p in neg]
            self.positive_issues = ["; ".join(m) for m in per["positives"]]
            self.negative_issues = ["; ".join(m) for m in per["negatives"]]
            self.error = "; ".join(overall)

    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "more":
            try:
                self.add_more(int(content.get("n", 4)))
            except (ValueError, TypeError) as exc:
                self.error = str(exc)

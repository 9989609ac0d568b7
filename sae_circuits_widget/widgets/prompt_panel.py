"""PromptPanel: editable positive/negative prompt pairs with tokens and inline problems.

The browser owns the text: every edit is sent here as the full lists, and Python never
rewrites them on its own (only on an explicit action such as "more like these"), so an
invalid edit can never erase what the user typed. For each prompt Python sends back how
the model's tokenizer splits it and any problem the engine's ``validate_prompts`` finds
(unknown words are named and marked, too-long prompts, empty ones).

Each positive may carry an *answer*, the next token the model should predict (a task
preset fills them in). With an answer for every positive, the explorer checks that the
model solves each prompt, and can compute EAP and faithfulness (a logit difference needs
an answer); a bad answer is named beside its prompt and left out, never blocking a run.
Under each prompt the panel shows what the model does on it (``positive_behaviour``,
``negative_behaviour``, set by the explorer).

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

PairGenerator = Callable[[int], tuple]
"""``generate(n) -> (positives, negatives)`` or ``(positives, negatives, answers)``: draws
``n`` new pairs (e.g. from a task)."""


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
    answers = t.List(t.Unicode()).tag(sync=True)
    """Per positive, the next token the model should predict ("" = none; edited in the browser)."""
    answer_issues = t.List(t.Unicode()).tag(sync=True)
    """Per positive, what is wrong with its answer ("" = nothing; set by Python)."""
    positive_behaviour = t.List(t.Dict()).tag(sync=True)
    """Per positive, what the model does on it (``{prompt, side, top_token, p_answer,
    logit_diff, solved}``, ``{}`` = not known; set by the explorer)."""
    negative_behaviour = t.List(t.Dict()).tag(sync=True)
    """Per negative, what the model does on it (set by the explorer)."""
    show_tokens = t.Bool(False).tag(sync=True)
    """Show every prompt's tokens (``False``: only the edited row's and those with a problem)."""

    _TRAITS = ("positives", "negatives", "error", "debounce_ms", "answers", "show_tokens")

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
        return self._annotated == (tuple(self.positives), tuple(self.negatives), tuple(self._aligned_answers()))

    @t.observe("positives", "negatives", "answers")
    def _on_lists(self, change: Any) -> None:
        if self._annotate_on_edit and not self.annotated:
            self.annotate()

    def set_model(self, model: Any, generate: Optional[PairGenerator] = None) -> None:
        """Use another model (tokens and checks) and pair generator."""
        self._model = model
        self._generate = generate
        self.can_generate = generate is not None
        if self._annotate_on_edit:
            self.annotate()

    def set_pairs(self, positives: Sequence[str], negatives: Sequence[str], answers: Optional[Sequence[str]] = None) -> None:
        """Replace the pairs (a preset or an explicit action), in one update.

        ``answers``: one per positive ("" = none); ``None`` keeps the answers of positives
        whose text is unchanged and leaves the others empty.
        """
        pos = as_prompt_list(positives if isinstance(positives, (str, list, tuple)) else list(positives), "positives")
        neg = as_prompt_list(negatives if isinstance(negatives, (str, list, tuple)) else list(negatives), "negatives")
        if answers is None:
            known = dict(zip(self.positives, self.answers))
            ans = [known.get(p, "") for p in pos]
        else:
            ans = [str(a) for a in answers][: len(pos)]
            ans += [""] * (len(pos) - len(ans))
        with self.hold_trait_notifications(), self.hold_sync():
            self.positives = pos
            self.negatives = neg
            self.answers = ans

    def add_more(self, n: int = 4) -> None:
        """Append ``n`` new pairs from the generator ("more like these"), with their answers."""
        if self._generate is None:
            raise ValueError("this panel has no pair generator: pick a task preset to draw more pairs")
        drawn = self._generate(int(n))
        pos, neg = drawn[0], drawn[1]
        more = list(drawn[2]) if len(drawn) > 2 and drawn[2] is not None else [""] * len(pos)
        self.set_pairs(
            list(self.positives) + list(pos), list(self.negatives) + list(neg), self._aligned_answers() + more,
        )

    def _aligned_answers(self) -> list[str]:
        """``answers`` padded or cut to one per positive."""
        ans = [str(a) for a in self.answers][: len(self.positives)]
        return ans + [""] * (len(self.positives) - len(ans))

    @property
    def usable_answers(self) -> Optional[list[str]]:
        """The answers when every positive has one and none has a problem, else ``None``
        (the run then goes without answers; ``answer_issues`` says why)."""
        ans = self._aligned_answers()
        if not ans or any(not a for a in ans) or any(self.answer_issues):
            return None
        return ans

    @property
    def has_errors(self) -> bool:
        """True when the engine would refuse these prompts (a bad answer is left out, not refused)."""
        return any(i.severity == "error" and i.side != "answers" for i in self.issues)

    def annotate(self) -> None:
        """Recompute tokens and per-prompt problems of the current lists."""
        pos, neg = list(self.positives), list(self.negatives)
        ans = self._aligned_answers()
        self._annotated = (tuple(pos), tuple(neg), tuple(ans))
        given = any(ans)
        missing = ["no answer: the model check, EAP and faithfulness need one for every positive" if given and not a else "" for a in ans]
        if self._model is None:
            self.issues = []
            with self.hold_sync():
                self.positive_tokens, self.negative_tokens = [[] for _ in pos], [[] for _ in neg]
                self.positive_issues, self.negative_issues = ["" for _ in pos], ["" for _ in neg]
                self.answer_issues = missing
            return
        self.issues = validate_prompts(self._model, pos, neg, ans if given else None)
        per = {"positives": [[] for _ in pos], "negatives": [[] for _ in neg], "answers": [[] for _ in ans]}
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
            self.answer_issues = ["; ".join(m) or gap for m, gap in zip(per["answers"], missing)]
            self.error = "; ".join(overall)

    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "more":
            try:
                self.add_more(int(content.get("n", 4)))
            except (ValueError, TypeError) as exc:
                self.error = str(exc)

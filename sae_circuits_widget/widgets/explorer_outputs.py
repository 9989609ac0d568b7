"""What the explorer hands out: its state as a file, and charts of what it shows.

``save`` writes the result on screen with the prompts and settings it was computed from
(and any edit that has not given a result yet, so nothing typed is lost); ``load`` and
``loads`` build an explorer from such a file. The charts (altair) draw the scores on
screen against the task's ground truth (``roc_chart``, ``score_chart``, ``charts``,
``export_chart``) and the faithfulness of the rankings over k (``faithfulness_chart``).

A mixin of ``CircuitExplorer``: it reads the explorer's ``result``, ``session``,
``panel``, ``checks`` and settings, and calls its ``wait``, ``request`` and constructor.

Example:
    >>> explorer.save("circuit.json")                          # doctest: +SKIP
    >>> again = CircuitExplorer.load("circuit.json", task="ioi")  # doctest: +SKIP
    >>> explorer.faithfulness_chart(("sae", "eap", "overlap"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TypeVar, cast

import traitlets as t

from ..engine.result import CircuitResult
from ..engine.session import Session
from ..errors import SettingsError, SettingsTypeError
from ..settings import FIT_FIELDS, Settings

if TYPE_CHECKING:
    from ..live import LiveSession
    from .checks import Checks


_Explorer = TypeVar("_Explorer", bound="ExplorerOutputs")


class ExplorerOutputs:
    """``save``/``load`` and the charts of ``CircuitExplorer``."""

    if TYPE_CHECKING:  # what the mixin reads from CircuitExplorer
        result: Optional[CircuitResult]
        session: Session
        live: LiveSession
        checks: Checks
        panel: Any  # traits of CircuitExplorer: a PromptPanel, a str, a bool, an int
        error: Any
        is_final: Any
        k: Any
        _extra: dict[str, Any]
        _loading: bool
        _last_prompts: Optional[tuple]

        @property
        def ground_truth(self) -> Optional[frozenset]: ...
        def settings(self) -> dict[str, Any]: ...
        def wait(self, timeout: float = 30.0) -> bool: ...
        def request(self) -> int: ...
        def _panel_snapshot(self) -> tuple: ...

    unsaved_edit: Optional[dict[str, Any]] = None
    """After ``load``: the file's unsaved edit (``Session.read_saved``), put back in the
    panel and settings bar; ``None`` when the file had none."""

    def save(self, path: Any) -> Path:
        """Save the result on screen, the prompts and settings it was computed from, and
        any edit that has not given a result yet, as JSON (no model weights).

        The file never pairs a result with prompts it was not computed from: after an
        edit that failed (an unknown word, too few prompts), ``"positives"``,
        ``"negatives"`` and ``"settings"`` are those of the result on screen, and what the
        panel and settings bar show goes apart into ``"unsaved_edit"``
        (``{"positives", "negatives", "settings", "error"}``), so nothing typed is lost.
        Read it back with ``Session.read_saved(path)`` or ``CircuitExplorer.load(path)``.
        A pending live run is waited for first. While the grid shows a preview, this
        waits for the refit; a preview whose refit failed is not saved as a result.
        """
        self.wait()  # a live edit still running would otherwise be saved as "unsaved"
        if self.result is None:
            raise ValueError("nothing to save yet: the explorer has no finished result (fix the prompts shown in red)")
        if not self.is_final:
            self.wait()
        if not self.is_final:
            raise ValueError(
                "the grid shows a preview with the previous SAE, not a final result "
                f"({self.error or 'the refit is still running'}); fix the prompts or run again, then save"
            )
        from ..engine.discover import DEFAULTS

        result = self.result
        shown_pos, shown_neg = list(self.panel.positives), list(self.panel.negatives)
        if result.prompts is not None and result.is_positive is not None:
            pos = [p for p, f in zip(result.prompts, result.is_positive) if f]
            neg = [p for p, f in zip(result.prompts, result.is_positive) if not f]
        else:  # pragma: no cover - the explorer's results always carry their prompts
            pos, neg = shown_pos, shown_neg
        result_settings = {k: result.settings.get(k, v) for k, v in DEFAULTS.items()}
        current = self.settings()
        edited = (shown_pos, shown_neg) != (pos, neg) or any(result_settings.get(k) != v for k, v in current.items())
        path = Path(path)
        saved = self.session.last_result, self.session.last_settings
        self.session.last_result, self.session.last_settings = result, result_settings
        try:
            data = json.loads(self.session.to_json(None, positives=pos, negatives=neg))
        finally:
            self.session.last_result, self.session.last_settings = saved
        if edited:
            data["unsaved_edit"] = {
                "positives": shown_pos, "negatives": shown_neg, "settings": current, "error": self.error,
            }
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    @classmethod
    def load(cls: type[_Explorer], path: Any, model: Any = None, task: Optional[str] = None, **kwargs: Any) -> _Explorer:
        """An explorer with the prompts and settings of a file written by ``save``.

        ``path`` is a path (``str`` or ``os.PathLike``; a ``str`` is always a path, even
        ``"[draft] circuit.json"``) or an open file; for JSON text use ``loads``.
        ``task`` names the preset whose ground truth and generator to use (the file keeps
        prompts, not the preset). The explorer runs on the prompts the saved result was
        computed from; a saved unsaved edit is then put back in the panel and settings
        bar (and run, so its problem shows beside the result, unless ``run=False``) and
        kept in ``explorer.unsaved_edit``. Raises ``FileFormatError`` for a missing,
        truncated or newer file.
        """
        return cls._from_saved(Session.read_saved(path), model, task, **kwargs)

    @classmethod
    def loads(cls: type[_Explorer], text: Any, model: Any = None, task: Optional[str] = None, **kwargs: Any) -> _Explorer:
        """``load`` for JSON text (a saved file's content) instead of a file."""
        return cls._from_saved(Session.read_saved_text(text), model, task, **kwargs)

    @classmethod
    def _from_saved(cls: type[_Explorer], saved: dict[str, Any], model: Any, task: Optional[str], **kwargs: Any) -> _Explorer:
        keys = FIT_FIELDS
        settings = {k: v for k, v in saved["settings"].items() if k in keys}
        for key, value in settings.items():
            if kwargs.get(key) is not None:
                continue  # the caller's value replaces the file's
            try:
                Settings(**{key: value})
            except (SettingsError, SettingsTypeError) as exc:
                raise type(exc)(
                    f"the saved file's settings cannot be used: {exc}; fix it in the file, or "
                    f"give another value: CircuitExplorer.load(path, {key}=...)"
                ) from None
        make = cast(Any, cls)  # CircuitExplorer, whose constructor takes the prompts and settings
        explorer = make(model, task, positives=saved["positives"], negatives=saved["negatives"], **{**settings, **kwargs})
        edit = saved.get("unsaved_edit")
        explorer.unsaved_edit = edit
        if edit is not None:
            explorer._restore_edit(edit, run=kwargs.get("run", True))
        return explorer

    def _restore_edit(self, edit: dict[str, Any], *, run: bool) -> None:
        """Put a saved unsaved edit back in the panel and settings bar, then run it once."""
        self._loading = True
        try:
            for key, value in edit.get("settings", {}).items():
                if key in self._extra:
                    try:
                        self._extra[key] = getattr(Settings(**{key: value}), key)
                    except (SettingsError, SettingsTypeError) as exc:
                        self.error = f"the saved edit's {key} was not restored: {exc}"
                elif key in ("seed", "n_features", "l1", "position"):
                    try:
                        setattr(self, key, value)
                    except t.TraitError as exc:
                        self.error = f"the saved edit's {key} was not restored: {exc}"
            self.panel.set_pairs(edit["positives"], edit["negatives"])
        finally:
            self._loading = False
        self._last_prompts = self._panel_snapshot()
        if run:
            self.request()

    def roc_chart(self, others: Optional[dict[str, CircuitResult]] = None):
        """Altair ROC curve of the scores on screen against the task's ground truth."""
        from ..evaluation.charts import roc_chart

        if self.result is None:
            raise ValueError("no result yet: run the explorer first")
        if self.ground_truth is None:
            raise ValueError("no ground truth for these prompts: pick a task preset with a known circuit")
        return roc_chart({"discrete SAE": self.result, **(others or {})}, self.ground_truth)

    def score_chart(self, top: Optional[int] = 20):
        """Altair bar chart of the head scores on screen (ground-truth heads marked)."""
        from ..evaluation.charts import score_bars

        if self.result is None:
            raise ValueError("no result yet: run the explorer first")
        return score_bars(self.result, self.ground_truth, top=top)

    def charts(self, top: Optional[int] = 12):
        """The ROC curve beside the score bars (score bars alone without a ground truth)."""
        if self.ground_truth is None:
            return self.score_chart(top=top)
        both = self.roc_chart() | self.score_chart(top=top)
        return both.resolve_scale(color="independent", strokeDash="independent").resolve_legend(color="independent")

    def export_chart(self, path: Any, chart: str = "roc") -> Path:
        """Write the ``"roc"``, ``"scores"`` or ``"both"`` chart to ``path`` (.png, .svg, .json, .html)."""
        from ..evaluation.charts import save_chart

        if chart not in ("roc", "scores", "both"):
            raise ValueError(f"chart must be 'roc', 'scores' or 'both', got {chart!r}")
        c = self.roc_chart() if chart == "roc" else self.score_chart() if chart == "scores" else self.charts()
        return save_chart(c, path)

    def faithfulness_chart(self, kinds: Sequence[str] = ("sae", "eap")):
        """Altair line chart of the faithfulness over k of each ranking in ``kinds``
        (those that can be computed), the explorer's ``k`` marked."""
        from .live_charts import faithfulness_chart

        if self.result is None:
            raise ValueError("no result yet: run the explorer first")
        curves = {}
        notes = []
        with self.live.model_lock:
            for kind in kinds:
                found, note = self.checks.curve(kind, int(self.k))
                if found is not None:
                    curves[kind] = found
                else:
                    notes.append(note)
        if not curves:
            raise ValueError("; ".join(notes) or "no faithfulness to draw")
        return faithfulness_chart(curves, k=int(self.k))

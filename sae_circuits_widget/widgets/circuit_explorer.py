"""CircuitExplorer: type prompt pairs, watch the circuit appear.

One widget composing a ``PromptPanel``, a ``HeadGrid`` and a ``CodeInspector`` bound to
one engine ``Session`` (which caches head outputs per prompt, so an edit costs one
forward pass plus the small SAE fit).

The live loop:

* the browser debounces typing and sends the full prompt lists;
* every edit or settings change gets a new *generation* number; a worker thread waits
  ``debounce_s`` for more changes, then runs the newest request only;
* a finished run is shown only if no newer request arrived meanwhile, so a stale result
  never overwrites a newer one (the newest always wins);
* a failed run (unknown word, too few prompts, degenerate codes, or anything else raised
  on the worker, such as the allocator running out of memory) shows a one-line message
  in ``error`` beside the last good result, which stays on screen marked ``stale``
  (dimmed under a banner naming the prompts and settings it was computed from, in
  ``shown_for``) rather than passing for the result of the new request; the user's text
  and settings are never touched;
* a setting outside its bounds (``settings.LIMITS``) is refused when assigned, from
  Python or from the page, before any run: the trait keeps its value, ``error`` says why
  (Python sees the ``SettingsError``, which is also a ``TraitError``);
* ``KeyboardInterrupt`` during ``run()`` leaves the last complete result on screen,
  marked as such, and clears the busy state; partial results are never shown;
* two phases when a run must fit a new SAE (an edited or added prompt changes the SAE's
  training prompts, under the settings already on screen): first a *preview*, drawn at
  once, that encodes every prompt with the most recent SAE fitted under the same
  settings (``Session.preview``: what the method does for any prompt outside the
  training set), marked ``is_final = False`` with "preview with the previous SAE;
  refitting..." in the status line; then the refit, whose result replaces it
  (``is_final = True``). A newer request supersedes both phases (the refit of a
  superseded preview is skipped, or its result dropped); a failed or interrupted refit
  leaves the preview on screen still marked as not final, with the error beside it.
  A settings change (features, L1, seed, position, task preset) gets no preview: an
  SAE of other settings is not a preview of anything.

This module is longer than most (about 750 lines) because the live loop, its failure
handling and ``save``/``load`` all read and write the same state (the result on screen,
the request it came from, the generation counter) under one lock; the stateless parts
live beside it (``failures``: refused settings and one-line messages; ``head_grid``,
``code_inspector``, ``prompt_panel``: the three parts).

Example:
    >>> explorer = CircuitExplorer(task="ioi")   # bundled model, offline   # doctest: +SKIP
    >>> explorer                                                           # doctest: +SKIP
    >>> explorer.save("circuit.json")                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import anywidget
import numpy as np
import traitlets as t
from ipywidgets import widget_serialization

from ..engine.result import CircuitResult
from ..engine.session import Session
from ..errors import SaeCircuitsError, SettingsError, SettingsTypeError
from ..settings import FIT_FIELDS, LIMITS, TASK_SETTINGS, Settings, recommended
from ..tasks.task import Task
from ._common import bundle, edge_head_scores, result_warnings
from .code_inspector import CodeInspector
from .failures import (
    RefusedSetting,
    RefusedSettingType,
    SettingTrait,
    describe_difference,
    failure_message,
)
from .head_grid import HeadGrid, stability_of
from .prompt_panel import PromptPanel

CUSTOM = "custom"
BAR_SETTINGS = ("seed", "n_features", "l1")
"""The numeric settings of the settings bar (bounds in ``limits``)."""


def _task_names() -> list[str]:
    from ..tasks import TASK_NAMES

    return list(TASK_NAMES)


class CircuitExplorer(anywidget.AnyWidget):
    """Prompt panel + head grid + code inspector on one model, recomputed live."""

    _esm = bundle("circuit_explorer")

    panel = t.Instance(PromptPanel).tag(sync=True, **widget_serialization)
    """The prompt pairs (a ``PromptPanel``)."""
    grid = t.Instance(HeadGrid).tag(sync=True, **widget_serialization)
    """The head scores (a ``HeadGrid``)."""
    inspector = t.Instance(CodeInspector).tag(sync=True, **widget_serialization)
    """The selected head's codes (a ``CodeInspector``)."""

    task = t.Unicode("ioi").tag(sync=True)
    """Task preset: its pairs fill the panel, its ground truth is outlined ("custom": none)."""
    task_names = t.List(t.Unicode()).tag(sync=True)
    """Presets offered in the settings bar."""
    seed = SettingTrait(0).tag(sync=True)
    """Seed of the SAE fit (and of its training prompts); bounds in ``limits``."""
    n_features = SettingTrait(200).tag(sync=True)
    """SAE dictionary size (number of possible codes); bounds in ``limits``."""
    l1 = SettingTrait(0.02).tag(sync=True)
    """L1 sparsity weight of the SAE fit; bounds in ``limits``."""
    limits = t.Dict().tag(sync=True)
    """``{setting: [lowest, highest]}`` of the settings bar (``settings.LIMITS``): the page
    refuses a value outside them before sending it."""
    position = SettingTrait("mean").tag(sync=True)
    """Head outputs averaged over positions ("mean") or taken at the last token."""
    score_kind = t.Enum(["node", "edge"], default_value="node").tag(sync=True)
    """Grid shows node scores, or edge scores pooled per head."""

    busy = t.Bool(False).tag(sync=True)
    """True while a run is in progress."""
    status = t.Unicode("").tag(sync=True)
    """One line about the last finished run (time, prompts recomputed)."""
    error = t.Unicode("").tag(sync=True)
    """Why the newest run failed, or why a setting was refused, in one line ("" if
    neither); the last good result stays shown."""
    stale = t.Bool(False).tag(sync=True)
    """True when the newest run failed and the grid and inspector still show a result of
    other prompts or settings (``shown_for``); the page dims them under a banner."""
    shown_for = t.Unicode("").tag(sync=True)
    """While ``stale``: what the result on screen was computed from, where it differs
    from the failed request (e.g. ``"n_features=200, the previous prompts"``)."""
    seconds = t.Float(0.0).tag(sync=True)
    """Wall time of the last shown run, request to redraw, in seconds."""
    is_final = t.Bool(True).tag(sync=True)
    """False while the grid shows a preview (the previous SAE's codes) instead of the final result."""
    generation = t.Int(0).tag(sync=True)
    """Number of the newest request; results of older ones are dropped."""

    def __init__(
        self,
        model: Any = None,
        task: Optional[str] = "ioi",
        *,
        positives: Optional[Sequence[str]] = None,
        negatives: Optional[Sequence[str]] = None,
        n_pairs: int = 12,
        seed: Optional[int] = None,
        n_features: Optional[int] = None,
        l1: Optional[float] = None,
        position: Optional[str] = None,
        score_kind: str = "node",
        recipe: Optional[str] = None,
        n_train: Optional[int] = None,
        n_saes: Optional[int] = None,
        live: bool = True,
        debounce_s: float = 0.05,
        run: bool = True,
        session: Optional[Session] = None,
    ):
        """
        Args:
            model: a TransformerBridge; default the bundled model (offline).
            task: preset whose pairs fill the panel and whose known circuit is outlined;
                ``None`` or ``"custom"`` for your own prompts (then give both lists).
            positives, negatives: your own prompt pairs (with a task: its ground truth
                and "more like these" still apply).
            n_pairs: pairs drawn from the preset.
            seed, n_features, l1, position, score_kind: the settings bar's initial values;
                a value left out is the task's recommended one (``settings.recommended``,
                the same as ``discover`` and the command line use).
            recipe, n_train, n_saes: passed to the engine's ``discover`` (default: recommended).
            live: run edits on a worker thread, newest request wins (``False``: run
                each change at once, in the caller's thread; handy in scripts and tests).
            debounce_s: in live mode, wait this long for further changes before a run.
            run: run once now (otherwise call ``run()`` or edit something).
            session: an engine ``Session`` to reuse (its cache and model).

        Raises:
            ValueError: unknown task, only one of positives/negatives, bad ``n_pairs``.
            TypeError: unknown keyword arguments.
        """
        if session is not None:
            if model is not None and model is not session.model:
                raise ValueError("model= and session= disagree: give the session only (it holds its model)")
            model = session.model
        if model is None:
            from ..organism import load_organism

            model = load_organism()
        if (positives is None) != (negatives is None):
            raise ValueError("give both positives= and negatives=, or neither (then the task preset fills them)")
        names = _task_names()
        task = CUSTOM if task is None else task
        if task != CUSTOM and task not in names:
            raise ValueError(f"unknown task {task!r}; choose one of {', '.join(names)} or 'custom'")
        if task == CUSTOM and positives is None:
            raise ValueError("task='custom' needs positives= and negatives=")
        if not isinstance(n_pairs, int) or isinstance(n_pairs, bool) or n_pairs < 2:
            raise ValueError(f"n_pairs must be an integer >= 2, got {n_pairs!r}")
        chosen = recommended(
            None if task == CUSTOM else task, seed=seed, n_features=n_features, l1=l1,
            position=position, recipe=recipe, n_train=n_train, n_saes=n_saes,
        )

        self.model = model
        """The model the explorer runs (a TransformerBridge)."""
        self.session = session if session is not None else Session(model)
        """The engine session: head-output cache and last result."""
        self.result: Optional[CircuitResult] = None
        """The result on screen (always a finished run)."""
        self.task_object: Optional[Task] = None
        """The preset's ``Task`` (ground truth, generator), None for custom prompts."""
        self.last_error: Optional[BaseException] = None
        """The exception of the newest failed run, if any."""
        self._extra = {"recipe": chosen.recipe, "n_train": chosen.n_train, "n_saes": chosen.n_saes}
        self._n_pairs = n_pairs
        self._more_seed = 1000
        self._gen_lock = threading.Lock()
        self._model_lock = threading.RLock()
        self._live = bool(live)
        self._debounce_s = float(debounce_s)
        self._wake = threading.Condition()
        self._pending: Optional[int] = None
        self._pending_at = 0.0  # time.monotonic() of the newest request
        self._worker: Optional[threading.Thread] = None
        self._in_flight: Optional[int] = None
        self._closed = False
        self._loading = True
        self._last_prompts: Optional[tuple] = None
        self._selecting = False
        self._shown_fit: Optional[tuple] = None  # (task, settings) of the result on screen
        self._shown_inputs: Optional[tuple] = None  # (positives, negatives, fit_id) of the result on screen

        # the tokenizer is not safe to share between threads: the panel's checks run
        # with the engine's runs, under one lock (see _run_generation)
        panel = PromptPanel(model=model, annotate_on_edit=False)
        grid = HeadGrid()
        inspector = CodeInspector(model)
        super().__init__(
            panel=panel, grid=grid, inspector=inspector, task_names=names, task=task, seed=chosen.seed,
            n_features=chosen.n_features, l1=chosen.l1, position=chosen.position, score_kind=score_kind,
            limits={k: list(LIMITS[k]) for k in BAR_SETTINGS},
        )
        if task != CUSTOM:
            self._load_task(task, keep_prompts=positives is not None)
        if positives is not None:
            panel.set_pairs(positives, negatives)
        self._loading = False
        self._last_prompts = (tuple(panel.positives), tuple(panel.negatives))
        panel.observe(self._on_prompts, names=["positives", "negatives"])
        grid.observe(self._on_select, names=["selected"])
        if run:
            self.run(raise_errors=False)

    # ------------------------------------------------------------------ settings

    def _refused(self, name: str, exc: BaseException) -> None:
        """A bar setting was refused (see ``SettingTrait``): say so; the old value stays."""
        if name in self._trait_values:  # not while the constructor sets the first values
            self.error = f"{exc}; {name} stays {self._trait_values[name]!r}"

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply the page's changes; a refused setting is reported and put back on the page."""
        try:
            super().set_state(sync_data)
        except (RefusedSetting, RefusedSettingType) as exc:
            # traitlets rolled back every change of this message (the ``error`` set by
            # ``_refused`` too): report it again, and send the kept values to the page
            name = next((k for k in (*BAR_SETTINGS, "position") if k in sync_data and str(exc).startswith(k)), None)
            self.error = str(exc) if name is None else f"{exc}; {name} stays {getattr(self, name)!r}"
            self.send_state([k for k in sync_data if k in self.keys])

    @t.validate("task")
    def _valid_task(self, proposal: Any) -> str:
        v = proposal["value"]
        if v != CUSTOM and v not in (self.task_names or _task_names()):
            raise t.TraitError(f"unknown task {v!r}; choose one of {', '.join(_task_names())} or 'custom'")
        return v

    @t.observe("task")
    def _on_task(self, change: Any) -> None:
        if self._loading:
            return
        self._loading = True
        try:
            self._apply_recommended(change["new"])
            self._load_task(change["new"], keep_prompts=False)
        except Exception as exc:  # every failure reaches the page
            with self.hold_sync():
                self.error = f"cannot load task {change['new']!r}: {failure_message(exc).removeprefix('the run failed: ')}"
                self._mark_stale(self._request_inputs())
            return
        finally:
            self._loading = False
        self.request()

    @t.observe("seed", "n_features", "l1", "position")
    def _on_settings(self, change: Any) -> None:
        if not self._loading:
            self.request()

    @t.observe("score_kind")
    def _on_kind(self, change: Any) -> None:
        if self.result is not None:
            self._draw(self.result)

    def _apply_recommended(self, name: str) -> None:
        """A new preset brings its recommended values of the settings some task changes."""
        rec = recommended(None if name == CUSTOM else name)
        for key in sorted(set().union(*TASK_SETTINGS.values())):
            if key in self._extra:
                self._extra[key] = getattr(rec, key)
            else:
                setattr(self, key, getattr(rec, key))

    def _load_task(self, name: str, keep_prompts: bool) -> None:
        if name == CUSTOM:
            self.task_object = None
            self.panel.set_model(self.model, None)
            return
        from ..tasks import get_task

        with self._model_lock:
            task = get_task(name, self.model, n=self._n_pairs, seed=self.seed)
        self.task_object = task

        def generate(n: int) -> tuple[list[str], list[str]]:
            self._more_seed += 1
            with self._model_lock:
                more = get_task(name, self.model, n=n, seed=self._more_seed)
            return list(more.positives), list(more.negatives)

        self.panel.set_model(self.model, generate)
        if not keep_prompts:
            self.panel.set_pairs(task.positives, task.negatives)

    @property
    def ground_truth(self) -> Optional[frozenset]:
        """The preset task's known circuit for this model, if any."""
        return None if self.task_object is None else self.task_object.ground_truth

    def settings(self) -> dict[str, Any]:
        """The engine settings of the next run."""
        return {
            "seed": int(self.seed), "n_features": int(self.n_features), "l1": float(self.l1),
            "position": str(self.position), **self._extra,
        }

    # ------------------------------------------------------------------ live loop

    def _on_prompts(self, change: Any) -> None:
        # positives and negatives replaced together notify twice: run once per new pair of lists
        snapshot = (tuple(self.panel.positives), tuple(self.panel.negatives))
        if self._loading or snapshot == self._last_prompts:
            return
        self._last_prompts = snapshot
        self.request()

    def request(self) -> int:
        """Ask for a run with the current prompts and settings; returns its generation.

        In live mode the run happens on a worker thread after ``debounce_s`` (newer
        requests replace it); otherwise it runs now.
        """
        with self._gen_lock:
            self.generation += 1
            gen = self.generation
        if not self._live:
            self._run_generation(gen, raise_errors=False)
            return gen
        with self._wake:
            self._pending = gen
            self._pending_at = time.monotonic()
            self._ensure_worker()
            self._wake.notify()
        return gen

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="circuit-explorer", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                # debounce: wait until no newer request for debounce_s (a request that
                # arrived while the previous run was busy has waited long enough already)
                while not self._closed:
                    left = self._pending_at + self._debounce_s - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                gen, self._pending = self._pending, None
                self._in_flight = gen
            try:
                if gen is not None and gen == self.generation:
                    self._run_generation(gen, raise_errors=False)
            except BaseException as exc:  # the worker survives anything; what stopped the run still reaches the page
                with contextlib.suppress(BaseException):
                    self._fail(gen, failure_message(exc), exc, None)
            finally:
                with self._wake:
                    self._in_flight = None

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no run is pending or in progress (for scripts and tests)."""
        end = time.monotonic() + timeout
        time.sleep(0.01)
        while time.monotonic() < end:
            with self._wake:
                idle = self._pending is None and self._in_flight is None
            if idle:
                return True
            time.sleep(0.01)
        return False

    def run(self, *, raise_errors: bool = True) -> Optional[CircuitResult]:
        """Run now, in this thread, with the current prompts and settings.

        Returns the result (also shown). A ``KeyboardInterrupt`` leaves the last complete
        result on screen and is re-raised.
        """
        with self._gen_lock:
            self.generation += 1
            gen = self.generation
        return self._run_generation(gen, raise_errors=raise_errors)

    def _request_inputs(self) -> tuple:
        """(positives, negatives, fit_id) of a run with what the panel and bar show now."""
        settings = self.settings()
        fit_id = (str(self.task), tuple(sorted(settings.items())))
        return tuple(self.panel.positives), tuple(self.panel.negatives), fit_id

    def _run_generation(self, gen: int, *, raise_errors: bool) -> Optional[CircuitResult]:
        t0 = time.perf_counter()
        preview_s: Optional[float] = None
        inputs: Optional[tuple] = None
        try:
            inputs = self._request_inputs()
            positives, negatives, fit_id = list(inputs[0]), list(inputs[1]), inputs[2]
            settings = dict(fit_id[1])
            before = self.session.forward_prompts
            self.busy = True
            with self._model_lock:
                if not self.panel.annotated:
                    self.panel.annotate()
                preview = self._preview(positives, negatives, settings, fit_id)
            if preview is not None and gen == self.generation:
                preview_s = self._show(preview, gen, inputs, t0, before, final=False)
            if gen != self.generation:
                return None  # superseded: the newer request runs next, skip this refit
            with self._model_lock:
                result = self.session.discover(positives, negatives, **settings)
            if gen != self.generation:
                return result  # a newer request exists: never show a stale result
            # inside the try: an interrupt while drawing never leaves a preview marked final
            self._show(result, gen, inputs, t0, before, final=True, preview_s=preview_s)
        except KeyboardInterrupt:
            self._fail(gen, "interrupted: the run was stopped before it finished", None, inputs)
            if raise_errors:
                raise
            return None
        except Exception as exc:  # every failure reaches the page, in one line
            self._fail(gen, failure_message(exc), exc, inputs)
            if raise_errors:
                raise
            return None
        finally:
            if gen == self.generation:
                self.busy = False
        return result

    def _preview(self, positives: list[str], negatives: list[str], settings: dict[str, Any], fit_id: tuple) -> Optional[CircuitResult]:
        """The session's preview when this run must refit the SAE under the settings on screen."""
        if self.result is None or fit_id != self._shown_fit:
            return None  # first run, or a settings / task change: nothing to preview
        try:
            return self.session.preview(positives, negatives, **settings)
        except (SaeCircuitsError, ValueError, TypeError):
            return None  # the full run reports the problem

    def _show(
        self, result: CircuitResult, gen: int, inputs: tuple, t0: float, before: int, *,
        final: bool, preview_s: Optional[float] = None,
    ) -> float:
        """Draw ``result`` (a preview or the final one) of the request ``inputs``
        (``_request_inputs``); returns edit -> grid seconds."""
        recomputed = self.session.forward_prompts - before
        self.result = result
        self._shown_fit = inputs[2]
        self._shown_inputs = inputs
        if not final:
            self.is_final = False  # before the preview is drawn ...
        self._draw_grid(result)
        if final:
            self.is_final = True  # ... and only once the final grid is
        elapsed = time.perf_counter() - t0  # edit -> grid data sent
        n_pos = int(np.sum(result.is_positive))
        n_neg = len(result.is_positive) - n_pos
        with self.hold_sync():
            self.error = ""
            self.stale = False
            self.shown_for = ""
            self.last_error = None
            self.panel.error = ""
            self.seconds = elapsed
            warn = "; ".join(result_warnings(result))
            if final:
                self.status = (
                    f"updated in {elapsed:.2f} s" + (f" (preview after {preview_s:.2f} s)" if preview_s is not None else "")
                    + f" · {n_pos} positives, {n_neg} negatives · {recomputed} prompt(s) through the model"
                    + (f" · note: {warn}" if warn else "")
                )
            else:
                self.status = (
                    f"preview with the previous SAE ({elapsed:.2f} s); refitting the SAE on the new "
                    "training prompts… (not final)"
                )
            self.busy = not final
        if gen == self.generation:
            self._draw_inspector(result)
        return elapsed

    def _fail(self, gen: Optional[int], message: str, exc: Optional[BaseException], inputs: Optional[tuple]) -> None:
        """Report the failed run ``gen`` of the request ``inputs`` (None: unknown)."""
        if gen != self.generation:
            return
        with self.hold_sync():
            self.last_error = exc
            self.error = message
            self.busy = False
            self._mark_stale(inputs)
            if self.result is not None and not self.is_final:
                self.status = "showing a preview with the previous SAE (not final): the refit did not finish"
            elif self.result is not None:
                self.status = "showing the last complete result"

    def _mark_stale(self, inputs: Optional[tuple]) -> None:
        """Mark the result on screen stale unless it was computed from ``inputs``."""
        if self.result is None or self._shown_inputs is None:
            self.stale, self.shown_for = False, ""
            return
        if inputs == self._shown_inputs:  # e.g. a preview of these very prompts: not stale, not final
            self.stale, self.shown_for = False, ""
            return
        self.stale = True
        self.shown_for = describe_difference(self._shown_inputs, inputs)

    def _draw(self, result: CircuitResult) -> None:
        """Put ``result`` on the grid and the inspector."""
        self._draw_grid(result)
        self._draw_inspector(result)

    def _draw_grid(self, result: CircuitResult) -> None:
        """Put ``result``'s scores on the grid (node or pooled edge scores)."""
        gt = self.ground_truth
        if gt is not None and any(not (0 <= l < result.n_layers and 0 <= h < result.n_heads) for l, h in gt):
            gt = None
        edge = self.score_kind == "edge"
        pooled = edge_head_scores(result)
        if edge and pooled is None:
            scores, label, note = result.node_scores, "node score", "this run has no edge scores; showing node scores"
        elif edge:
            scores, label, note = np.asarray(pooled).reshape(result.n_layers, result.n_heads), "edge score (pooled per head)", ""
        else:
            scores, label, note = result.node_scores, "node score (codes unique to positives)", ""
        warn = "; ".join(result_warnings(result))
        self._selecting = True
        try:
            self.grid.show_scores(scores, gt, label=label, message=note or warn, **stability_of(result))
            if self.grid.selected < 0:
                top = (result.top_heads(1) or [(0, 0)])[0]  # no head scored above 0: start at the first
                self.grid.selected = top[0] * result.n_heads + top[1]
        finally:
            self._selecting = False

    def _draw_inspector(self, result: CircuitResult) -> None:
        """Show the selected head of ``result`` in the inspector."""
        if self.grid.selected >= 0:
            with self._model_lock:
                self.inspector.show(result, self.grid.selected, show_edges=self.score_kind == "edge")

    def _on_select(self, change: Any) -> None:
        if self.result is None or change["new"] < 0 or self._selecting:
            return
        with self._model_lock:
            self.inspector.show(self.result, change["new"], show_edges=self.score_kind == "edge")

    # ------------------------------------------------------------------ outputs

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
    def load(cls, path: Any, model: Any = None, task: Optional[str] = None, **kwargs: Any) -> "CircuitExplorer":
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
    def loads(cls, text: Any, model: Any = None, task: Optional[str] = None, **kwargs: Any) -> "CircuitExplorer":
        """``load`` for JSON text (a saved file's content) instead of a file."""
        return cls._from_saved(Session.read_saved_text(text), model, task, **kwargs)

    @classmethod
    def _from_saved(cls, saved: dict[str, Any], model: Any, task: Optional[str], **kwargs: Any) -> "CircuitExplorer":
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
        explorer = cls(model, task, positives=saved["positives"], negatives=saved["negatives"], **{**settings, **kwargs})
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
        self._last_prompts = (tuple(self.panel.positives), tuple(self.panel.negatives))
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
        return (self.roc_chart() | self.score_chart(top=top)).resolve_scale(color="independent", strokeDash="independent").resolve_legend(color="independent")

    def export_chart(self, path: Any, chart: str = "roc") -> Path:
        """Write the ``"roc"``, ``"scores"`` or ``"both"`` chart to ``path`` (.png, .svg, .json, .html)."""
        from ..evaluation.charts import save_chart

        if chart not in ("roc", "scores", "both"):
            raise ValueError(f"chart must be 'roc', 'scores' or 'both', got {chart!r}")
        c = self.roc_chart() if chart == "roc" else self.score_chart() if chart == "scores" else self.charts()
        return save_chart(c, path)

    def close(self) -> None:
        """Stop the worker thread and close the widget and its parts."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        for w in (self.panel, self.grid, self.inspector):
            if w is not None:
                w.close()
        super().close()


"""CircuitExplorer: type prompt pairs, watch the circuit appear, and judge whether to believe it.

One widget composing a ``PromptPanel``, a ``HeadGrid`` and a ``CodeInspector`` on one
model. The live loop (debounce, generation counter, a preview with the previous SAE and
then the refit, the model lock, stopping a superseded fit) belongs to the engine's
``live.LiveSession``; this class wires its updates to traits:

* the browser debounces typing and sends the full prompt lists (and each positive's
  answer); every edit or settings change is a request with a new *generation*; only the
  newest request's results are drawn, so a stale result never overwrites a newer one;
* a preview (every prompt encoded with the SAE fitted before the edit, ``is_final =
  False``, "preview with the previous SAE; refitting..." in the status line) comes
  first when an edit changes the SAE's training prompts; the refit replaces it. A
  settings change (features, L1, seed, position, task preset) gets no preview;
* a failed run (unknown word, too few prompts, degenerate codes, or anything else,
  such as the allocator running out of memory) shows a one-line message in ``error``
  beside the last good result, which stays on screen marked ``stale`` (dimmed under a
  banner naming what it was computed from, ``shown_for``); the user's text and settings
  are never touched. A setting outside its bounds (``settings.LIMITS``) is refused when
  assigned, before any run (``failures``). ``KeyboardInterrupt`` during ``run()`` leaves
  the last complete result on screen; partial results are never shown.

What tells the user whether to believe the circuit (issue: the explorer's trust
features), computed by ``live.opinions`` through ``checks.Checks`` once a result is
drawn (for a preview: EAP and its agreement only; the faithfulness waits for the final
ranking, so the refit starts soon), each step dropped as soon as a newer edit arrives:

* per prompt, whether the model solves it (``behaviour``; a mark under each prompt, a
  summary line above the grid: "11/12 positives solved; negatives at chance (4/12)");
* ``score_kind``: the grid shows the SAE node scores, ``1 - overlap`` of the positive
  and negative codes, EAP pooled per head, the output-difference norm, or the SAE edge
  scores pooled per head; ``agreement`` of the SAE ranking with EAP below it;
* ``k`` and ``faithfulness(k)``: the logit difference kept by the top-k heads of the
  ranking on screen with every other head mean-ablated, and the curve over k;
* ``edges``: the strongest head -> head edges; choosing one (``selected_edge``) lists the
  code pairs behind it (``edge_pairs``).

This module is longer than most (about 780 lines) because the run state (the result on
screen, the request it came from, the generation) is read and written by the live
updates, the trust checks and failure handling alike, and the traits it syncs are many;
the rest lives beside it (``explorer_outputs``: save, load and charts; ``failures``;
``checks``; ``live_charts``; and the three parts).

Example:
    >>> explorer = CircuitExplorer(task="ioi")   # bundled model, offline   # doctest: +SKIP
    >>> explorer                                                           # doctest: +SKIP
    >>> explorer.behaviour[0]["solved"], explorer.agreement               # doctest: +SKIP
    >>> explorer.faithfulness(5)                                           # doctest: +SKIP
    >>> explorer.save("circuit.json")                                      # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Optional

import anywidget
import numpy as np
import traitlets as t
from ipywidgets import widget_serialization

from ..engine.result import CircuitResult
from ..engine.session import Session
from ..live import LiveSession, LiveUpdate, opinions
from ..settings import LIMITS, TASK_SETTINGS, Settings, recommended
from ..tasks.task import Task
from ._common import bundle, result_warnings
from .checks import SCORE_KINDS, Checks
from .code_inspector import CodeInspector
from .explorer_outputs import ExplorerOutputs
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
INTERRUPTED = "interrupted: the run was stopped before it finished"


def _task_names() -> list[str]:
    from ..tasks import TASK_NAMES

    return list(TASK_NAMES)


class CircuitExplorer(ExplorerOutputs, anywidget.AnyWidget):
    """Prompt panel + head grid + code inspector on one model, recomputed live, with the
    checks that say whether to believe the circuit."""

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
    score_kind = t.Enum([*SCORE_KINDS, "node"], default_value="sae").tag(sync=True)
    """What the grid shows: ``"sae"`` node scores, ``"overlap"`` (drawn as 1 - the Jaccard
    overlap of positive and negative codes, so task-specific heads are bright), ``"eap"``,
    ``"output_diff_norm"``, or ``"edge"`` (SAE edge scores pooled per head). ``"node"`` is
    read as ``"sae"``."""

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

    behaviour_summary = t.Unicode("").tag(sync=True)
    """Whether the model does the task on the prompts on screen, in one line
    (``TaskCheck.summary()``, e.g. "11/12 positives solved; negatives at chance (4/12)")."""
    task_warnings = t.List(t.Unicode()).tag(sync=True)
    """The task check's warnings (the model fails positives, still solves negatives, ...)."""
    agreement = t.Dict().tag(sync=True)
    """``{"spearman": .., "top_k_overlap": ..}`` of the SAE ranking and EAP on the same
    prompts (top-k with the explorer's ``k``); ``{}`` until computed or without answers."""
    agreement_note = t.Unicode("").tag(sync=True)
    """Why ``agreement`` is empty (e.g. EAP needs answers), "" otherwise."""
    k = t.Int(5).tag(sync=True)
    """The circuit's size for ``faithfulness_kept`` and the top-k overlap: 0 to ``k_max``."""
    k_max = t.Int(0).tag(sync=True)
    """The largest ``k``: the model's number of heads."""
    faithfulness_kept = t.Float(None, allow_none=True).tag(sync=True)
    """Share of the clean logit difference kept by the top-``k`` heads of the ranking on
    screen, every other head mean-ablated (``None``: not known, see ``faithfulness_note``)."""
    faithfulness_curve = t.Dict().tag(sync=True)
    """``{"ks": [...], "values": [...]}``: ``faithfulness_kept`` over k (``{}`` until computed)."""
    faithfulness_note = t.Unicode("").tag(sync=True)
    """Why there is no faithfulness (no answers, prompts the model does not solve), "" otherwise."""
    edges = t.List(t.Dict()).tag(sync=True)
    """The strongest head -> head edges of the result on screen, best first:
    ``{"sender": [l, h], "receiver": [l, h], "score": float}``."""
    selected_edge = t.Int(-1).tag(sync=True)
    """Index into ``edges`` whose code pairs ``edge_pairs`` lists; -1 for none (set by clicks)."""
    edge_pairs = t.List(t.Dict()).tag(sync=True)
    """The (sender code, receiver code) pairs behind the selected edge, with how many
    positives and negatives have each (``live.opinions.edge_code_pairs``)."""
    edge_note = t.Unicode("").tag(sync=True)
    """Why ``edges`` is empty ("" when it is not)."""
    checking = t.Bool(False).tag(sync=True)
    """True while behaviour, EAP and faithfulness of the result on screen are computed."""

    def __init__(
        self,
        model: Any = None,
        task: Optional[str] = "ioi",
        *,
        positives: Optional[Sequence[str]] = None,
        negatives: Optional[Sequence[str]] = None,
        answers: Optional[Sequence[str]] = None,
        n_pairs: int = 12,
        seed: Optional[int] = None,
        n_features: Optional[int] = None,
        l1: Optional[float] = None,
        position: Optional[str] = None,
        score_kind: str = "sae",
        k: int = 5,
        recipe: Optional[str] = None,
        n_train: Optional[int] = None,
        n_saes: Optional[int] = None,
        fit: Optional[str] = None,
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
            answers: the next token each positive should get (one per positive, e.g.
                ``" Mary"``): the model check, EAP and faithfulness use them. A preset
                brings its own.
            n_pairs: pairs drawn from the preset.
            seed, n_features, l1, position, score_kind: the settings bar's initial values;
                a value left out is the task's recommended one (``settings.recommended``,
                the same as ``discover`` and the command line use).
            k: the circuit's size for faithfulness and the top-k overlap.
            recipe, n_train, n_saes, fit: passed to the engine's ``discover`` (default:
                recommended; ``fit="sparse"`` refits the SAEs several times faster, equal
                to the exact loop up to rounding).
            live: run edits on the live session's worker thread, newest request wins
                (``False``: run each change at once, in the caller's thread; handy in
                scripts and tests).
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
        if answers is not None and (positives is None or len(list(answers)) != len(list(positives))):
            raise ValueError("answers= needs positives= and one answer per positive")
        chosen = recommended(
            None if task == CUSTOM else task, seed=seed, n_features=n_features, l1=l1,
            position=position, recipe=recipe, n_train=n_train, n_saes=n_saes, fit=fit,
        )

        self.model = model
        """The model the explorer runs (a TransformerBridge)."""
        self.live = LiveSession(model, self._on_update, session=session, debounce_s=debounce_s)
        """The engine's live loop (debounce, generations, preview then final, model lock)."""
        self.session = self.live.session
        """The engine session: head-output cache and fitted SAEs."""
        self.result: Optional[CircuitResult] = None
        """The result on screen (always a finished run)."""
        self.task_object: Optional[Task] = None
        """The preset's ``Task`` (ground truth, generator), None for custom prompts."""
        self.last_error: Optional[BaseException] = None
        """The exception of the newest failed run, if any."""
        self.checks = Checks(model)
        """The trust checks of the result on screen (``checks.Checks``)."""
        self._extra = {"recipe": chosen.recipe, "n_train": chosen.n_train, "n_saes": chosen.n_saes, "fit": chosen.fit}
        self._n_pairs = n_pairs
        self._more_seed = 1000
        self._live = bool(live)
        self._closed = False
        self._loading = True
        self._last_prompts: Optional[tuple] = None
        self._selecting = False
        self._requests: dict[int, tuple] = {}  # generation -> (inputs, answers, time of the request)
        self._preview_s: dict[int, float] = {}
        self._shown_inputs: Optional[tuple] = None  # (positives, negatives, fit_id) of the result on screen

        # the tokenizer is not safe to share between threads: the panel's checks run
        # on the live session's worker, under its model lock (see _on_update)
        panel = PromptPanel(model=model, annotate_on_edit=False)
        grid = HeadGrid()
        inspector = CodeInspector(model)
        total = int(model.cfg.n_layers) * int(model.cfg.n_heads)
        super().__init__(
            panel=panel, grid=grid, inspector=inspector, task_names=names, task=task, seed=chosen.seed,
            n_features=chosen.n_features, l1=chosen.l1, position=chosen.position, score_kind=score_kind,
            limits={k: list(LIMITS[k]) for k in BAR_SETTINGS}, k_max=total, k=min(max(0, int(k)), total),
        )
        if task != CUSTOM:
            self._load_task(task, keep_prompts=positives is not None)
        if positives is not None and negatives is not None:
            panel.set_pairs(positives, negatives, answers)
        self._loading = False
        self._last_prompts = self._panel_snapshot()
        panel.observe(self._on_prompts, names=["positives", "negatives", "answers"])
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
        except t.TraitError as exc:  # e.g. k outside 0..k_max: keep the value, say why
            self.error = " ".join(str(exc).split())
            self.send_state([k for k in sync_data if k in self.keys])

    @t.validate("task")
    def _valid_task(self, proposal: Any) -> str:
        v = proposal["value"]
        if v != CUSTOM and v not in (self.task_names or _task_names()):
            raise t.TraitError(f"unknown task {v!r}; choose one of {', '.join(_task_names())} or 'custom'")
        return v

    @t.validate("score_kind")
    def _valid_kind(self, proposal: Any) -> str:
        return "sae" if proposal["value"] == "node" else proposal["value"]

    @t.validate("k")
    def _valid_k(self, proposal: Any) -> int:
        v = proposal["value"]
        top = self.k_max if self.k_max > 0 else v
        if isinstance(v, bool) or not 0 <= int(v) <= top:
            raise t.TraitError(f"k must be a whole number from 0 to {top} (the number of heads), got {v!r}; k stays {self.k}")
        return int(v)

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
        self._last_prompts = self._panel_snapshot()
        self.request()

    @t.observe("seed", "n_features", "l1", "position")
    def _on_settings(self, change: Any) -> None:
        if not self._loading:
            self.request()

    @t.observe("score_kind")
    def _on_kind(self, change: Any) -> None:
        if self.result is None:
            return
        self._draw_inspector(self.result)
        self._refresh_checks(faithfulness=self.is_final)  # waits for the worker's current step (one model lock)

    @t.observe("k")
    def _on_k(self, change: Any) -> None:
        if self.result is not None:
            self._refresh_checks(faithfulness=self.is_final)

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

        with self.live.model_lock:
            task = get_task(name, self.model, n=self._n_pairs, seed=self.seed)
        self.task_object = task

        def generate(n: int) -> tuple[list[str], list[str], Optional[list[str]]]:
            self._more_seed += 1
            with self.live.model_lock:
                more = get_task(name, self.model, n=n, seed=self._more_seed)
            return list(more.positives), list(more.negatives), None if more.answers is None else list(more.answers)

        self.panel.set_model(self.model, generate)
        if not keep_prompts:
            self.panel.set_pairs(task.positives, task.negatives, task.answers)

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

    # ------------------------------------------------------------------ live loop (the engine's LiveSession)

    def _panel_snapshot(self) -> tuple:
        return tuple(self.panel.positives), tuple(self.panel.negatives), tuple(self.panel.answers)

    def _on_prompts(self, change: Any) -> None:
        # the lists replaced together notify once each: run once per new set of lists
        snapshot = self._panel_snapshot()
        if self._loading or snapshot == self._last_prompts:
            return
        self._last_prompts = snapshot
        self.request()

    def _answers(self) -> Optional[list[str]]:
        """The panel's answers when every positive has one (else the run goes without)."""
        ans = [str(a) for a in self.panel.answers][: len(self.panel.positives)]
        if len(ans) != len(self.panel.positives) or not ans or not all(a for a in ans):
            return None
        return ans

    def _request_inputs(self) -> tuple:
        """(positives, negatives, fit_id) of a run with what the panel and bar show now."""
        settings = self.settings()
        fit_id = (str(self.task), tuple(sorted(settings.items())))
        return tuple(self.panel.positives), tuple(self.panel.negatives), fit_id

    def _live_args(self, inputs: tuple) -> tuple[list[str], list[str], Settings, dict[str, Any]]:
        positives, negatives, fit_id = inputs
        return list(positives), list(negatives), Settings(**dict(fit_id[1])), {"task": self.task_object, "answers": self._answers()}

    def request(self) -> int:
        """Ask for a run with the current prompts and settings; returns its generation.

        In live mode the run happens on the live session's worker thread after
        ``debounce_s`` (newer requests replace it); otherwise it runs now.
        """
        if not self._live:
            self.run(raise_errors=False)
            return self.generation
        inputs = self._request_inputs()
        positives, negatives, settings, extra = self._live_args(inputs)
        asked = time.perf_counter()
        gen = self.live.request(positives, negatives, settings, **extra)
        self._requests[gen] = (inputs, extra["answers"], asked)
        with self.hold_sync():
            self.generation = gen
            self.busy = True
        return gen

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no run (nor its checks) is pending or in progress (for scripts and tests)."""
        return self.live.wait(timeout)

    def run(self, *, raise_errors: bool = True) -> Optional[CircuitResult]:
        """Run now, in this thread, with the current prompts and settings.

        Returns the result (also shown, with its checks). A ``KeyboardInterrupt`` leaves the
        last complete result on screen and is re-raised.
        """
        inputs = self._request_inputs()
        positives, negatives, settings, extra = self._live_args(inputs)
        gen = self.live.generation + 1  # the generation ``live.run`` takes
        self._requests[gen] = (inputs, extra["answers"], time.perf_counter())
        self.generation = gen
        self.busy = True
        try:
            return self.live.run(positives, negatives, settings, **extra)
        except KeyboardInterrupt:
            if raise_errors:
                raise
            return None
        except Exception:  # already reported through _on_update, in one line
            if raise_errors:
                raise
            return None
        finally:
            if gen == self.live.generation and self.busy and not self._closed:
                self.busy = not self.is_final

    def _on_update(self, update: LiveUpdate) -> None:
        """The live session's report of a run (on its worker, or in ``run``'s thread)."""
        gen = update.generation
        if self._closed or update.kind == "cancelled" or gen != self.live.generation:
            return  # a superseded run: the newer request reports
        inputs = self._requests.get(gen, (None, None, 0.0))[0]
        for old in [g for g in self._requests if g < gen]:
            self._requests.pop(old, None)
            self._preview_s.pop(old, None)
        with self.live.model_lock:
            if not self.panel.annotated:
                self.panel.annotate()
        if update.kind == "failed":
            message = INTERRUPTED if isinstance(update.exception, KeyboardInterrupt) else update.error
            self._fail(gen, message, update.exception, inputs)
            return
        result = update.result
        if result is None:
            return
        final = update.kind == "final"
        self._show(result, gen, inputs or self._request_inputs(), update, final=final)
        self._show_behaviour(result)
        self._pending_checks(final=final)
        # a preview gets EAP and its agreement (EAP depends on the prompts only: the final result
        # reuses it); faithfulness waits for the final ranking, so the refit is not held up long
        self._check(result, gen, final=final)

    def _show(self, result: CircuitResult, gen: int, inputs: tuple, update: LiveUpdate, *, final: bool) -> float:
        """Draw ``result`` (a preview or the final one) of the request ``inputs``; returns
        run -> grid seconds."""
        t_draw = time.perf_counter()
        self.result = result
        self._shown_inputs = inputs
        if not final:
            self.is_final = False  # before the preview is drawn ...
        self._draw_grid(result)
        if final:
            self.is_final = True  # ... and only once the final grid is
        elapsed = update.seconds + (time.perf_counter() - t_draw)  # run start -> grid data sent
        is_positive = np.asarray(result.is_positive, dtype=bool)
        n_pos = int(is_positive.sum())
        n_neg = len(is_positive) - n_pos
        preview_s = self._preview_s.get(gen)
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
                    + f" · {n_pos} positives, {n_neg} negatives · {update.forward_prompts} prompt(s) through the model"
                    + (f" · note: {warn}" if warn else "")
                )
            else:
                self._preview_s[gen] = elapsed
                self.status = (
                    f"preview with the previous SAE ({elapsed:.2f} s); refitting the SAE on the new "
                    "training prompts… (not final)"
                )
            self.busy = not final
        if gen == self.live.generation:
            self._draw_inspector(result)
        return elapsed

    def _fail(self, gen: Optional[int], message: str, exc: Optional[BaseException], inputs: Optional[tuple]) -> None:
        """Report the failed run ``gen`` of the request ``inputs`` (None: unknown)."""
        if gen != self.live.generation:
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

    # ------------------------------------------------------------------ drawing

    def _draw(self, result: CircuitResult) -> None:
        """Put ``result`` on the grid and the inspector."""
        self._draw_grid(result)
        self._draw_inspector(result)

    def _draw_grid(self, result: CircuitResult) -> None:
        """Put ``result`` on the grid (the scores of ``score_kind``, as far as they are known)."""
        is_positive = np.asarray(result.is_positive, dtype=bool)
        positives = [p for p, f in zip(result.prompts or (), is_positive) if f]
        negatives = [p for p, f in zip(result.prompts or (), is_positive) if not f]
        inputs = self._requests.get(self.live.generation)
        with self.live.model_lock:  # the checks are shared with the page's kind and k changes
            self.checks.use(
                result, positives, negatives, answers=None if inputs is None else inputs[1],
                task=self.task_object, position=str(result.settings.get("position", self.position)),
            )
            self._paint_grid(compute=False)
        if self.grid.selected < 0:
            top = (result.top_heads(1) or [(0, 0)])[0]  # no head scored above 0: start at the first
            self._selecting = True
            try:
                self.grid.selected = top[0] * result.n_heads + top[1]
            finally:
                self._selecting = False

    def _paint_grid(self, *, compute: bool) -> None:
        """Draw the ``score_kind`` scores of the result on screen, or why there are none."""
        result = self.result
        if result is None:
            return
        gt = self.ground_truth
        if gt is not None and any(not (0 <= a < result.n_layers and 0 <= b < result.n_heads) for a, b in gt):
            gt = None
        kind = self.score_kind
        scores, label, note = self.checks.scores(kind, compute=compute)
        if scores is None and kind == "edge":  # a run without edge scores: the node scores, said so
            scores, label = result.node_scores, "SAE node score (this run has no edge scores)"
        told = set(result.task_check.warnings) if result.task_check is not None else set()
        warn = "; ".join(w for w in result_warnings(result) if w not in told)  # the model check says the rest
        self._selecting = True
        try:
            if scores is None:
                self.grid.show_unavailable(note, label=label)
                return
            stability = stability_of(result) if kind == "sae" else {}
            self.grid.show_scores(scores, gt, label=label, message="; ".join(m for m in (note, warn) if m), **stability)
        finally:
            self._selecting = False

    def _draw_inspector(self, result: CircuitResult) -> None:
        """Show the selected head of ``result`` in the inspector."""
        if self.grid.selected >= 0:
            with self.live.model_lock:
                self.inspector.show(result, self.grid.selected, show_edges=self.score_kind == "edge")

    def _on_select(self, change: Any) -> None:
        if self.result is None or change["new"] < 0 or self._selecting:
            return
        with self.live.model_lock:
            self.inspector.show(self.result, change["new"], show_edges=self.score_kind == "edge")

    # ------------------------------------------------------------------ the trust checks

    @property
    def behaviour(self) -> list[dict[str, Any]]:
        """What the model does on each prompt of the result on screen, positives first:
        ``{"prompt", "side", "top_token", "p_answer", "logit_diff", "solved"}``
        (``live.opinions.behaviour``; ``[]`` before the first result)."""
        return [] if self.result is None else opinions.behaviour(self.result)

    def _show_behaviour(self, result: CircuitResult) -> None:
        """The model check of ``result``: a mark per prompt in the panel, a line above the grid."""
        rows = opinions.behaviour(result)
        check = result.task_check
        with self.hold_sync(), self.panel.hold_sync():
            self.panel.positive_behaviour = [r for r in rows if r["side"] == "positive"]
            self.panel.negative_behaviour = [r for r in rows if r["side"] == "negative"]
            self.behaviour_summary = "" if check is None else check.summary()
            self.task_warnings = [] if check is None else [str(w) for w in check.warnings]

    def _check(self, result: CircuitResult, gen: int, *, final: bool) -> None:
        """After a result: faithfulness (final results only), then EAP and the agreement, each
        step skipped once a newer request exists (the next result gets its own)."""
        current = lambda: gen == self.live.generation and self.result is result and not self._closed  # noqa: E731
        self.checking = True
        try:
            if final and current():
                self._refresh_checks(eap=False)  # faithfulness of the ranking on screen
            if current():
                self._refresh_checks(faithfulness=final)  # EAP, its agreement (and the grid in EAP mode)
        finally:
            self.checking = False  # runs come one at a time: a newer result's checks start after this

    def _refresh_checks(self, *, eap: bool = True, faithfulness: bool = True) -> None:
        """Set the grid, agreement and faithfulness traits for ``score_kind`` and ``k``,
        computing what is missing (``eap=False`` leaves EAP, the slowest, for later;
        ``faithfulness=False`` leaves the faithfulness for the final result)."""
        if self.result is None:
            return
        kind, k = self.score_kind, int(self.k)
        with self.live.model_lock:
            self._paint_grid(compute=eap or kind != "eap")
            curve: Optional[tuple] = None
            kept: Optional[float] = None
            note = "measuring faithfulness…" if faithfulness else "faithfulness: measured once the refit ends…"
            if faithfulness and (eap or kind != "eap"):
                curve, note = self.checks.curve(kind, k)
                kept = self.checks.faithfulness(kind, k)[0] if curve is not None else None
            agree, agree_note = self.checks.agreement(max(1, k), compute=eap)
        with self.hold_sync():
            self.faithfulness_kept = None if kept is None or not math.isfinite(kept) else float(kept)
            self.faithfulness_curve = {} if curve is None else {"ks": list(curve[0]), "values": [float(v) for v in curve[1]]}
            self.faithfulness_note = note
            self.agreement = agree
            self.agreement_note = agree_note

    def _pending_checks(self, *, final: bool) -> None:
        """A new result is on screen: its edges now, its faithfulness and agreement to come."""
        self._show_edges()
        with self.hold_sync():
            self.faithfulness_kept, self.faithfulness_curve = None, {}
            self.faithfulness_note = "measuring faithfulness…" if final else "faithfulness: measured once the refit ends…"
            self.agreement, self.agreement_note = {}, "comparing with EAP…"

    def _show_edges(self) -> None:
        """The strongest edges of the result on screen; the selected pair of heads stays selected."""
        old = self.edges[self.selected_edge] if 0 <= self.selected_edge < len(self.edges) else None
        rows, note = self.checks.edges()
        keep = next((i for i, e in enumerate(rows) if old and (e["sender"], e["receiver"]) == (old["sender"], old["receiver"])), -1)
        with self.hold_sync():
            self.edges, self.edge_note = rows, note
            self.selected_edge = keep
            self.edge_pairs = self.checks.edge_pairs(rows[keep]) if keep >= 0 else []

    @t.observe("selected_edge")
    def _on_edge(self, change: Any) -> None:
        i = change["new"]
        self.edge_pairs = self.checks.edge_pairs(self.edges[i]) if 0 <= i < len(self.edges) else []

    def faithfulness(self, k: Optional[int] = None, kind: Optional[str] = None) -> float:
        """The share of the clean logit difference the top-``k`` heads keep, every other head
        mean-ablated over the prompts (``live.opinions.faithfulness``).

        ``k`` defaults to the explorer's ``k``; the ranking is that of ``kind`` (default:
        the one on screen, ``score_kind``). Raises ``ValueError`` before the first result,
        and with the one-line reason when there is no logit difference to keep (prompts
        without answers) or the model does not solve the prompts.

        Example:
            >>> explorer.faithfulness(5)   # doctest: +SKIP
            0.84
        """
        k = int(self.k if k is None else k)
        kind = self.score_kind if kind is None else ("sae" if kind == "node" else kind)
        if kind not in SCORE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SCORE_KINDS)}, got {kind!r}")
        if not 0 <= k <= self.k_max:
            raise ValueError(f"k must be from 0 to {self.k_max} (the number of heads), got {k}")
        if self.result is None:
            raise ValueError("no result yet: run the explorer first")
        with self.live.model_lock:
            value, note = self.checks.faithfulness(kind, k)
        if value is None:
            raise ValueError(note)
        return value

    def close(self) -> None:
        """Stop the live session's worker and close the widget and its parts."""
        self._closed = True
        self.live.close()
        for w in (self.panel, self.grid, self.inspector):
            if w is not None:
                w.close()
        super().close()

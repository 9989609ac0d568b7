"""The live loop: type prompts, get a preview at once, then the final circuit; the newest edit wins.

Discovery after an edit costs one forward pass per new prompt and, when a prompt the
SAE trains on changed, a new SAE fit (most of a run's time). ``LiveSession`` turns a
stream of edits into as few runs as possible and reports each through one callback,
``on_update(LiveUpdate)``, called on its worker thread:

* every ``request`` gets a new *generation* number; a worker thread waits ``debounce_s``
  for more requests, then runs the newest only (older pending ones are dropped);
* when the run must fit a new SAE under the settings of the result reported last, a
  *preview* comes first: every prompt encoded with the most recent SAE of those settings
  (``Session.preview``, what the method does for any prompt it was not trained on),
  ``kind="preview"``; then the *final* result, ``kind="final"``. A settings or task
  change gets no preview: an SAE of other settings is not a preview of anything;
* a result is reported only while its generation is the newest, so a stale result never
  follows a newer one; a request that arrives while an SAE fit runs stops that fit (the
  engine's ``stop`` callback, polled every epoch) and the stopped run is reported as
  ``kind="cancelled"`` with its own, older generation: nothing to draw;
* a run that fails is reported as ``kind="failed"`` with one line (``failure_message``)
  and the exception; the caller keeps its last good result and the user's input.

Every model forward pass of the process goes under ``model_lock`` (an ``RLock``): the
runs here take it, and widgets take it for their own model calls (tokenising, the code
inspector, second opinions), since neither the model nor its tokenizer is safe to share
between threads. ``run`` is the same loop in the caller's thread, for scripts and tests.

Example:
    >>> live = LiveSession(load_model(), on_update=lambda u: print(u.kind))   # doctest: +SKIP
    >>> live.request(positives, negatives, recommended("ioi"))                # doctest: +SKIP
    1
    >>> live.wait()                                                           # doctest: +SKIP
    final
    True
    >>> live.close()                                                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..engine.discover import discover as engine_discover
from ..engine.result import CircuitResult
from ..engine.session import Session
from ..errors import Cancelled, SaeCircuitsError, SettingsTypeError
from ..settings import Settings
from ..tasks.task import Task

UPDATE_KINDS = ("preview", "final", "failed", "cancelled")
"""The kinds of ``LiveUpdate``."""


def failure_message(exc: BaseException) -> str:
    """One line for the page: a package error's own message; for any other exception its
    type and (shortened) message, and what to do when memory ran out.

    Example:
        >>> failure_message(MemoryError())
        'the run ran out of memory: lower n_features or n_train, or use fewer prompts (MemoryError)'
        >>> failure_message(KeyError("x"))
        "the run failed: KeyError: 'x'"
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, SaeCircuitsError):
        return text or type(exc).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    low = text.lower()
    if isinstance(exc, MemoryError) or "out of memory" in low or "not enough memory" in low:
        return f"the run ran out of memory: lower n_features or n_train, or use fewer prompts ({what})"
    return f"the run failed: {what}"


INTERRUPTED = "interrupted: the run was stopped before it finished"
"""The ``error`` of a run stopped by ``KeyboardInterrupt``."""


@dataclass
class LiveUpdate:
    """One report of the live loop to ``on_update``.

    Attributes:
        generation: the request it answers (``LiveSession.request`` returned it).
        kind: ``"preview"`` (the previous SAE's codes; the final result follows),
            ``"final"``, ``"failed"`` (``error`` says why) or ``"cancelled"`` (a run
            stopped because a newer request arrived; its generation is older than the
            session's, and there is nothing to draw).
        result: the result of a preview or final update, else ``None``.
        error: one line when failed (``failure_message``), else ``""``.
        exception: the exception of a failed run, if any.
        seconds: wall time from the start of the run (after the debounce) to this update.
        forward_prompts: prompts the run sent through the model (head-output cache misses).
    """

    generation: int
    kind: str
    result: Optional[CircuitResult]
    error: str = ""
    exception: Optional[BaseException] = None
    seconds: float = 0.0
    forward_prompts: int = 0


@dataclass(frozen=True)
class _Request:
    generation: int
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    settings: Settings
    task: Optional[Task]
    answers: Optional[tuple[str, ...]]


def _listed(value: Any) -> Any:
    """A request's prompts or answers as the engine takes them (a list; anything else as given)."""
    return list(value) if isinstance(value, tuple) else value


def _accepts_stop(method: Callable[..., Any]) -> bool:
    """True when a session's ``discover`` takes a ``stop`` callback: by name, or through
    ``**settings`` passed on to an engine ``discover`` that takes one."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    if "stop" in params:
        return True
    passes_on = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return passes_on and "stop" in inspect.signature(engine_discover).parameters


class LiveSession:
    """Owns the live loop: debounce, generation counter, preview then final runs, the model
    lock, cancellation of a running fit when a newer request arrives (see the module doc)."""

    def __init__(
        self,
        model: Any,
        on_update: Callable[[LiveUpdate], None],
        *,
        session: Optional[Session] = None,
        debounce_s: float = 0.05,
    ):
        """
        Args:
            model: a TransformerBridge (``load_model()``).
            on_update: called with each ``LiveUpdate``, on the worker thread (in the
                caller's thread for ``run``); never after ``close``.
            session: an engine ``Session`` to reuse (its head-output cache and fitted
                SAEs); its model must be ``model``.
            debounce_s: how long the worker waits for a further request before a run.

        Raises:
            ValueError: ``session`` holds another model, or ``debounce_s`` < 0.
            TypeError: ``on_update`` is not callable.
        """
        if session is not None and session.model is not model:
            raise ValueError("model and session.model differ: give the session's own model")
        if not callable(on_update):
            raise TypeError(f"on_update must be callable, got {type(on_update).__name__}")
        if not debounce_s >= 0:
            raise ValueError(f"debounce_s must be >= 0 seconds, got {debounce_s!r}")
        self.model = model
        self.on_update = on_update
        self.session: Session = session if session is not None else Session(model)
        """The engine cache: head outputs per prompt, fitted SAEs."""
        self.model_lock = threading.RLock()
        """Every model forward pass in the process goes under this lock."""
        self.generation = 0
        """The number of the newest request."""
        self.debounce_s = float(debounce_s)
        self._stop_supported = _accepts_stop(self.session.discover)
        self._wake = threading.Condition()  # guards everything below and ``generation``
        self._pending: Optional[_Request] = None
        self._pending_at = 0.0  # time.monotonic() of the newest request
        self._running = 0  # runs in progress (worker or ``run``)
        self._worker: Optional[threading.Thread] = None
        self._closed = False
        self._reported_fit: Optional[tuple] = None  # (task name, fit settings) of the last result reported

    # ------------------------------------------------------------------ requests

    def request(
        self, positives: Sequence[str], negatives: Sequence[str], settings: Settings, *,
        task: Optional[Task] = None, answers: Optional[Sequence[str]] = None,
    ) -> int:
        """Ask for a run on the worker thread; returns its generation at once.

        ``task``: the built-in task the prompts come from (its token sets score the
        model's behaviour when its prompts are these, unedited; it names the fit, so a
        task change gets no preview). ``answers``: one answer word per positive, for the
        behaviour check of your own prompts. After ``close`` nothing runs and the
        current generation is returned.
        """
        req = self._make(positives, negatives, settings, task, answers)
        with self._wake:
            if self._closed:
                return self.generation
            self.generation += 1
            self._pending = _Request(self.generation, *req)
            self._pending_at = time.monotonic()
            self._ensure_worker()
            self._wake.notify_all()
            return self.generation

    def run(
        self, positives: Sequence[str], negatives: Sequence[str], settings: Settings, *,
        task: Optional[Task] = None, answers: Optional[Sequence[str]] = None,
    ) -> CircuitResult:
        """Run now, in this thread, and return the final result; errors are raised.

        A new generation like ``request`` (any older run is superseded); ``on_update``
        gets the preview, final or failed update as from the worker. Raises what the
        engine raises (``PromptError``, ``SettingsError``, ...), ``Cancelled`` when a newer
        request stopped this run, and ``KeyboardInterrupt``.
        """
        req = self._make(positives, negatives, settings, task, answers)
        with self._wake:
            self.generation += 1
            request = _Request(self.generation, *req)
            self._running += 1
        try:
            result = self._run(request, raise_errors=True)
        finally:
            with self._wake:
                self._running -= 1
                self._wake.notify_all()
        if result is None:  # a newer request (another thread) superseded it before its refit
            raise Cancelled("the run was superseded by a newer request")
        return result

    @staticmethod
    def _make(positives: Any, negatives: Any, settings: Any, task: Any, answers: Any) -> tuple:
        """The request's fields, copied so later edits by the caller change nothing."""
        if not isinstance(settings, Settings):
            raise SettingsTypeError(f"settings must be a Settings (settings.recommended(...)), got {type(settings).__name__}")
        if task is not None and not isinstance(task, Task):
            raise SettingsTypeError(f"task must be a Task (from get_task), got {type(task).__name__}")
        copy = lambda v: tuple(v) if isinstance(v, (list, tuple)) else v  # noqa: E731 - anything else: the engine's checks say why
        return copy(positives), copy(negatives), settings, task, copy(answers)

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until no run is pending or in progress; False if ``timeout`` seconds pass first.

        From ``on_update`` (the worker thread) it cannot wait for its own run: it returns
        at once, True when no newer request is pending.
        """
        end = time.monotonic() + timeout
        with self._wake:
            if threading.current_thread() is self._worker:
                return self._pending is None
            while self._pending is not None or self._running:
                left = end - time.monotonic()
                if left <= 0 or (self._closed and self._pending is not None and self._running == 0):
                    return False
                self._wake.wait(left)
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker: a pending request is dropped, a running SAE fit is stopped
        (when the engine supports it), and ``on_update`` is not called again."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    @property
    def closed(self) -> bool:
        """True after ``close``."""
        return self._closed

    # ------------------------------------------------------------------ worker

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="sae-circuits-live", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    self._pending = None
                    self._wake.notify_all()
                    return
                # debounce: wait until no newer request for debounce_s (a request that
                # arrived while the previous run was busy has waited long enough already)
                while not self._closed:
                    left = self._pending_at + self.debounce_s - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                req, self._pending = self._pending, None
                if self._closed or req is None:
                    continue
                self._running += 1
            try:
                if self._is_newest(req.generation):
                    self._run(req, raise_errors=False)
            except BaseException as exc:  # the worker survives anything; the failure is reported
                with contextlib.suppress(BaseException):
                    self._emit(LiveUpdate(req.generation, "failed", None, failure_message(exc), exc))
            finally:
                with self._wake:
                    self._running -= 1
                    self._wake.notify_all()

    def _is_newest(self, generation: int) -> bool:
        return generation == self.generation and not self._closed

    def _emit(self, update: LiveUpdate, *, newest_only: bool = True) -> None:
        """Call ``on_update``, unless closed or (``newest_only``) superseded."""
        if self._closed or (newest_only and update.generation != self.generation):
            return
        self.on_update(update)

    # ------------------------------------------------------------------ one run

    def _run(self, req: _Request, *, raise_errors: bool) -> Optional[CircuitResult]:
        """Preview (when the run must refit) then final; report each; the final result."""
        t0 = time.perf_counter()
        before = self.session.forward_prompts
        fit = (req.task.name if req.task is not None else None, req.settings.fit_key())

        def update(kind: str, result: Optional[CircuitResult] = None, exc: Optional[BaseException] = None,
                   error: str = "") -> LiveUpdate:
            return LiveUpdate(req.generation, kind, result, error, exc, time.perf_counter() - t0,
                              self.session.forward_prompts - before)

        try:
            if fit == self._reported_fit:
                with self.model_lock:
                    preview = self._preview(req)
                if preview is not None and self._is_newest(req.generation):
                    self._emit(update("preview", preview))
            if not self._is_newest(req.generation):
                return None  # superseded: the newer request runs next, skip this refit
            with self.model_lock:
                result = self._discover(req)
            if not self._is_newest(req.generation):
                return result  # a newer request exists: never report a stale result
            self._reported_fit = fit
            self._emit(update("final", result))
            return result
        except Cancelled as exc:
            self._emit(update("cancelled", exc=exc, error=failure_message(exc)), newest_only=False)
            if raise_errors:
                raise
            return None
        except KeyboardInterrupt as exc:
            self._emit(update("failed", exc=exc, error=INTERRUPTED))
            if raise_errors:
                raise
            return None
        except Exception as exc:  # every failure is reported, in one line
            self._emit(update("failed", exc=exc, error=failure_message(exc)))
            if raise_errors:
                raise
            return None

    def _usable_task(self, req: _Request) -> Optional[Task]:
        """The request's task when its prompts are the request's (its token sets score them)."""
        task = req.task
        if task is not None and tuple(task.positives) == req.positives and tuple(task.negatives) == req.negatives:
            return task
        return None

    def _discover(self, req: _Request) -> CircuitResult:
        settings: dict[str, Any] = req.settings.to_dict()
        task = self._usable_task(req)
        if task is not None:
            settings["task"] = task
        if req.answers is not None:
            settings["answers"] = _listed(req.answers)
        if self._stop_supported:
            generation = req.generation
            settings["stop"] = lambda: self._closed or self.generation != generation
        return self.session.discover(_listed(req.positives), _listed(req.negatives), **settings)

    def _preview(self, req: _Request) -> Optional[CircuitResult]:
        """``Session.preview`` of the request (``None`` when the run needs no new fit).

        A usable task goes with it, as with the final run, so its token sets check the
        behaviour and the result carries its name: nothing shown changes between the two
        but the SAE.
        """
        settings: dict[str, Any] = req.settings.to_dict()
        task = self._usable_task(req)
        if task is not None:
            settings["task"] = task
        if req.answers is not None:
            settings["answers"] = _listed(req.answers)
        try:
            return self.session.preview(_listed(req.positives), _listed(req.negatives), **settings)
        except (SaeCircuitsError, ValueError, TypeError):
            return None  # the final run reports the problem

"""A discovery session: one model, a head-output cache, the latest result.

Editing prompts in a notebook or the widget re-runs discovery often. A ``Session`` keeps
every head-output vector it has computed, keyed by prompt text and position mode, so a
run after editing one prompt costs one forward pass. It also keeps its last fitted SAEs
(``SAECache``, 8 by default), keyed by the texts of the training prompts and the
settings that change the fit (position, seed, n_features, l1, recipe, device, and the
training vectors themselves): the fit is most of a run's time, and an edit of a prompt
outside the training set (chosen by index, so edits never move it) reuses the SAE, codes
and all. Editing a training prompt, or any fit setting, fits a new one.

While that new fit runs, ``preview`` gives a stand-in at the cost of an edit outside
the training set: every prompt encoded with the most recent SAE fitted under the same
settings. That is what the method does for every prompt the SAE was not trained on, so
the preview is a real discrete-SAE result, only with the previous training prompts.
It is the engine object the widgets hold; it knows nothing about widgets.

Example:
    >>> session = Session(load_model())                              # doctest: +SKIP
    >>> r = session.discover(["When Mary and John ...", ...], [...])  # doctest: +SKIP
    >>> session.forward_prompts                                       # doctest: +SKIP
    40
    >>> session.sae_fits                                              # doctest: +SKIP
    1
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import FileFormatError
from ..settings import FIT_FIELDS, member_seeds
from .activations import HeadOutputCache, attention_from_final, few_threads, head_outputs, is_small_model
from .discover import DEFAULTS, check_settings, discover, sae_fit_key, training_rows
from .result import CircuitResult
from .sae import DiscreteSAE, SAECache, code_meaning
from .serialization import FORMAT_VERSION, check_header, parse_json_text, read_json_file
from .validation import PromptIssue, check_saved_prompt_lists, validate_prompts


def _fit_settings_key(settings: dict[str, Any]) -> tuple:
    """The settings that make one SAE fit differ from another (not the prompts)."""
    return tuple((k, settings[k]) for k in FIT_FIELDS)


class Session:
    """Holds a model, its head-output cache and the last result.

    Thread-safe for the widget's use: runs are serialised by a lock, and
    ``last_result`` only ever holds a finished result.
    """

    def __init__(self, model: Any, max_saes: int = 8):
        self.model = model
        self.cache = HeadOutputCache()
        self.saes = SAECache(max_saes)
        self.last_result: Optional[CircuitResult] = None
        self.last_settings: dict[str, Any] = dict(DEFAULTS)
        self._lock = threading.Lock()
        # fit settings -> (training texts, SAE) of the latest run that fitted or reused one
        self._latest_sae: dict[tuple, tuple[tuple[str, ...], DiscreteSAE]] = {}

    @property
    def forward_prompts(self) -> int:
        """Prompts that went through the model so far (cache misses)."""
        return self.cache.forward_prompts

    @property
    def sae_fits(self) -> int:
        """SAEs fitted so far (runs that reused a kept SAE do not count)."""
        return self.saes.fits

    def validate(self, positives: Sequence[str], negatives: Sequence[str], answers: Optional[Sequence[str]] = None) -> list[PromptIssue]:
        """Per-prompt issues (see ``validation.validate_prompts``); never raises on text."""
        return validate_prompts(self.model, positives, negatives, answers)

    def head_outputs(self, prompts: Sequence[str], position: str = "mean"):
        """``[P, heads, d_model]`` head outputs through this session's cache."""
        return head_outputs(self.model, prompts, position, cache=self.cache)

    def discover(self, positives: Sequence[str], negatives: Sequence[str], **settings: Any) -> CircuitResult:
        """Run ``discover`` on these prompts, reusing cached head outputs.

        ``settings`` are ``discover``'s keyword arguments (seed, n_features, l1,
        position, recipe, n_train, edges, answers, sae, stop). Without ``sae=``, the SAE is
        taken from the session's kept fits when the training prompts and fit settings
        are unchanged (``result.sae_run.source == "cache"``).
        """
        unknown = set(settings) - set(DEFAULTS) - {"answers", "task", "sae", "stop"}
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        task = settings.pop("task", None)
        with self._lock:
            if task is not None:
                result = discover(self.model, task, cache=self.cache, sae_cache=self.saes, **settings)
            else:
                result = discover(
                    self.model, positives=positives, negatives=negatives, cache=self.cache,
                    sae_cache=self.saes, **settings,
                )
            self.last_result = result
            self.last_settings = {k: result.settings.get(k, v) for k, v in DEFAULTS.items()}
            run = result.sae_run
            rows = run.train_rows if run is not None else None
            fitted = run is not None and run.source in ("fit", "cache")
            if fitted and rows is not None and result.prompts is not None and result.sae is not None:
                key = _fit_settings_key(result.settings)
                self._latest_sae[key] = (tuple(result.prompts[i] for i in rows), result.sae)
        return result

    def preview(self, positives: Sequence[str], negatives: Sequence[str], **settings: Any) -> Optional[CircuitResult]:
        """A quick stand-in for a run that has to fit a new SAE, or ``None``.

        When ``discover`` with these prompts and settings would fit a new SAE (a training
        prompt was edited, or prompts were added), this encodes every prompt with the most
        recent SAE fitted under the same fit settings (seed, n_features, l1, position,
        recipe, n_train) instead: one forward pass for each new prompt and no fit. The
        result has ``sae_run.preview == True`` and ``sae_run.source == "given"``; it does not
        become ``last_result``. ``None`` when there is nothing to preview: the run would
        reuse a kept SAE (it is fast anyway), no SAE was fitted under these settings yet
        (a settings change), or ``sae=`` is given. With ``task=``, the task's prompts are
        the ones encoded and its token sets check the behaviour, as in :meth:`discover`.
        Errors are ``discover``'s.

        Example:
            >>> session.discover(pos, neg)                    # doctest: +SKIP
            >>> pos[train_row] = "When Anna and Tom ..."      # doctest: +SKIP
            >>> quick = session.preview(pos, neg)             # doctest: +SKIP
            >>> final = session.discover(pos, neg)            # doctest: +SKIP
        """
        unknown = set(settings) - set(DEFAULTS) - {"answers", "task", "sae"}
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        if settings.get("sae") is not None:
            return None
        task = settings.get("task")
        if task is not None:
            positives, negatives = list(task.positives), list(task.negatives)
        fit = check_settings(**{k: settings.get(k, DEFAULTS[k]) for k in FIT_FIELDS})
        first = {**fit, "seed": member_seeds(fit["seed"], fit["n_saes"])[0]}  # the SAE a preview reuses
        with self._lock:
            latest = self._latest_sae.get(_fit_settings_key(fit))
            if latest is None:
                return None
            prompts = [*positives, *negatives]
            is_positive = np.array([True] * len(positives) + [False] * len(negatives))
            texts = tuple(prompts[i] for i in training_rows(is_positive, first["n_train"], first["seed"], first["recipe"]))
            if texts == latest[0] or not all(isinstance(p, str) for p in texts):
                return None  # the same training prompts: the run reuses the kept SAE
            with few_threads(is_small_model(self.model)):
                x_train = head_outputs(self.model, list(texts), fit["position"], cache=self.cache)
            key = sae_fit_key(self.model, list(texts), x_train.reshape(-1, x_train.shape[-1]), first)
            if key in self.saes:
                return None  # these training prompts were fitted before: the run reuses that SAE
            rest = {k: v for k, v in settings.items() if k in ("edges", "answers")}
            prompts_of = {"task": task} if task is not None else {"positives": positives, "negatives": negatives}
            result = discover(
                self.model, **prompts_of, cache=self.cache, sae=latest[1], seed=fit["seed"],
                position=fit["position"], n_train=fit["n_train"], **rest,
            )
        if result.sae_run is not None:
            result.sae_run.preview = True
        return result

    def code_meaning(self, feature: int, k: int = 8, result: Optional[CircuitResult] = None) -> list[tuple[str, float]]:
        """Top tokens a code's SAE feature writes through the unembedding."""
        result = result or self.last_result
        if result is None or result.sae is None:
            raise ValueError("no SAE yet: run session.discover(...) first")
        return code_meaning(self.model, result.sae, feature, k)

    def attention_from_final(self, prompt: str, layer: int, head: int):
        """(tokens, weights) of one head's attention from the last position."""
        return attention_from_final(self.model, prompt, layer, head)

    # ------------------------------------------------------------------ saving

    def to_json(self, path: Any = None, positives: Optional[Sequence[str]] = None, negatives: Optional[Sequence[str]] = None) -> str:
        """Save prompts, settings and the last result (no weights) as JSON."""
        result = self.last_result
        if positives is None and result is not None and result.prompts is not None and result.is_positive is not None:
            positives = [p for p, f in zip(result.prompts, result.is_positive) if f]
            negatives = [p for p, f in zip(result.prompts, result.is_positive) if not f]
        data = {
            "format": "sae-circuits/session",
            "format_version": FORMAT_VERSION,
            "positives": list(positives or []),
            "negatives": list(negatives or []),
            "settings": {k: v for k, v in self.last_settings.items()},
            "result": None if result is None else result.to_dict(),
        }
        text = json.dumps(data)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @staticmethod
    def read_saved(path: Any) -> dict[str, Any]:
        """Read a saved session from a file: ``{"positives", "negatives", "settings",
        "result", "unsaved_edit"}``.

        ``path`` is a path (``str`` or ``os.PathLike``; a ``str`` is always a path, even
        ``"[draft] circuit.json"``) or an open file. For JSON text use ``read_saved_text``.
        ``positives`` and ``negatives`` are the prompts ``result`` was computed from.
        ``unsaved_edit`` is ``None``, or the prompts (and settings) on screen when the
        file was saved that had not given a result (e.g. an unknown word):
        ``{"positives", "negatives", "settings", "error"}``; they are kept apart, never
        taken for the result's prompts.

        Raises ``FileFormatError`` if the file is missing, truncated, not a session, or newer.
        """
        return Session._from_data(read_json_file(path, "Session.read_saved_text(text)"))

    @staticmethod
    def read_saved_text(text: Any) -> dict[str, Any]:
        """``read_saved`` for JSON text (what ``to_json()`` returns) instead of a file."""
        return Session._from_data(parse_json_text(text))

    @staticmethod
    def _from_data(data: Any) -> dict[str, Any]:
        check_header(data, "session")
        for side in ("positives", "negatives"):  # texts as saved, never coerced or split
            texts = data.get(side)
            if not isinstance(texts, list) or not all(isinstance(p, str) for p in texts):
                raise FileFormatError(
                    f"the saved session's {side} are missing or not a list of texts; the file is "
                    "damaged: save the session again from the notebook"
                )
        check_saved_prompt_lists(positives=data["positives"], negatives=data["negatives"])
        edit = data.get("unsaved_edit")
        if isinstance(edit, dict):
            check_saved_prompt_lists(
                "saved session's unsaved edit", positives=edit.get("positives"), negatives=edit.get("negatives")
            )
        if edit is not None:
            ok = isinstance(edit, dict) and all(
                isinstance(edit.get(side), list) and all(isinstance(p, str) for p in edit[side])
                for side in ("positives", "negatives")
            ) and isinstance(edit.get("settings", {}), dict)
            if not ok:
                raise FileFormatError(
                    "the saved session's unsaved_edit is not {\"positives\": [...], \"negatives\": [...]} "
                    "of texts; the file is damaged: save the session again from the notebook"
                )
            edit = {
                "positives": list(edit["positives"]),
                "negatives": list(edit["negatives"]),
                "settings": dict(edit.get("settings") or {}),
                "error": str(edit.get("error") or ""),
            }
        try:
            out = {
                "positives": list(data["positives"]),
                "negatives": list(data["negatives"]),
                "settings": dict(data.get("settings") or {}),
                "result": None if data.get("result") is None else CircuitResult.from_dict(data["result"]),
                "unsaved_edit": edit,
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"the saved session is incomplete ({type(exc).__name__}: {exc})") from None
        return out

    @classmethod
    def load(cls, model: Any, path: Any) -> tuple["Session", dict[str, Any]]:
        """A new session on ``model`` with a saved session's result restored.

        ``path``: a path or an open file (see ``read_saved``); for JSON text use ``loads``.
        Returns ``(session, saved)``, ``saved`` as ``read_saved`` gives it.
        """
        return cls._restore(model, cls.read_saved(path))

    @classmethod
    def loads(cls, model: Any, text: Any) -> tuple["Session", dict[str, Any]]:
        """``load`` for JSON text (what ``to_json()`` returns) instead of a file."""
        return cls._restore(model, cls.read_saved_text(text))

    @classmethod
    def _restore(cls, model: Any, saved: dict[str, Any]) -> tuple["Session", dict[str, Any]]:
        session = cls(model)
        session.last_result = saved["result"]
        session.last_settings = {**DEFAULTS, **{k: v for k, v in saved["settings"].items() if k in DEFAULTS}}
        return session, saved

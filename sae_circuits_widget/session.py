"""A discovery session: one model, a head-output cache, the latest result.

Editing prompts in a notebook or the widget re-runs discovery often. A ``Session`` keeps
every head-output vector it has computed, keyed by prompt text and position mode, so a
run after editing one prompt costs one forward pass. It also keeps its last fitted SAEs
(``SAECache``, 8 by default), keyed by the texts of the training prompts and the
settings that change the fit (position, seed, n_features, l1, recipe, device, and the
training vectors themselves): the fit is most of a run's time, and an edit of a prompt
outside the training set (chosen by index, so edits never move it) reuses the SAE, codes
and all. Editing a training prompt, or any fit setting, fits a new one.
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

from .activations import HeadOutputCache, attention_from_final, head_outputs
from .discover import DEFAULTS, discover
from .result import CircuitResult
from .sae import SAECache, code_meaning
from .serialization import FORMAT_VERSION, check_header, read_json_text, result_from_dict, result_to_dict
from .errors import FileFormatError
from .validation import PromptIssue, validate_prompts


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
        position, recipe, n_train, edges, answers, sae). Without ``sae=``, the SAE is
        taken from the session's kept fits when the training prompts and fit settings
        are unchanged (``result.extras["sae_source"] == "cache"``).
        """
        unknown = set(settings) - set(DEFAULTS) - {"answers", "task", "sae"}
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
            self.last_settings = {**DEFAULTS, **{k: v for k, v in settings.items() if k in DEFAULTS}}
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
        if positives is None and result is not None and result.prompts is not None:
            positives = [p for p, f in zip(result.prompts, result.is_positive) if f]
            negatives = [p for p, f in zip(result.prompts, result.is_positive) if not f]
        data = {
            "format": "sae-circuits/session",
            "format_version": FORMAT_VERSION,
            "positives": list(positives or []),
            "negatives": list(negatives or []),
            "settings": {k: v for k, v in self.last_settings.items()},
            "result": None if result is None else result_to_dict(result),
        }
        text = json.dumps(data)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @staticmethod
    def read_saved(text_or_path: Any) -> dict[str, Any]:
        """Parse a saved session: ``{"positives", "negatives", "settings", "result"}``.

        Raises ``FileFormatError`` if the file is truncated, not a session, or newer.
        """
        data = read_json_text(text_or_path)
        check_header(data, "session")
        try:
            out = {
                "positives": [str(p) for p in data["positives"]],
                "negatives": [str(p) for p in data["negatives"]],
                "settings": dict(data.get("settings") or {}),
                "result": None if data.get("result") is None else result_from_dict(data["result"]),
            }
        except (KeyError, TypeError) as exc:
            raise FileFormatError(f"the saved session is incomplete ({type(exc).__name__}: {exc})") from None
        return out

    @classmethod
    def load(cls, model: Any, text_or_path: Any) -> tuple["Session", dict[str, Any]]:
        """A new session on ``model`` with a saved session's result restored."""
        saved = cls.read_saved(text_or_path)
        session = cls(model)
        session.last_result = saved["result"]
        session.last_settings = {**DEFAULTS, **{k: v for k, v in saved["settings"].items() if k in DEFAULTS}}
        return session, saved

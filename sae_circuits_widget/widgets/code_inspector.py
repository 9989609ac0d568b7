"""CodeInspector: the discrete SAE's codes for one head, and what they mean.

For the selected head, every prompt has one code (its active SAE feature, -1 = none).
The inspector lists them in a positive and a negative column and highlights codes that
occur only on positives — the head's evidence of task-specific work, which is exactly
what the node score counts. For each code it shows what the feature writes (the tokens
its decoder direction promotes through the unembedding ``W_U``, via the engine's
``code_meaning``) and which prompts share it, and for a chosen prompt the head's
attention from the final token.

Example:
    >>> inspector = CodeInspector(model, result, head=(1, 2))   # doctest: +SKIP
    >>> inspector.positive_only                                  # doctest: +SKIP
    [17, 42]
"""

from __future__ import annotations

from typing import Any, Optional, Union

import anywidget
import numpy as np
import traitlets as t

from ..engine.activations import attention_from_final
from ..engine.result import CircuitResult
from ..engine.sae import code_meaning
from ..engine.scoring import code_sets
from ._common import (
    bundle,
    check_kwargs,
    float32_bytes,
    from_int32_bytes,
    head_name,
    int32_bytes,
    sae_run_value,
)

HeadRef = Union[int, tuple[int, int]]


class CodeInspector(anywidget.AnyWidget):
    """Codes of one head on every prompt, their meanings, and its attention pattern."""

    _esm = bundle("code_inspector")

    head = t.Int(-1).tag(sync=True)
    """Shown head as a flat index (``layer * n_heads + head``); -1 for none."""
    head_label = t.Unicode("").tag(sync=True)
    """The head's name, e.g. ``"L1.H2"``."""
    prompts = t.List(t.Unicode()).tag(sync=True)
    """Prompt texts, positives first, aligned with ``codes``."""
    is_positive = t.List(t.Bool()).tag(sync=True)
    """True for positive prompts."""
    codes = t.Bytes(b"").tag(sync=True)
    """Each prompt's code at this head, little-endian int32 (-1 = no code)."""
    positive_only = t.List(t.Int()).tag(sync=True)
    """Codes seen on positives and never on negatives at this head."""
    meanings = t.List(t.Dict()).tag(sync=True)
    """Per code present: ``{"code": int, "top_tokens": [str, ...]}``."""
    attention_prompt = t.Int(-1).tag(sync=True)
    """Index of the prompt whose attention is shown (set by clicking a prompt)."""
    attention_tokens = t.List(t.Unicode()).tag(sync=True)
    """That prompt's tokens."""
    attention_weights = t.Bytes(b"").tag(sync=True)
    """Attention from the final token to each token, little-endian float32."""
    edges = t.List(t.Dict()).tag(sync=True)
    """Strongest edges of this head, ``{"sender", "receiver", "score"}`` (edge mode)."""
    message = t.Unicode("Click a head in the grid to see its codes.").tag(sync=True)
    """A note shown above the codes."""

    _TRAITS = ("message",)

    def __init__(
        self,
        model: Any = None,
        result: Optional[CircuitResult] = None,
        head: Optional[HeadRef] = None,
        *,
        n_meaning_tokens: int = 6,
        show_edges: bool = False,
        **traits: Any,
    ):
        check_kwargs("CodeInspector", traits, self._TRAITS)
        self._attention_cache: dict[tuple[str, int, int], tuple[list[str], Any]] = {}
        self._meaning_sae: Any = None
        self._meaning_cache: dict[int, list[str]] = {}
        super().__init__(**traits)
        self._model = model
        self._result: Optional[CircuitResult] = None
        self._k = int(n_meaning_tokens)
        self._show_edges = bool(show_edges)
        if result is not None:
            self.show(result, head if head is not None else (result.top_heads(1) or [(0, 0)])[0])  # (0, 0) when no head scored

    def _flat(self, head: HeadRef, n_layers: int, n_heads: int) -> int:
        if isinstance(head, (tuple, list)):
            layer, h = (int(x) for x in head)
            if not (0 <= layer < n_layers and 0 <= h < n_heads):
                raise ValueError(f"head {tuple(head)} does not exist: layers 0-{n_layers - 1}, heads 0-{n_heads - 1}")
            return layer * n_heads + h
        idx = int(head)
        if not 0 <= idx < n_layers * n_heads:
            raise ValueError(f"head index {idx} does not exist: use 0-{n_layers * n_heads - 1} or (layer, head)")
        return idx

    def show(self, result: CircuitResult, head: Optional[HeadRef], *, show_edges: Optional[bool] = None) -> None:
        """Show ``head`` (flat index or (layer, head)) of ``result``; None clears the view."""
        if show_edges is not None:
            self._show_edges = bool(show_edges)
        self._result = result
        if head is None or result.codes is None or result.prompts is None:
            with self.hold_sync():
                self.head = -1
                self.head_label = ""
                self.prompts, self.is_positive, self.codes = [], [], b""
                self.positive_only, self.meanings, self.edges = [], [], []
                self.attention_tokens, self.attention_weights = [], b""
                self.message = (
                    "Click a head in the grid to see its codes." if result.codes is not None
                    else f"{result.method} gives no codes; only the discrete SAE does."
                )
            return
        n_layers, n_heads = result.n_layers, result.n_heads
        idx = self._flat(head, n_layers, n_heads)
        codes = np.asarray(result.codes)[:, idx]
        is_pos = np.asarray(result.is_positive, dtype=bool)
        sets = code_sets(result.codes, is_pos, idx)
        present = sorted(set(int(c) for c in codes if c >= 0))
        meanings = [{"code": c, "top_tokens": self._meaning(result, c)} for c in present]
        edges = self._edges(result, idx) if self._show_edges else []
        keep_prompt = 0 <= self.attention_prompt < len(result.prompts) and list(result.prompts) == list(self.prompts)
        with self.hold_sync():
            self.head = idx
            self.head_label = head_name(idx, n_heads)
            self.prompts = list(result.prompts)
            self.is_positive = [bool(x) for x in is_pos]
            self.codes = int32_bytes(codes)
            self.positive_only = list(sets["unique_positive"])
            self.meanings = meanings
            self.edges = edges
            n_saes = int(sae_run_value(result, "n_saes", 1) or 1)
            scores = np.asarray(result.node_scores).reshape(-1)
            self.message = (
                f"Codes of the first of {n_saes} SAEs; the head's score in the grid "
                f"({scores[idx]:.2g}) is the mean of its counts under each."
                if n_saes > 1 else ""
            )
            if not keep_prompt:
                self.attention_prompt = 0 if len(result.prompts) else -1
            self._load_attention()

    def _meaning(self, result: CircuitResult, code: int) -> list[str]:
        """Top tokens of ``code`` (one SAE serves every head, so they are kept per SAE)."""
        if self._model is None or result.sae is None:
            return []
        if self._meaning_sae is not result.sae:
            self._meaning_sae, self._meaning_cache = result.sae, {}
        if code not in self._meaning_cache:
            self._meaning_cache[code] = [tok for tok, _ in code_meaning(self._model, result.sae, code, self._k)]
        return self._meaning_cache[code]

    def _edges(self, result: CircuitResult, idx: int, k: int = 5) -> list[dict[str, Any]]:
        if result.edge_scores is None:
            return []
        e = np.asarray(result.edge_scores, dtype=np.float64)
        n_heads = result.n_heads
        out = [(float(e[idx, j]), idx, j) for j in range(e.shape[0]) if j != idx]
        out += [(float(e[j, idx]), j, idx) for j in range(e.shape[0]) if j != idx]
        out = sorted((x for x in out if x[0] > 0), key=lambda x: (-x[0], x[1], x[2]))[:k]
        return [{"sender": head_name(s, n_heads), "receiver": head_name(r, n_heads), "score": v} for v, s, r in out]

    @t.observe("attention_prompt")
    def _on_attention_prompt(self, change: Any) -> None:
        self._load_attention()

    def _load_attention(self) -> None:
        i = self.attention_prompt
        if self._model is None or self.head < 0 or not (0 <= i < len(self.prompts)):
            self.attention_tokens, self.attention_weights = [], b""
            return
        n_heads = int(self._model.cfg.n_heads)
        layer, h = divmod(self.head, n_heads)
        key = (self.prompts[i], layer, h)
        if key not in self._attention_cache:
            if len(self._attention_cache) > 256:
                self._attention_cache.clear()
            self._attention_cache[key] = attention_from_final(self._model, self.prompts[i], layer, h)
        tokens, weights = self._attention_cache[key]
        with self.hold_sync():
            self.attention_tokens = [str(x) for x in tokens]
            self.attention_weights = float32_bytes(weights)

    @property
    def code_of_prompt(self) -> list[int]:
        """Each prompt's code at the shown head (-1 = no code)."""
        return from_int32_bytes(self.codes).tolist()

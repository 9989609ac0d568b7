"""Per-head outputs: what each attention head writes into the residual stream.

A head's contribution at a position is its attention-weighted value vector ``z`` (the
``blocks.L.attn.hook_z`` hook, ``[d_head]``) times its slice of the output matrix
``W_O[L, h]`` (``[d_head, d_model]``): a ``d_model`` vector. Summed over heads, plus the
output bias, it is the attention layer's output. This is what
``ActivationCache.stack_head_results`` returns in TransformerLens.

The discrete-SAE method needs one vector per (prompt, head). Two reductions:

* ``position="mean"`` (the paper's choice): the mean over the prompt's token positions.
  The ``<bos>`` position is left out: every head's output there is the same for every
  prompt (it can only attend to ``<bos>``), so it carries no information and would only
  pull short prompts towards a shared constant. Because the map ``z -> z @ W_O`` is
  linear, we average ``z`` first and multiply once.
* ``position="last"``: the final token, where the next-token prediction is made.

Prompts are grouped by token length and run in batches without padding (no padded
position ever enters a mean), under ``torch.no_grad()``. Results are cached per
(model, weights version, prompt text, position): editing one prompt in the widget costs
one forward pass. The cache notices in-place weight edits through the parameters'
version counters and drops stale entries.

Memory: a batch's activations are reduced to one ``[n_heads_total, d_model]`` float32
row per prompt as soon as its forward pass ends (12 KB a prompt on the bundled model,
432 KB on GPT-2 small), so a run holds the ``[prompts, heads, d_model]`` result and
one batch's hooks, never every prompt's full activations. The cache holds at most
``CACHE_MAX_BYTES`` per model (least recently used prompts dropped first), so a long
session does not keep every prompt it ever saw.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, Optional

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from ..errors import NonFiniteActivationsError, PromptError
from .model import check_hookable

POSITIONS = ("mean", "last")
FINITE_CHUNK = 1024
"""Prompts checked for NaN/inf at a time (``check_finite``)."""
CACHE_MAX_BYTES = 512 * 2**20
"""Most bytes of head outputs a ``HeadOutputCache`` keeps per model (all of 10,000
prompts per side on the bundled model; about 1,200 prompts on GPT-2 small)."""


@contextmanager
def few_threads(small: bool):
    """Run small CPU work on one thread. Tiny matrix ops gain nothing from more threads
    and, on a machine whose cores are busy, slow down many-fold waiting for each other."""
    if not small:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def is_small_model(model: Any) -> bool:
    try:
        device = next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        return True
    return device.type == "cpu" and int(model.cfg.d_model) * int(model.cfg.n_layers) <= 4096


def _weights_version(model: Any) -> int:
    """Sum of the parameters' in-place version counters: changes when weights are edited."""
    return int(sum(p._version for p in model.parameters()))


class _ModelEntries:
    """One model's cached head outputs, least recently used first, and their bytes."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.items: "OrderedDict[tuple[str, str], Tensor]" = OrderedDict()
        self.nbytes = 0


class HeadOutputCache:
    """Head-output vectors per (model, prompt text, position), one ``[n_heads_total, d_model]``
    CPU tensor each, at most ``max_bytes`` per model (least recently used dropped first;
    ``None``: no bound). Thread-safe; models are held weakly.

    Example:
        >>> cache = HeadOutputCache()
        >>> x = head_outputs(model, ["When Mary and John went"], cache=cache)  # doctest: +SKIP
        >>> len(cache)  # doctest: +SKIP
        1
    """

    def __init__(self, max_bytes: Optional[int] = CACHE_MAX_BYTES) -> None:
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
            raise ValueError(f"max_bytes must be a whole number of bytes >= 0 or None, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._store: "weakref.WeakKeyDictionary[Any, _ModelEntries]" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.forward_prompts = 0
        """How many prompts have gone through the model (cache misses), for tests/benchmarks."""

    def _entries(self, model: Any) -> _ModelEntries:
        version = _weights_version(model)
        held = self._store.get(model)
        if held is None or held.version != version:
            held = _ModelEntries(version)
            self._store[model] = held
        return held

    def get_many(self, model: Any, prompts: Sequence[str], position: str) -> dict[str, Tensor]:
        with self._lock:
            held = self._entries(model)
            found = {}
            for p in prompts:
                v = held.items.get((p, position))
                if v is not None:
                    held.items.move_to_end((p, position))
                    found[p] = v
            return found

    def put_many(self, model: Any, values: dict[str, Tensor], position: str) -> None:
        with self._lock:
            held = self._entries(model)
            for p, v in values.items():
                old = held.items.pop((p, position), None)
                if old is not None:
                    held.nbytes -= _nbytes(old)
                held.items[(p, position)] = v
                held.nbytes += _nbytes(v)
            while self.max_bytes is not None and held.nbytes > self.max_bytes and held.items:
                _, dropped = held.items.popitem(last=False)
                held.nbytes -= _nbytes(dropped)
            self.forward_prompts += len(values)

    def nbytes(self, model: Any = None) -> int:
        """Bytes of head outputs held (for ``model``, or for every model)."""
        with self._lock:
            if model is not None:
                held = self._store.get(model)
                return 0 if held is None else held.nbytes
            return sum(h.nbytes for h in self._store.values())

    def clear(self) -> None:
        with self._lock:
            self._store = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(h.items) for h in self._store.values())


def _nbytes(t: Tensor) -> int:
    return int(t.numel()) * int(t.element_size())


DEFAULT_CACHE = HeadOutputCache()
"""The cache ``head_outputs`` uses unless given another (``use_cache=False`` bypasses it)."""


def _prepends_bos(model: Any, tokens: Tensor) -> bool:
    bos = getattr(getattr(model, "tokenizer", None), "bos_token_id", None)
    return bos is not None and bool(getattr(model.cfg, "default_prepend_bos", True)) and int(tokens[0]) == bos


@torch.no_grad()
def _compute(model: Any, prompts: list[str], position: str, batch_size: int) -> dict[str, Tensor]:
    """Run the model on ``prompts`` (batched by token length) and reduce per head."""
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    W_O = model.W_O.detach()  # [L, H, d_head, d_model]
    hook_names = [f"blocks.{layer}.attn.hook_z" for layer in range(n_layers)]
    token_rows = {p: model.to_tokens(p, truncate=False)[0] for p in prompts}
    n_ctx = int(getattr(model.cfg, "n_ctx", 0) or 0)
    too_long = [p for p, t in token_rows.items() if n_ctx and t.shape[0] > n_ctx]
    if too_long:
        raise PromptError(
            f"{len(too_long)} prompt(s) are longer than the model's context of {n_ctx} tokens "
            f"(first: {too_long[0][:60]!r}...); shorten them"
        )
    by_length: dict[int, list[str]] = defaultdict(list)
    for p, toks in token_rows.items():
        by_length[int(toks.shape[0])].append(p)

    out: dict[str, Tensor] = {}
    for length in sorted(by_length):
        group = by_length[length]
        for start in range(0, len(group), batch_size):
            chunk = group[start : start + batch_size]
            tokens = torch.stack([token_rows[p] for p in chunk])
            skip_bos = _prepends_bos(model, tokens[0]) and length > 1
            captured: dict[str, Tensor] = {}

            def grabber(name: str):
                # bind the hook point's name: bridges may report an aliased hook.name
                def grab(z: Tensor, hook: Any) -> Tensor:  # z: [batch, pos, head, d_head]
                    if position == "last":
                        captured[name] = z[:, -1].detach()
                    else:
                        captured[name] = z[:, 1 if skip_bos else 0 :].mean(dim=1).detach()
                    return z

                return grab

            model.run_with_hooks(tokens, fwd_hooks=[(name, grabber(name)) for name in hook_names])
            z = torch.stack([captured[name] for name in hook_names], dim=1)  # [b, L, H, d_head]
            per_head = torch.einsum("blhd,lhdm->blhm", z.to(W_O.dtype), W_O)
            per_head = per_head.reshape(len(chunk), n_layers * n_heads, -1).float().cpu()
            for i, p in enumerate(chunk):
                out[p] = per_head[i].clone()
    return out


def head_outputs(
    model: Any,
    prompts: Sequence[str],
    position: str = "mean",
    *,
    batch_size: int = 64,
    cache: Optional[HeadOutputCache] = None,
    use_cache: bool = True,
) -> Float[Tensor, "prompts heads d_model"]:
    """Each head's residual-stream contribution for each prompt.

    Args:
        model: a TransformerBridge.
        prompts: prompt texts (the model's tokenizer adds ``<bos>``).
        position: ``"mean"`` over positions (``<bos>`` excluded) or ``"last"`` position.
        batch_size: prompts per forward pass (prompts of one token length per batch).
        cache: where to keep results (default: a module-wide cache).
        use_cache: ``False`` to always recompute.

    Returns:
        ``[len(prompts), n_layers * n_heads, d_model]`` float32 on the CPU; head
        ``layer * n_heads + h``.

    Raises:
        NonFiniteActivationsError: some outputs are NaN or infinite (names the prompts).

    Example:
        >>> x = head_outputs(model, ["When Mary and John went to the store"])  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        torch.Size([1, 32, 64])
    """
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
    check_hookable(model)
    prompts = list(prompts)
    cache = DEFAULT_CACHE if cache is None else cache
    found = cache.get_many(model, prompts, position) if use_cache else {}
    missing = list(dict.fromkeys(p for p in prompts if p not in found))
    if missing:
        with few_threads(is_small_model(model)):
            fresh = _compute(model, missing, position, batch_size)
        bad = [p for p, v in fresh.items() if not torch.isfinite(v).all()]
        if bad:
            shown = "; ".join(repr(p[:60]) for p in bad[:3])
            raise NonFiniteActivationsError(
                f"head outputs are NaN or infinite for {len(bad)} prompt(s) ({shown}). "
                "The model's weights or inputs produce non-finite values; check the model "
                "(e.g. load it in float32) before running discovery."
            )
        if use_cache:
            cache.put_many(model, fresh, position)
        found = {**found, **fresh}
    n_total = int(model.cfg.n_layers) * int(model.cfg.n_heads)
    if not prompts:
        return torch.zeros(0, n_total, int(model.cfg.d_model))
    return torch.stack([found[p] for p in prompts])


def check_finite(x: Tensor, prompts: Optional[Sequence[str]] = None) -> None:
    """Raise ``NonFiniteActivationsError`` if ``x`` ``[P, heads, d_model]`` has NaN/inf.

    Checked ``FINITE_CHUNK`` prompts at a time: ``isfinite`` on the whole tensor makes
    temporaries several times its size."""
    finite = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    for start in range(0, x.shape[0], FINITE_CHUNK):
        part = x[start : start + FINITE_CHUNK]
        finite[start : start + FINITE_CHUNK] = torch.isfinite(part).reshape(part.shape[0], -1).all(dim=1)
    if bool(finite.all()):
        return
    rows = (~finite).nonzero().flatten().tolist()
    names = [repr(prompts[i][:60]) for i in rows[:3]] if prompts is not None else [str(i) for i in rows[:3]]
    raise NonFiniteActivationsError(
        f"head outputs are NaN or infinite for {len(rows)} prompt(s) ({'; '.join(names)}); "
        "scores from them would be meaningless. Check the model's weights and dtype."
    )


@torch.no_grad()
def attention_from_final(model: Any, prompt: str, layer: int, head: int) -> tuple[list[str], np.ndarray]:
    """Where one head attends from the final position of ``prompt``.

    Returns:
        (tokens as strings incl. ``<bos>``, attention weights ``[n_tokens]`` summing to 1).

    Example:
        >>> toks, w = attention_from_final(model, "When Mary and John went", 1, 0)  # doctest: +SKIP
        >>> len(toks) == len(w)  # doctest: +SKIP
        True
    """
    check_hookable(model)
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise ValueError(
            f"head ({layer}, {head}) does not exist: layers 0-{n_layers - 1}, heads 0-{n_heads - 1}"
        )
    tokens = model.to_tokens(prompt)
    captured: dict[str, Tensor] = {}

    def grab(pattern: Tensor, hook: Any) -> Tensor:  # [batch, head, q, k]
        captured["p"] = pattern[0, head, -1].detach().float().cpu()
        return pattern

    model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.attn.hook_pattern", grab)])
    return list(model.to_str_tokens(prompt)), captured["p"].numpy()

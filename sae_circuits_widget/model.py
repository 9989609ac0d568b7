"""Loading models, and the head geometry the engine relies on.

``load_model()`` with no name returns the bundled model organism: offline, from files
shipped in the package. A Hugging Face name ("gpt2", "EleutherAI/pythia-70m") goes
through ``TransformerBridge.boot_transformers`` (``device_map=`` is passed through to
spread a large model over several GPUs); a TransformerLens legacy name
("attn-only-4l", "NeelNanda/Attn_Only_4L512W_C4_Code") goes through ``boot_tl_legacy``.

Pretrained names need the Hugging Face hub unless the files are already in the local
cache. Before anything is downloaded, ``load_model`` checks that: offline mode set in
the environment, or a hub that does not answer a short connection probe, stops the load
at once with a message that points to the bundled model, instead of a hang or a stack
trace from inside a library.

Heads are numbered ``layer * n_heads + head`` everywhere in this package
(``head_index``); ``head_label`` prints them as ``"L5H1"``.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Optional
from urllib.parse import urlparse

from .errors import ModelLoadError, OfflineError, UnsupportedModelError

ORGANISM_NAMES = ("sae-circuits-organism", "organism", "bundled")
"""Names that select the bundled model (as does ``name=None``)."""

_TL_LEGACY_PREFIXES = ("NeelNanda/", "ArthurConmy/", "Baidicoot/")
_PROBE_TIMEOUT_S = 1.5


def load_model(name: Optional[str] = None, device: Optional[str] = None, **kwargs: Any):
    """Load a model as a TransformerLens ``TransformerBridge``.

    Args:
        name: ``None`` (the bundled organism), a Hugging Face name, or a TransformerLens
            alias such as ``"attn-only-4l"``.
        device: ``"cpu"``, ``"cuda"``, ... (``None``: the library's default). Use
            ``device_map="auto"`` instead to spread a big model over several GPUs.
        **kwargs: passed to ``boot_transformers`` / ``boot_tl_legacy`` (``dtype``,
            ``device_map``, ``revision``, ...).

    Example:
        >>> model = load_model()          # the bundled model, offline
        >>> model.cfg.n_layers > 0
        True
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"model name must be a string or None, got {type(name).__name__}")
    if name is None or name.strip().lower() in ORGANISM_NAMES:
        if kwargs:
            raise TypeError(f"the bundled model takes no extra options, got {sorted(kwargs)}")
        from .organism import load_organism

        return load_organism(device=device)

    official = resolve_model_name(name)
    if device is not None and kwargs.get("device_map") is not None:
        raise ValueError("give either device= or device_map=, not both")
    _check_hub_available(official, name)

    from transformer_lens.model_bridge import TransformerBridge

    try:
        if official.startswith(_TL_LEGACY_PREFIXES):
            import transformer_lens.model_bridge.sources  # noqa: F401  (registers boot_tl_legacy)

            model = TransformerBridge.boot_tl_legacy(official, device=device, **kwargs)
        else:
            model = TransformerBridge.boot_transformers(official, device=device, **kwargs)
    except (OSError, ConnectionError, TimeoutError) as exc:  # network or missing files
        raise ModelLoadError(
            f"could not load {name!r} ({official}): {type(exc).__name__}: {_first_line(exc)}. "
            "Check the network connection or the name; load_model() with no name gives the "
            "bundled model, which needs no network."
        ) from None
    model.eval()
    check_hookable(model)
    return model


def resolve_model_name(name: str) -> str:
    """The official Hugging Face name for ``name`` (TransformerLens aliases resolved).

    A name with a ``/`` that is not in TransformerLens's table is taken as a Hugging Face
    repository id as it is. Anything else unknown raises ``ModelLoadError`` with close
    matches.

    Example:
        >>> resolve_model_name("attn-only-4l")
        'NeelNanda/Attn_Only_4L512W_C4_Code'
    """
    key = name.strip().lower()
    official = _alias_table().get(key)  # fast: TransformerLens's alias file, no import
    if official is None:
        official = _alias_map().get(key)
    if official is not None:
        return official
    if "/" in name and " " not in name.strip():
        return name.strip()
    known = _alias_map()
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ModelLoadError(
        f"unknown model name {name!r}.{hint} Use a Hugging Face repository id "
        "('owner/name'), a TransformerLens alias such as 'gpt2' or 'attn-only-4l', or "
        "load_model() with no name for the bundled model."
    )


def _alias_table() -> dict[str, str]:
    """Aliases from TransformerLens's JSON table, read without importing the library."""
    import importlib.util
    import json
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("transformer_lens")
        roots = list(spec.submodule_search_locations or []) if spec else []
        path = Path(roots[0]) / "tools" / "model_registry" / "data" / "model_aliases.json"
        table = json.loads(path.read_text(encoding="utf-8"))["aliases"]
    except (OSError, KeyError, IndexError, ValueError, TypeError):
        return {}
    out: dict[str, str] = {}
    for official, aliases in table.items():
        out[official.lower()] = official
        for alias in aliases:
            out[alias.lower()] = official
    return out


def _alias_map() -> dict[str, str]:
    from transformer_lens.supported_models import MODEL_ALIASES, OFFICIAL_MODEL_NAMES

    out: dict[str, str] = {}
    for official in OFFICIAL_MODEL_NAMES:
        out[official.lower()] = official
        for alias in MODEL_ALIASES.get(official, []):
            out[alias.lower()] = official
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def _env_offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _in_local_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json")
        return isinstance(hit, str)
    except Exception:  # noqa: BLE001 - any failure just means "not known to be cached"
        return False


def hub_reachable(timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether the Hugging Face hub answers an HTTP request within ``timeout`` seconds.

    Any HTTP answer counts (even an error status); no answer, a refused connection or a
    name that does not resolve means unreachable. A bare TCP connect is not enough:
    sandboxes and proxies may accept connections they never answer.
    """
    import urllib.error
    import urllib.request

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:  # noqa: BLE001
        return False
    if not urlparse(endpoint).hostname:
        return False
    try:
        request = urllib.request.Request(endpoint, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - fixed hub endpoint
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _check_hub_available(official: str, asked: str) -> None:
    if _in_local_cache(official):
        return
    if _env_offline():
        reason = "offline mode is set (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)"
    elif not hub_reachable():
        reason = "the Hugging Face hub cannot be reached (no network?)"
    else:
        return
    raise OfflineError(
        f"cannot load pretrained model {asked!r}: {reason} and it is not in the local cache. "
        "Use load_model() with no name for the bundled model, which works offline, or "
        "download the model once on a machine with network access."
    )


# --------------------------------------------------------------------------- geometry


def check_hookable(model: Any) -> None:
    """Raise ``UnsupportedModelError`` unless ``model`` has attention heads we can hook.

    Needs ``cfg.n_layers``, ``cfg.n_heads`` > 0, ``W_O`` and a ``blocks.0.attn.hook_z``
    hook point (every TransformerBridge over a standard attention layer has them).
    """
    cfg = getattr(model, "cfg", None)
    n_layers = getattr(cfg, "n_layers", None)
    n_heads = getattr(cfg, "n_heads", None)
    if not isinstance(n_layers, int) or not isinstance(n_heads, int) or n_layers < 1 or n_heads < 1:
        raise UnsupportedModelError(
            f"{type(model).__name__} has no attention heads the engine can hook "
            f"(cfg.n_layers={n_layers}, cfg.n_heads={n_heads}). Use a TransformerBridge "
            "model from load_model()."
        )
    hooks = getattr(model, "hook_dict", None)
    if not isinstance(hooks, dict) or "blocks.0.attn.hook_z" not in hooks:
        raise UnsupportedModelError(
            f"{type(model).__name__} exposes no 'blocks.0.attn.hook_z' hook, so per-head "
            "outputs cannot be read. Use a TransformerBridge model from load_model()."
        )
    if not hasattr(model, "W_O"):
        raise UnsupportedModelError(
            f"{type(model).__name__} has no W_O (attention output weights); per-head "
            "residual contributions cannot be computed."
        )


def n_heads_total(model: Any) -> int:
    """Number of attention heads in the whole model (``n_layers * n_heads``)."""
    return int(model.cfg.n_layers) * int(model.cfg.n_heads)


def head_index(model: Any, layer: int, head: int) -> int:
    """Flat index ``layer * n_heads + head`` of a head, with a range check."""
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise ValueError(
            f"head ({layer}, {head}) does not exist: the model has layers 0-{n_layers - 1} "
            f"and heads 0-{n_heads - 1} per layer"
        )
    return layer * n_heads + head


def head_from_index(index: int, n_heads: int) -> tuple[int, int]:
    """(layer, head) of a flat head index."""
    return int(index) // n_heads, int(index) % n_heads


def head_label(layer: int, head: int) -> str:
    """A head as text, e.g. ``head_label(5, 1) == "L5H1"``."""
    return f"L{layer}H{head}"


def model_name(model: Any) -> str:
    """A readable name for a model (the organism reports ``sae-circuits-organism``)."""
    cfg = getattr(model, "cfg", None)
    name = getattr(cfg, "model_name", None) or getattr(cfg, "name", None)
    return str(name) if name else type(model).__name__

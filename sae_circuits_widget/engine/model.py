"""Loading models, and the head geometry the engine relies on.

``load_model()`` with no name returns the bundled model organism: offline, from files
shipped in the package. ``load_model`` also takes what users already have:

- a Hugging Face name ("gpt2", "EleutherAI/pythia-70m"), through
  ``TransformerBridge.boot_transformers`` (``device_map=`` is passed through to spread a
  large model over several GPUs); a TransformerLens legacy name ("attn-only-4l",
  "NeelNanda/Attn_Only_4L512W_C4_Code") goes through ``boot_tl_legacy``;
- a local folder written by ``save_pretrained`` (model and tokenizer), loaded offline
  through ``boot_transformers`` with no hub check;
- a loaded Hugging Face ``PreTrainedModel`` with its tokenizer (``tokenizer=``), wrapped
  by ``boot_transformers(hf_model=...)`` without a copy;
- a ``TransformerBridge``, checked and returned as it is.

Pretrained names need the Hugging Face hub unless the files are already in the local
cache. Before anything is downloaded, ``load_model`` checks that: offline mode set in
the environment, or a hub that does not answer a short connection probe, stops the load
at once with a message that points to the bundled model, instead of a hang or a stack
trace from inside a library.

Heads are numbered ``layer * n_heads + head`` everywhere in this package and printed as
``"L5H1"`` (``sae_circuits_widget.heads``).

Length: one module, over 500 lines, because every way a model reaches the package (the
bundled model, a hub name, a local folder, a loaded Hugging Face model, a bridge) ends in
the same checks and the same error messages; split apart, each path would repeat them.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urlparse

from ..errors import (
    ModelLoadError,
    OfflineError,
    UnsupportedArchitectureError,
    UnsupportedModelError,
)

ORGANISM_ALIASES = ("organism", "bundled")
"""Names that select the bundled model besides its own (``organism.model.ORGANISM_NAME``)
and ``name=None``."""

GPT2_ORGANISM_ALIASES = ("organism-gpt2",)
"""Names that select the bundled GPT-2-architecture organism besides its own
(``organism.model.GPT2_ORGANISM_NAME``). It loads through ``boot_transformers``, the path
of ``load_model("gpt2")``."""

_TL_LEGACY_PREFIXES = ("NeelNanda/", "ArthurConmy/", "Baidicoot/")
_PROBE_TIMEOUT_S = 1.5
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
_LOAD_ERRORS = (OSError, ConnectionError, TimeoutError, ValueError, RuntimeError, KeyError)


def _names_the_organism(name: Any) -> bool:
    """True for ``None``, the bundled model's name (``ORGANISM_NAME``) and ``ORGANISM_ALIASES``."""
    if name is None:
        return True
    if not isinstance(name, str):
        return False
    # imported here, not at the top: organism.model loads TransformerLens and safetensors,
    # which ``import sae_circuits_widget`` does not (loading any model needs them anyway)
    from ..organism.model import ORGANISM_NAME

    return name.strip().lower() in (ORGANISM_NAME, *ORGANISM_ALIASES)


def _names_the_gpt2_organism(name: Any) -> bool:
    """True for the GPT-2-architecture organism's name and ``GPT2_ORGANISM_ALIASES``."""
    if not isinstance(name, str):
        return False
    from ..organism.model import GPT2_ORGANISM_NAME

    return name.strip().lower() in (GPT2_ORGANISM_NAME, *GPT2_ORGANISM_ALIASES)


def load_model(
    name: Union[None, str, os.PathLike, Any] = None,
    device: Optional[str] = None,
    *,
    tokenizer: Any = None,
    **kwargs: Any,
):
    """Load a model as a TransformerLens ``TransformerBridge``.

    Args:
        name: what to load:

            - ``None``: the bundled organism (offline);
            - ``"organism-gpt2"``: the bundled GPT-2-architecture organism (offline,
              through ``boot_transformers`` as a hub GPT-2 is);
            - a Hugging Face name (``"gpt2"``) or a TransformerLens alias
              (``"attn-only-4l"``); needs a network unless cached;
            - a folder (``str`` or ``pathlib.Path``) written by ``save_pretrained``
              with the model's weights, ``config.json`` and the tokenizer: loaded
              offline, never looked up on the hub (an existing folder wins over a hub
              name of the same spelling);
            - a Hugging Face ``PreTrainedModel`` already in memory, with ``tokenizer=``.
              The bridge wraps this model in place (its submodules are replaced; no
              copy), so keep using the returned bridge, not the original object;
            - a ``TransformerBridge``: checked for hookable heads and returned as is.
        device: ``"cpu"``, ``"cuda"``, ... (``None``: the library's default). Use
            ``device_map="auto"`` instead to spread a big model over several GPUs
            (names and folders only; for a loaded model, give ``device_map`` to its
            ``from_pretrained``). A loaded model is moved to ``device`` in place.
        tokenizer: the tokenizer for a ``PreTrainedModel`` (required), or one to use
            instead of a folder's own. A tokenizer that exists only in memory is
            saved to a temporary folder and reloaded, which TransformerLens needs.
        **kwargs: passed to ``boot_transformers`` / ``boot_tl_legacy`` (``dtype``,
            ``device_map``, ``revision``, ``trust_remote_code``, ...).

    Raises:
        ModelLoadError: unknown name, a folder that does not exist or has no weights,
            config or tokenizer, a ``PreTrainedModel`` without ``tokenizer=``, or a load
            that failed. ``OfflineError`` (a subclass): a hub name with no network.
        UnsupportedArchitectureError: TransformerLens has no adapter for the model's
            architecture.
        UnsupportedModelError: the model has no attention heads to hook (e.g. Mamba).

    Example:
        >>> model = load_model()          # the bundled model, offline
        >>> model.cfg.n_layers > 0
        True
        >>> model = load_model("checkpoints/my-gpt2")             # doctest: +SKIP
        >>> model = load_model(hf_model, tokenizer=hf_tokenizer)  # doctest: +SKIP
    """
    gpt2_organism = _names_the_gpt2_organism(name)
    if gpt2_organism or _names_the_organism(name):
        if kwargs or tokenizer is not None:
            extra = sorted(kwargs) + (["tokenizer"] if tokenizer is not None else [])
            raise TypeError(f"the bundled model takes no extra options, got {extra}")
        from ..organism.model import load_gpt2_organism, load_organism

        return load_gpt2_organism(device=device) if gpt2_organism else load_organism(device=device)
    if device is not None and kwargs.get("device_map") is not None:
        raise ValueError("give either device= or device_map=, not both")
    bridge_cls, pretrained_cls = _bridge_class(), _pretrained_class()
    if isinstance(name, bridge_cls):
        if device is not None or tokenizer is not None or kwargs:
            raise TypeError(
                "a TransformerBridge is returned as it is and takes no options; move it "
                "with model.to(device) before or after load_model"
            )
        check_hookable(name)
        return name
    if pretrained_cls is not None and isinstance(name, pretrained_cls):
        return _load_hf_model(name, device, tokenizer, kwargs)
    folder = _as_folder(name)
    if folder is not None:
        from ..organism.model import ORGANISM_FILE, load_organism

        if (folder / ORGANISM_FILE).is_file() and not kwargs and tokenizer is None:
            # a GPT-2 organism written by the training script: named, with its circuits
            return load_organism(device=device, directory=folder)
        return _load_folder(folder, device, tokenizer, kwargs)
    if not isinstance(name, str):
        raise TypeError(
            "load_model takes a model name string, a folder path, a Hugging Face "
            f"PreTrainedModel or a TransformerBridge; got {type(name).__name__}"
        )
    official = resolve_model_name(name)
    _check_hub_available(official, name)

    from transformer_lens.model_bridge import TransformerBridge

    with contextlib.ExitStack() as stack:
        if tokenizer is not None:
            kwargs["tokenizer"] = _bootable_tokenizer(tokenizer, stack)
        try:
            if official.startswith(_TL_LEGACY_PREFIXES):
                # TransformerBridge.boot_tl_legacy is this function, attached to the class at run time
                from transformer_lens.model_bridge.sources import boot_tl_legacy

                model = boot_tl_legacy(official, device=device, **kwargs)
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


def _bridge_class() -> type:
    from transformer_lens.model_bridge import TransformerBridge

    return TransformerBridge


def _pretrained_class() -> Optional[type]:
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers comes with transformer-lens
        return None
    return PreTrainedModel


def _as_folder(name: Any) -> Optional[Path]:
    """The local folder ``name`` points to, or ``None`` when it is a name, not a path.

    A ``pathlib.Path`` (any ``os.PathLike``) is always a path; a string is one when it
    names an existing directory or is spelt like a path (``/``, ``./``, ``../``, ``~``).
    A path that does not exist, or is a file, raises ``ModelLoadError``.
    """
    if isinstance(name, os.PathLike):
        text = os.fspath(name)
    elif isinstance(name, str) and name.strip():
        text = name.strip()
        looks_like_path = text.startswith(("/", "./", "../", "~", ".\\", "..\\")) or (
            len(text) > 2 and text[1] == ":" and text[2] in "/\\"
        )
        if not looks_like_path and not Path(text).is_dir():
            return None
    else:
        return None
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelLoadError(
            f"{str(path)!r} is a file; give the folder that holds it (the folder written by "
            "model.save_pretrained(folder) and tokenizer.save_pretrained(folder))"
        )
    raise ModelLoadError(
        f"no such folder: {str(path)!r}. Give a folder written by model.save_pretrained(folder) "
        "and tokenizer.save_pretrained(folder), or a Hugging Face name such as 'gpt2'."
    )


def _check_architecture(hf_config: Any, where: str) -> None:
    """Raise ``UnsupportedArchitectureError`` unless TransformerLens can bridge the config."""
    from transformer_lens.model_bridge.sources._hf_format import (
        determine_architecture_from_hf_config,
    )

    try:
        determine_architecture_from_hf_config(hf_config)
    except ValueError:
        archs = list(getattr(hf_config, "architectures", None) or [])
        kind = ", ".join(archs) or f"model_type {getattr(hf_config, 'model_type', None)!r}"
        raise UnsupportedArchitectureError(
            f"{where} is a {kind} model, an architecture TransformerLens {_tl_version()} "
            "cannot wrap. Use a supported architecture (GPT-2, GPT-Neo/NeoX/Pythia, "
            "Llama, Mistral, Qwen, Gemma, OPT, ...; the full list is "
            "transformer_lens.factories.architecture_adapter_factory.SUPPORTED_ARCHITECTURES) "
            "or a newer TransformerLens.",
            archs,
        ) from None


def _tl_version() -> str:
    try:
        from importlib.metadata import version

        return version("transformer-lens")
    except Exception:  # noqa: BLE001
        return ""


def _bootable_tokenizer(tokenizer: Any, stack: contextlib.ExitStack) -> Any:
    """``tokenizer``, or a copy reloaded from a temporary folder kept open by ``stack``.

    TransformerLens reloads a tokenizer from ``init_kwargs["name_or_path"]`` to switch
    its BOS token on; a tokenizer built in memory has no such path (``KeyError``) and a
    hub name would need the network, so anything but a local folder is saved and
    reloaded from a folder that stays until the boot is done.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerBase

    if not isinstance(tokenizer, PreTrainedTokenizerBase):
        raise TypeError(
            "tokenizer= must be a Hugging Face tokenizer (PreTrainedTokenizerFast, "
            f"AutoTokenizer.from_pretrained(...)), got {type(tokenizer).__name__}"
        )
    source = tokenizer.init_kwargs.get("name_or_path")
    if isinstance(source, str) and source and Path(source).is_dir():
        return tokenizer
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="sae-circuits-tok-"))
    tokenizer.save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def _load_folder(folder: Path, device: Optional[str], tokenizer: Any, kwargs: dict) -> Any:
    """Boot a ``save_pretrained`` folder offline, after checking its files."""
    if not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"{str(folder)!r} has no config.json, so it is not a folder written by "
            "save_pretrained. Save the model with model.save_pretrained(folder)."
        )
    if not any(any(folder.glob(pattern)) for pattern in _WEIGHT_FILES):
        raise ModelLoadError(
            f"{str(folder)!r} has no weights (no *.safetensors or pytorch_model.bin). Save "
            "them with model.save_pretrained(folder), or copy the weight files into it."
        )
    if tokenizer is None and not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        raise ModelLoadError(
            f"{str(folder)!r} has no tokenizer files. Save the tokenizer beside the model "
            "with tokenizer.save_pretrained(folder), or pass load_model(folder, tokenizer=...)."
        )
    from transformers import AutoConfig

    trust = bool(kwargs.get("trust_remote_code", False))
    try:
        hf_config = AutoConfig.from_pretrained(
            str(folder), local_files_only=True, trust_remote_code=trust
        )
    except (OSError, ValueError, KeyError) as exc:
        raise UnsupportedArchitectureError(
            f"cannot read {str(folder / 'config.json')!r}: {_first_line(exc)}. The installed "
            "transformers does not know this model type; for a model with its own code, "
            "pass trust_remote_code=True."
        ) from None
    _check_architecture(hf_config, repr(str(folder)))

    from transformer_lens.model_bridge import TransformerBridge

    with contextlib.ExitStack() as stack:
        if tokenizer is not None:
            kwargs["tokenizer"] = _bootable_tokenizer(tokenizer, stack)
        try:
            model = TransformerBridge.boot_transformers(str(folder), device=device, **kwargs)
        except _LOAD_ERRORS as exc:
            raise ModelLoadError(
                f"could not load the folder {str(folder)!r}: {type(exc).__name__}: "
                f"{_first_line(exc)}"
            ) from exc
    model.eval()
    check_hookable(model)
    return model


def _load_hf_model(hf_model: Any, device: Optional[str], tokenizer: Any, kwargs: dict) -> Any:
    """Wrap a loaded ``PreTrainedModel`` with ``boot_transformers(hf_model=...)``."""
    if tokenizer is None:
        raise ModelLoadError(
            f"a loaded {type(hf_model).__name__} needs its tokenizer: "
            "load_model(hf_model, tokenizer=AutoTokenizer.from_pretrained(...))"
        )
    if kwargs.get("device_map") is not None:
        raise ValueError(
            "device_map= applies when the weights are loaded; give it to "
            "from_pretrained(..., device_map=...) and pass the loaded model here"
        )
    _check_architecture(hf_model.config, f"the given {type(hf_model).__name__}")
    if device is not None:
        hf_model.to(device)
    name = getattr(hf_model.config, "_name_or_path", "") or type(hf_model).__name__

    from transformer_lens.model_bridge import TransformerBridge

    with contextlib.ExitStack() as stack:
        boot_tokenizer = _bootable_tokenizer(tokenizer, stack)
        try:
            model = TransformerBridge.boot_transformers(
                name, hf_model=hf_model, tokenizer=boot_tokenizer, device=device, **kwargs
            )
        except _LOAD_ERRORS as exc:
            raise ModelLoadError(
                f"could not wrap the given {type(hf_model).__name__}: {type(exc).__name__}: "
                f"{_first_line(exc)}"
            ) from exc
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

    Needs ``cfg.n_layers``, ``cfg.n_heads`` > 0, ``W_O`` and a ``blocks.L.attn.hook_z``
    hook point in every layer (every TransformerBridge over standard multi-head attention
    has them; attention-free models such as Mamba do not).
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
    hooks = hooks if isinstance(hooks, dict) else {}
    missing = [f"blocks.{layer}.attn.hook_z" for layer in range(n_layers)]
    missing = [hook for hook in missing if hook not in hooks]
    if missing:
        what = f"{len(missing)} of {n_layers} layers" if len(missing) < n_layers else "any layer"
        raise UnsupportedModelError(
            f"{type(model).__name__} ({model_name(model)}) exposes no '{missing[0]}' hook "
            f"(missing in {what}), so per-head outputs cannot be read. The engine needs "
            "multi-head attention in every layer (GPT-2, Pythia, Llama, ... loaded with "
            "load_model()); attention-free models such as Mamba cannot be used."
        )
    if not hasattr(model, "W_O"):
        raise UnsupportedModelError(
            f"{type(model).__name__} has no W_O (attention output weights); per-head "
            "residual contributions cannot be computed."
        )


def n_heads_total(model: Any) -> int:
    """Number of attention heads in the whole model (``n_layers * n_heads``)."""
    return int(model.cfg.n_layers) * int(model.cfg.n_heads)


def model_name(model: Any) -> str:
    """A readable name for a model (the organism reports ``sae-circuits-organism``)."""
    cfg = getattr(model, "cfg", None)
    name = getattr(cfg, "model_name", None) or getattr(cfg, "name", None)
    return str(name) if name else type(model).__name__

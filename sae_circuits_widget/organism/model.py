"""The organism's architecture, vocabulary, and loading from the shipped files.

The organism is a small attention-only transformer (TransformerLens native) with a
word-level vocabulary made of the task word pools. ``load_organism()`` rebuilds it from
``weights/`` (config.json, model.safetensors, tokenizer files) without any download.

Its ground-truth circuits live next to its weights in ``circuits.json``. This module
registers :func:`organism_circuits` with the task generators
(``tasks.generators.register_circuits``), so ``get_task`` attaches them to every model
named ``ORGANISM_NAME``; the task package never imports this one.
"""

from __future__ import annotations

import json
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from safetensors.torch import load_file, save_file
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge
from transformer_lens.model_bridge.sources import build_bridge_from_module
from transformer_lens.model_bridge.sources.native import NativeModel

from ..tasks import words as W
from ..tasks.generators import model_name, register_circuits
from .tokenizer import load_tokenizer, word_tokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

ORGANISM_NAME = "sae-circuits-organism"
"""The config name every organism carries (``model.cfg.model_name``)."""

GPT2_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights_gpt2"

GPT2_ORGANISM_NAME = "sae-circuits-organism-gpt2"
"""The name of the GPT-2-architecture organism (``load_model("organism-gpt2")``)."""

ORGANISM_FILE = "organism.json"
"""A GPT-2 organism's own record beside the Hugging Face files: its name, shape and
training config (the native organism keeps these in config.json)."""

_LOADED_FROM: "weakref.WeakKeyDictionary[TransformerBridge, Path]" = weakref.WeakKeyDictionary()
"""Organism -> the folder its weights (and circuits.json) were read from."""


def is_organism(model: Any) -> bool:
    """True when ``model`` is an organism of either architecture (by its config name)."""
    return model_name(model) in (ORGANISM_NAME, GPT2_ORGANISM_NAME)


def organism_words() -> list[str]:
    """The organism's vocabulary (without special tokens), in a fixed order."""
    pools = (W.PUNCT, W.FUNCTION_WORDS, W.NUMBERS, W.NAMES, W.PLACES, W.OBJECTS, W.EVENTS,
             W.ARG_NAMES, W.FUNC_NAMES, W.DESC_WORDS, W.FILLER_WORDS)
    return list(dict.fromkeys(w for pool in pools for w in pool))


def make_config(d_vocab: int, n_layers: int, n_heads: int, d_model: int, n_ctx: int,
                seed: int = 0, init_weights: bool = True) -> TransformerBridgeConfig:
    return TransformerBridgeConfig(
        d_model=d_model, d_head=d_model // n_heads, n_heads=n_heads, n_layers=n_layers,
        n_ctx=n_ctx, d_vocab=d_vocab, attn_only=True, normalization_type="LN",
        act_fn="gelu", seed=seed, init_weights=init_weights,
    )


def wrap(native: NativeModel, cfg: TransformerBridgeConfig, tokenizer: Any,
         directory: Optional[Path] = None) -> TransformerBridge:
    """Wrap a trained NativeModel as a TransformerBridge named like the organism.

    ``directory``: the folder the weights came from, where :func:`organism_circuits`
    looks for circuits.json (default: the bundled weights).
    """
    bridge = build_bridge_from_module(native, architecture="TransformerLensNative", tl_config=cfg,
                                      tokenizer=tokenizer, model_name=ORGANISM_NAME)
    bridge.eval()
    if directory is not None:
        _LOADED_FROM[bridge] = Path(directory)
    return bridge


def weights_dir(model: Any) -> Path:
    """The folder ``model`` was loaded from: ``load_organism``'s ``directory``, else the
    bundled weights.

    Example:
        >>> weights_dir(load_organism()) == WEIGHTS_DIR
        True
    """
    return _LOADED_FROM.get(model, WEIGHTS_DIR)


@lru_cache(maxsize=4)
def _read_circuits(path: Path, modified_ns: int) -> dict:
    return json.loads(path.read_text())


def organism_circuits(model: Any) -> Optional[dict]:
    """The organism's circuits.json (next to its weights) as a dict; None without one.

    Example:
        >>> sorted(organism_circuits(load_organism())["tasks"])
        ['docstring', 'greater_than', 'induction', 'ioi']
    """
    path = weights_dir(model) / "circuits.json"
    try:
        modified_ns = path.stat().st_mtime_ns  # a rewritten file is read again
    except FileNotFoundError:
        return None
    return _read_circuits(path, modified_ns)


register_circuits(ORGANISM_NAME, organism_circuits)
register_circuits(GPT2_ORGANISM_NAME, organism_circuits)


def gpt2_config(tokenizer: Any, n_layers: int, n_heads: int, d_model: int, n_ctx: int, d_mlp: int,
                tie_embeddings: bool = True):
    """A ``GPT2Config`` for the organism's vocabulary: GPT-2's architecture (learned
    positions, LayerNorm, MLPs with ``gelu_new``; embeddings tied unless
    ``tie_embeddings`` is False) without dropout.

    Weights start at the attention-only organism's scale, TransformerLens's
    ``0.8 / sqrt(d_model)`` (0.071 at d_model 128), not Hugging Face's 0.02: from 0.02,
    under the head-output penalty, IOI stayed at 6% top-1 after the 4,000 steps of the
    tasks phase (induction 96%, docstring 44%), where the attention-only organism reaches
    98% by step 1,500.
    """
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=len(tokenizer), n_positions=n_ctx, n_embd=d_model, n_layer=n_layers,
        n_head=n_heads, n_inner=d_mlp, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        initializer_range=0.8 / d_model ** 0.5,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=tie_embeddings,
    )


def save_gpt2(hf_model: Any, tokenizer: Any, out: Path, extra: Optional[dict] = None) -> None:
    """Write a GPT-2 organism as ``save_pretrained`` files (model.safetensors, config.json,
    tokenizer files) plus ``organism.json`` (name, shape, ``extra``)."""
    out.mkdir(parents=True, exist_ok=True)
    hf_model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    c = hf_model.config
    conf = dict(architecture="gpt2", n_layers=c.n_layer, n_heads=c.n_head, d_model=c.n_embd,
                d_mlp=c.n_inner or 4 * c.n_embd, tie_embeddings=bool(c.tie_word_embeddings),
                n_ctx=c.n_positions, d_vocab=c.vocab_size,
                model_name=GPT2_ORGANISM_NAME, **(extra or {}))
    (out / ORGANISM_FILE).write_text(json.dumps(conf, indent=1) + "\n")


def organism_record(directory: Path) -> dict:
    """An organism folder's record: ``organism.json`` (GPT-2) or ``config.json`` (native)."""
    own = directory / ORGANISM_FILE
    return json.loads((own if own.exists() else directory / "config.json").read_text())


def load_gpt2_organism(device: Optional[str] = None, directory: Optional[str | Path] = None) -> TransformerBridge:
    """Load the GPT-2-architecture organism through ``TransformerBridge.boot_transformers``,
    the path ``load_model("gpt2")`` takes, from local files only.

    Example:
        >>> model = load_gpt2_organism()  # doctest: +SKIP
        >>> model.cfg.model_name, model.cfg.attn_only  # doctest: +SKIP
        ('sae-circuits-organism-gpt2', False)
    """
    d = Path(directory) if directory is not None else GPT2_WEIGHTS_DIR
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(
            f"no GPT-2 organism weights in {d}; train one with `python -m "
            "sae_circuits_widget.organism.train --config research/... --out DIR` (architecture 'gpt2')"
        )
    bridge = TransformerBridge.boot_transformers(str(d), device=device)
    bridge.eval()
    bridge.cfg.model_name = GPT2_ORGANISM_NAME
    _LOADED_FROM[bridge] = d
    return bridge


def save_native(native: NativeModel, cfg: TransformerBridgeConfig, tokenizer: Any, out: Path,
                extra: Optional[dict] = None) -> None:
    """Write model.safetensors, config.json and the tokenizer files to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in native.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
    conf = dict(n_layers=cfg.n_layers, n_heads=cfg.n_heads, d_model=cfg.d_model, n_ctx=cfg.n_ctx,
                d_vocab=cfg.d_vocab, model_name=ORGANISM_NAME, **(extra or {}))
    (out / "config.json").write_text(json.dumps(conf, indent=1) + "\n")
    tokenizer.save_pretrained(str(out))


def load_native(directory: Path) -> tuple[NativeModel, TransformerBridgeConfig, Any]:
    conf = json.loads((directory / "config.json").read_text())
    cfg = make_config(conf["d_vocab"], conf["n_layers"], conf["n_heads"], conf["d_model"],
                      conf["n_ctx"], init_weights=False)
    native = NativeModel(cfg)
    native.load_state_dict(load_file(str(directory / "model.safetensors")))
    return native, cfg, load_tokenizer(directory)


def load_organism(device: Optional[str] = None, directory: Optional[str | Path] = None) -> TransformerBridge:
    """Load the bundled organism (or a model written by the training script; a GPT-2
    organism's folder, with its organism.json, loads through :func:`load_gpt2_organism`).

    Example:
        >>> model = load_organism()
        >>> model.cfg.model_name
        'sae-circuits-organism'
    """
    d = Path(directory) if directory is not None else WEIGHTS_DIR
    if (d / ORGANISM_FILE).exists():
        return load_gpt2_organism(device=device, directory=d)
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(
            f"no organism weights in {d}; train one with "
            "`python -m sae_circuits_widget.organism.train --out DIR`"
        )
    native, cfg, tok = load_native(d)
    if device is not None:
        native = native.to(device)
    return wrap(native, cfg, tok, directory=d)


def new_tokenizer():
    return word_tokenizer(organism_words())


__all__ = ["load_organism", "load_gpt2_organism", "is_organism", "gpt2_config", "save_gpt2",
           "organism_record", "GPT2_WEIGHTS_DIR", "GPT2_ORGANISM_NAME", "ORGANISM_FILE",
           "organism_words", "organism_circuits", "weights_dir", "make_config", "wrap", "save_native",
           "load_native", "WEIGHTS_DIR", "ORGANISM_NAME", "new_tokenizer"]

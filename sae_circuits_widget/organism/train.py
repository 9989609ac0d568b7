"""Train the organism from scratch: ``python -m sae_circuits_widget.organism.train --seed 1 --out DIR``.

The organism has to make circuit discovery checkable: each task should be solved by a
few heads of its own that compose across layers, and the heads a task does not use
should still do something, as they do in a real language model. The recipe gets there in
two phases.

1. **Tasks phase**: mostly task sentences (``data.TASKS_MIX``), with a group-lasso penalty
   on the norm of every head's output at every token (``head_l1`` = 0.01). Without it the
   tasks spread over most heads of a layer and share them (IOI's heads a subset of
   docstring's, greater-than on 58% of the heads of a 3 x 8 model); with it each task
   settles on a few heads of its own, and every other head falls silent.
2. **Stories phase**: no penalty, 70% stories, 13% filler and 17% task sentences
   (``data.STORIES_MIX``), so that the heads the tasks left unused learn ordinary text
   instead of staying silent (a silent head is trivially "not in the circuit").

The model is TransformerLens's native attention-only transformer, trained directly as a
plain ``nn.Module`` and wrapped as a TransformerBridge when loaded. Each phase runs AdamW
with a linear warmup and a cosine decay to ``final_lr_share`` of the peak rate, from a
fresh optimiser. Loss: cross-entropy on the answer token of task sentences (every token
of the repeat for induction) and on every token of filler and stories (``data.py``).

The whole recipe is one frozen :class:`TrainConfig`; its defaults are the shipped model
(seed 1), and ``--config FILE`` (a JSON object of config fields) trains another. The
saved config.json records every field. Switches that were tried and not shipped (head
dropout, other penalty shapes, answer noise, growing a trained model) are in the
repository's ``research/`` folder, with what each of them found.

Writes model.safetensors, config.json and the tokenizer files to ``--out``; run
``python -m sae_circuits_widget.organism.ground_truth --model DIR`` afterwards for
circuits.json and the model card.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Optional, cast

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float, Int
from torch import Tensor
from tqdm import tqdm
from transformer_lens.model_bridge.sources.native import NativeModel, initialize_native_model
from transformers import GPT2LMHeadModel

from ..tasks import TASK_NAMES
from .data import GT_PLAIN, IOI_PLAIN, STORIES_MIX, TASKS_MIX, DataSource, Mix
from .model import gpt2_config, make_config, new_tokenizer, save_gpt2, save_native


# ----------------------------------------------------------------------------- the recipe
def _check_int(obj: Any, name: str, low: int) -> None:
    v = getattr(obj, name)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {v!r}")


def _check_number(obj: Any, name: str, low: float, high: float = math.inf, above: bool = False) -> None:
    v = getattr(obj, name)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or v < low or v > high or (above and v == low):
        where = f"above {low}" if above else f">= {low}" if high == math.inf else f"between {low} and {high}"
        raise ValueError(f"{name} must be a number {where}, got {v!r}")
    object.__setattr__(obj, name, float(v))


@dataclass(frozen=True)
class Phase:
    """One phase of the recipe: ``steps`` optimiser steps on ``mix``, the learning rate
    warming up over the first ``warmup`` of them, with the head-output penalty weighted
    by ``head_l1`` and the MLP-output penalty (a model with MLPs) by ``mlp_l1`` (0: none).

    ``mlp_off_steps`` (a model with MLPs): for the first so many steps of the phase the
    MLPs add nothing. Their output projections are set to zero when the phase starts and
    no MLP parameter is updated until then; after that they train from zero output.
    Attention-only circuits form first, as in the attention-only organism, before the
    MLPs can offer a shortcut."""

    steps: int
    warmup: int
    head_l1: float
    mix: Mix
    mlp_l1: float = 0.0
    mlp_off_steps: int = 0

    def __post_init__(self) -> None:
        _check_int(self, "steps", 0)
        _check_int(self, "warmup", 0)
        _check_number(self, "head_l1", 0.0)
        _check_number(self, "mlp_l1", 0.0)
        _check_int(self, "mlp_off_steps", 0)
        if not isinstance(self.mix, Mix):
            raise ValueError(f"mix must be a data.Mix, got {type(self.mix).__name__}")


ARCHITECTURES = ("attn-only", "gpt2")
"""``attn-only``: TransformerLens's native attention-only transformer (the bundled
``organism``); ``gpt2``: a Hugging Face ``GPT2LMHeadModel`` (learned positions,
LayerNorm, MLPs with GELU; ``organism-gpt2``)."""


@dataclass(frozen=True)
class TrainConfig:
    """The organism's training recipe, all of it; the defaults train the shipped model.

    ``architecture``: one of :data:`ARCHITECTURES`; ``d_mlp`` the MLP width of a
    ``gpt2`` model (0: 4 x ``d_model``, as in GPT-2); ``tie_embeddings``: whether a
    ``gpt2`` model's unembedding is its embedding, as in GPT-2 (the native model's are
    always separate).

    ``accuracy_every``: every so many steps, the top-1 accuracy of ``accuracy_examples``
    fresh examples per task is printed. The examples come from the training stream, so
    these two fields are part of the recipe: changing them changes the data that follows.

    Example:
        >>> TrainConfig().tasks_phase.head_l1, TrainConfig().stories_phase.head_l1
        (0.01, 0.0)
        >>> TrainConfig.from_dict({"seed": 3}).seed
        3
    """

    seed: int = 1
    architecture: str = "attn-only"
    d_mlp: int = 0
    tie_embeddings: bool = True
    n_layers: int = 3
    n_heads: int = 8
    d_model: int = 128
    n_ctx: int = 64
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.01
    adam_betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    final_lr_share: float = 0.05
    gt_plain: float = GT_PLAIN
    ioi_plain: float = IOI_PLAIN
    accuracy_every: int = 500
    accuracy_examples: int = 128
    tasks_phase: Phase = Phase(steps=5000, warmup=300, head_l1=0.01, mix=TASKS_MIX)
    stories_phase: Phase = Phase(steps=5000, warmup=100, head_l1=0.0, mix=STORIES_MIX)

    def __post_init__(self) -> None:
        _check_int(self, "seed", 0)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        _check_int(self, "d_mlp", 0)
        if self.architecture == "attn-only" and self.d_mlp:
            raise ValueError("d_mlp is for architecture 'gpt2'; an attention-only model has no MLPs")
        if not isinstance(self.tie_embeddings, bool):
            raise ValueError(f"tie_embeddings must be true or false, got {self.tie_embeddings!r}")
        if self.architecture == "attn-only" and not self.tie_embeddings:
            raise ValueError("tie_embeddings is for architecture 'gpt2'; the attention-only model's "
                             "embedding and unembedding are always separate")
        for name in ("n_layers", "n_heads", "d_model", "n_ctx", "batch"):
            _check_int(self, name, 1)
        _check_int(self, "accuracy_every", 0)
        _check_int(self, "accuracy_examples", 1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        for name in ("lr", "grad_clip"):
            _check_number(self, name, 0.0, above=True)
        _check_number(self, "weight_decay", 0.0)
        for name in ("final_lr_share", "gt_plain", "ioi_plain"):
            _check_number(self, name, 0.0, 1.0)
        betas = self.adam_betas
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"adam_betas must be two numbers in [0, 1), got {betas!r}")
        object.__setattr__(self, "adam_betas", (float(betas[0]), float(betas[1])))
        for name in ("tasks_phase", "stories_phase"):
            if not isinstance(getattr(self, name), Phase):
                raise ValueError(f"{name} must be a Phase, got {type(getattr(self, name)).__name__}")
            for field in ("mlp_l1", "mlp_off_steps"):
                if self.architecture == "attn-only" and getattr(getattr(self, name), field):
                    raise ValueError(f"{name}.{field} is for architecture 'gpt2'; an attention-only model has no MLPs")

    def phases(self) -> tuple[tuple[str, Phase], ...]:
        """``(name, phase)`` in training order."""
        return (("tasks_phase", self.tasks_phase), ("stories_phase", self.stories_phase))

    def to_dict(self) -> dict[str, Any]:
        """Every field, as JSON-ready values (phases and mixes as nested objects)."""
        out = dataclasses.asdict(self)
        out["adam_betas"] = list(self.adam_betas)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """A config from ``to_dict()``'s layout. Fields left out keep the shipped values
        (inside a phase too); a mix must name every kind. Unknown fields raise ValueError."""
        kw = dict(_known(cls, values, "the training config"))
        for name, default in cls().phases():
            if name in kw:
                kw[name] = _phase_from_dict(kw[name], default, name)
        return cls(**kw)


GPT2_RECIPE = TrainConfig(
    architecture="gpt2",
    d_mlp=256,
    tie_embeddings=False,
    tasks_phase=Phase(steps=7500, warmup=300, head_l1=0.01, mix=TASKS_MIX, mlp_l1=0.03, mlp_off_steps=3000),
    stories_phase=Phase(steps=2000, warmup=100, head_l1=0.0, mix=STORIES_MIX),
)
"""The recipe of the bundled GPT-2-architecture organism (``organism-gpt2``): the
attention-only organism's data, head-output penalty and optimiser, plus a group penalty
on each MLP's output (``mlp_l1`` = 0.03; without it the MLPs carried every task and the
head circuits shrank to one to four heads of layer 0), the MLPs switched off for the
first 3,000 tasks steps (``mlp_off_steps``; with MLPs from the start docstring stalled at
about 0.6 top-1, with them off it is learned by step 2,000), MLPs of width 2 x d_model, a
separate unembedding, and a longer tasks phase with a shorter stories phase (7,500 and
2,000 steps; 51 minutes on one thread of a shared two-core machine)."""

RECIPES = {"attn-only": TrainConfig(), "gpt2": GPT2_RECIPE}
"""The shipped recipe of each architecture (``--architecture``)."""


def _phase_from_dict(values: Any, default: Phase, name: str) -> Phase:
    kw = dict(_known(Phase, values, name))
    if "mix" in kw:
        kw["mix"] = Mix.from_dict(kw["mix"])
    return dataclasses.replace(default, **kw)


def _known(cls, values: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} must be a JSON object of fields, got {values!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} in {where}; fields: {', '.join(names)}")
    return values


# ----------------------------------------------------------------------------- the penalty
def mean_over_tokens(total: Float[Tensor, "batch pos"], tokens_mask: Bool[Tensor, "batch pos"]) -> Float[Tensor, ""]:
    """The mean of ``total`` over the tokens ``tokens_mask`` marks (the penalties' reduction)."""
    m = tokens_mask.to(total.dtype)
    return (total * m).sum() / m.sum().clamp(min=1)


class HeadOutputNorms:
    """Records, on every training forward pass, the norm of each head's output at each token.

    ``penalty()`` is the group-lasso term (sum over heads of ``||z_h W_O^h||``, averaged
    over real tokens): it pushes each computation onto few heads, so circuits come out
    sparse instead of smeared over every head of a layer. The hooks sit on each attention
    output projection (``attn.o`` of the native model, ``attn.c_proj`` of a GPT-2) and
    record nothing in eval mode.
    """

    def __init__(self, model: Any):
        self.H = _n_heads(model)
        self.norms: list[Float[Tensor, "batch pos head"]] = []
        self.handles = [proj.register_forward_pre_hook(self._hook) for proj in output_projections(model)]

    def head_norms(self, module: Any, x: Float[Tensor, "batch pos hd"]) -> Float[Tensor, "batch pos head"]:
        """``||z_h W_O^h||`` of every head at every token, from the projection's input."""
        b, s, hd = x.shape
        z = x.view(b, s, self.H, hd // self.H)
        weight = module.weight
        if isinstance(module, torch.nn.Linear):  # [d_model, H * d_head]
            w = weight.view(weight.shape[0], self.H, hd // self.H)
            return torch.einsum("bshd,mhd->bshm", z, w).norm(dim=-1)
        w = weight.view(self.H, hd // self.H, weight.shape[1])  # a GPT-2 Conv1D: [H * d_head, d_model]
        return torch.einsum("bshd,hdm->bshm", z, w).norm(dim=-1)

    def _hook(self, module, args):
        if module.training:
            self.norms.append(self.head_norms(module, args[0]))
        return None

    def penalty(self, tokens_mask: Bool[Tensor, "batch pos"]) -> Float[Tensor, ""]:
        """Sum over heads of the mean over ``tokens_mask``'s tokens of ``||out||`` (an L1
        over tokens, so heads also fall silent on the tokens they are not needed at).
        Clears the recorded norms."""
        value = mean_over_tokens(cast(Tensor, sum(n.sum(-1) for n in self.norms)), tokens_mask)
        self.norms = []
        return value

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


class MlpOutputNorms:
    """The same group penalty on each MLP's output: ``penalty()`` is the sum over MLPs of
    ``||mlp_out||``, averaged over real tokens. Without it a model with MLPs moves the
    tasks out of its penalised heads into its MLPs, and the head circuits shrink to a
    head or two of layer 0. Records nothing in eval mode."""

    def __init__(self, model: Any):
        if not is_gpt2(model):
            raise ValueError("the MLP-output penalty needs a model with MLPs (architecture 'gpt2')")
        self.norms: list[Float[Tensor, "batch pos"]] = []
        self.handles = [block.mlp.register_forward_hook(self._hook) for block in model.transformer.h]

    def _hook(self, module, args, output):
        if module.training:
            self.norms.append(output.norm(dim=-1))
        return None

    def penalty(self, tokens_mask: Bool[Tensor, "batch pos"]) -> Float[Tensor, ""]:
        """Sum over MLPs of the mean over ``tokens_mask``'s tokens of ``||out||``. Clears
        the recorded norms."""
        value = mean_over_tokens(cast(Tensor, sum(self.norms)), tokens_mask)
        self.norms = []
        return value

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def is_gpt2(model: Any) -> bool:
    """True for a Hugging Face GPT-2 (``architecture="gpt2"``), False for the native model."""
    return hasattr(model, "transformer") and hasattr(model.transformer, "h")


def _n_heads(model: Any) -> int:
    return int(model.config.n_head) if is_gpt2(model) else int(model.cfg.n_heads)


def output_projections(model: Any) -> list[torch.nn.Module]:
    """Each layer's attention output projection (its input is the heads' ``z``, merged)."""
    if is_gpt2(model):
        return [block.attn.c_proj for block in model.transformer.h]
    return [block.attn.o for block in model.layers]


def forward_logits(model: torch.nn.Module, ids: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos vocab"]:
    """The logits of either architecture."""
    if is_gpt2(model):
        return model(input_ids=ids, use_cache=False).logits
    return model(ids)


# ----------------------------------------------------------------------------- training
Penalty = Callable[[int, Tensor, list[str]], Optional[Tensor]]
"""``penalty(step, ids, kinds)`` -> a term added to the step's loss (None: nothing)."""


class TrainedOrganism(NamedTuple):
    model: Any
    """A NativeModel, or a GPT2LMHeadModel for ``architecture="gpt2"``."""
    cfg: Any
    tokenizer: Any
    history: dict[str, list[float]]
    """Phase name -> the loss at every step."""


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)


def build(config: TrainConfig) -> tuple[Any, Any, Any]:
    """A freshly initialised model of ``config``'s shape and architecture, its config
    (TransformerLens's for the native model, ``GPT2Config`` for a GPT-2) and the
    organism's tokenizer."""
    tok = new_tokenizer()
    if config.architecture == "gpt2":
        hf_config = gpt2_config(tok, config.n_layers, config.n_heads, config.d_model, config.n_ctx,
                                config.d_mlp or 4 * config.d_model, tie_embeddings=config.tie_embeddings)
        torch.manual_seed(config.seed)
        return GPT2LMHeadModel(hf_config), hf_config, tok
    cfg = make_config(len(tok), config.n_layers, config.n_heads, config.d_model, config.n_ctx, seed=config.seed)
    torch.manual_seed(config.seed)
    model = NativeModel(cfg)
    initialize_native_model(model, cfg)
    return model, cfg, tok


def next_token_loss(model: torch.nn.Module, ids: Int[Tensor, "batch pos"], mask: Float[Tensor, "batch targets"]) -> Float[Tensor, ""]:
    """Cross-entropy of every next token, weighted by ``mask`` (``DataSource.encode``)."""
    logits = forward_logits(model, ids)[:, :-1]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    ce = ce.view(mask.shape)
    return (ce * mask).sum() / mask.sum().clamp(min=1)


def lr_share(step: int, steps: int, warmup: int, final: float) -> float:
    """The learning rate at ``step`` as a share of the peak: linear warmup, then cosine
    decay from 1 to ``final``."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return 0.5 * (1 + math.cos(math.pi * t)) * (1 - final) + final


@torch.no_grad()
def quick_accuracy(model: torch.nn.Module, data: DataSource, n: int = 256) -> dict[str, float]:
    """Top-1 accuracy on the trained answer of ``n`` fresh examples per task (drawn from
    ``data``'s stream); greater-than counts any year above the start year."""
    model.eval()
    out = {}
    for kind in TASK_NAMES:
        exs = [getattr(data, kind)() for _ in range(n)]
        ids, mask, _ = data.encode(exs)
        logits = forward_logits(model, ids)
        last = torch.tensor([int(torch.nonzero(m).max()) for m in mask])
        pred = logits[torch.arange(len(exs)), last].argmax(-1)
        tgt = ids[torch.arange(len(exs)), last + 1]
        if kind == "greater_than":
            yy = torch.tensor([e.start_yy for e in exs])
            num = {data.vocab[f"{i:02d}"]: i for i in range(100)}
            out[kind] = float(np.mean([num.get(int(p), -1) > int(y) for p, y in zip(pred, yy)]))
        else:
            out[kind] = float((pred == tgt).float().mean())
    model.train()
    return out


def train_steps(model: torch.nn.Module, data: DataSource, config: TrainConfig, steps: int, warmup: int,
                penalty: Optional[Penalty] = None, progress: bool = True, desc: str = "train",
                held: tuple[int, Sequence[torch.nn.Parameter]] = (0, ())) -> list[float]:
    """``steps`` AdamW steps on batches from ``data`` (a fresh optimiser over the
    parameters that require grad, ``config``'s rate, decay, betas and clipping, the
    :func:`lr_share` schedule). ``held = (n, params)``: ``params`` get no gradient, so
    no update and no weight decay, in the first ``n`` steps. Returns the loss of every
    step."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                            weight_decay=config.weight_decay, betas=config.adam_betas)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_share(step, steps, warmup, config.final_lr_share))
    model.train()
    history = []
    bar = tqdm(range(steps), disable=not progress, desc=desc, mininterval=2)
    ema = None
    for step in bar:
        ids, mask, kinds = data.batch(config.batch)
        loss = next_token_loss(model, ids, mask)
        extra = penalty(step, ids, kinds) if penalty is not None else None
        if extra is not None:
            loss = loss + extra
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step < held[0]:
            for p in held[1]:
                p.grad = None  # AdamW skips a parameter without a gradient
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        sched.step()
        lv = float(loss.detach())
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        history.append(lv)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{ema:.3f}")
        if config.accuracy_every and (step + 1) % config.accuracy_every == 0:
            acc = quick_accuracy(model, data, n=config.accuracy_examples)
            if progress:
                tqdm.write(f"step {step + 1} loss {ema:.3f} acc " + " ".join(f"{k}={v:.2f}" for k, v in acc.items()))
    model.eval()
    return history


def train_phase(model: torch.nn.Module, tokenizer: Any, config: TrainConfig, phase: Phase,
                progress: bool = True, desc: str = "train") -> list[float]:
    """One phase of the recipe on ``model``: its data stream (from ``config.seed``), the
    head-output penalty when ``phase.head_l1 > 0`` and the MLP-output one when
    ``phase.mlp_l1 > 0``."""
    data = DataSource(tokenizer, seed=config.seed, mix=phase.mix, gt_plain=config.gt_plain,
                      ioi_plain=config.ioi_plain)
    terms: list[tuple[float, HeadOutputNorms | MlpOutputNorms]] = []
    try:
        if phase.head_l1 > 0:
            terms.append((phase.head_l1, HeadOutputNorms(model)))
        if phase.mlp_l1 > 0:
            terms.append((phase.mlp_l1, MlpOutputNorms(model)))

        def penalty(step: int, ids: Tensor, kinds: list[str]) -> Tensor:
            real = ids != data.pad
            return sum(weight * norms.penalty(real) for weight, norms in terms)  # type: ignore[return-value]

        held: tuple[int, list[torch.nn.Parameter]] = (0, [])
        if phase.mlp_off_steps:
            held = (phase.mlp_off_steps, switch_mlps_off(model))
        return train_steps(model, data, config, phase.steps, phase.warmup,
                           penalty if terms else None, progress, desc, held)
    finally:
        for _, norms in terms:
            norms.remove()


def switch_mlps_off(model: Any) -> list[torch.nn.Parameter]:
    """Zero every MLP's output projection (weight and bias) of a model with MLPs, so that
    the MLPs add nothing to the residual stream; returns the MLPs' parameters."""
    if not is_gpt2(model):
        raise ValueError("mlp_off_steps needs a model with MLPs (architecture 'gpt2')")
    params: list[torch.nn.Parameter] = []
    with torch.no_grad():
        for block in model.transformer.h:
            block.mlp.c_proj.weight.zero_()
            block.mlp.c_proj.bias.zero_()
            params += list(block.mlp.parameters())
    return params


@contextmanager
def torch_threads(threads: Optional[int]) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block (None: leave it)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(config: TrainConfig = TrainConfig(), out: str | Path | None = None, threads: Optional[int] = None,
          progress: bool = True) -> TrainedOrganism:
    """Train an organism with ``config`` (default: the shipped recipe) and, with ``out``,
    save it there (model.safetensors, config.json recording ``config``, tokenizer files).

    Both phases draw from a fresh seed, as when the recipe ran as two trainings, so the
    defaults reproduce the shipped model bit for bit on the CPU it was trained on.

    Example:
        >>> tiny = TrainConfig.from_dict({"n_layers": 1, "n_heads": 2, "d_model": 16, "batch": 4,
        ...     "tasks_phase": {"steps": 2}, "stories_phase": {"steps": 1}})
        >>> [len(losses) for losses in train(tiny, progress=False).history.values()]
        [2, 1]
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}; "
                        "build one with TrainConfig(...) or TrainConfig.from_dict(...)")
    with torch_threads(threads):
        seed_everything(config.seed)
        model, cfg, tok = build(config)
        history = {}
        for i, (name, phase) in enumerate(config.phases()):
            if i > 0:
                seed_everything(config.seed)
            history[name] = train_phase(model, tok, config, phase, progress, desc=name.replace("_", " "))
    if out is not None:
        if config.architecture == "gpt2":
            save_gpt2(model, tok, Path(out), extra={"train": config.to_dict()})
        else:
            save_native(model, cfg, tok, Path(out), extra={"train": config.to_dict()})
    return TrainedOrganism(model, cfg, tok, history)


# ----------------------------------------------------------------------------- CLI
def read_config(path: str | Path) -> TrainConfig:
    """The config in a JSON file of :class:`TrainConfig` fields (``to_dict()``'s layout;
    fields left out keep the shipped values). ValueError with a one-line reason otherwise."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ValueError(f"cannot read --config {path}: {e.strerror or e}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--config {path} is not JSON ({e.msg}, line {e.lineno}); "
                         "write an object of TrainConfig fields, e.g. {\"seed\": 3}") from None
    values = values.get("train", values) if isinstance(values, dict) and "model_name" in values else values
    return TrainConfig.from_dict(values)


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # no docstring under -OO
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the config's, 1 for the shipped recipe)")
    ap.add_argument("--out", required=True, help="folder to write the model to (must not hold a model yet)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--architecture", choices=sorted(RECIPES), default=None,
                    help="train the shipped recipe of this architecture (default: attn-only; "
                         "gpt2 trains organism-gpt2's recipe)")
    ap.add_argument("--config", default=None,
                    help="JSON file of TrainConfig fields (default: the shipped recipe); a saved "
                         "config.json works too")
    args = ap.parse_args(argv)
    try:
        if args.config and args.architecture:
            raise ValueError("give --architecture or --config, not both (a config names its architecture)")
        config = read_config(args.config) if args.config else RECIPES[args.architecture or "attn-only"]
        if args.seed is not None:
            config = dataclasses.replace(config, seed=args.seed)
    except ValueError as e:
        ap.error(str(e))
    if args.threads < 1:
        ap.error(f"--threads must be 1 or more, got {args.threads}")
    out = Path(args.out)
    if (out / "model.safetensors").exists():
        ap.error(f"{out} already holds a model; choose another --out or remove it first")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ap.error(f"cannot create --out {out}: {e.strerror or e}")
    t0 = time.time()
    train(config, out, threads=args.threads)
    print(f"saved to {out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

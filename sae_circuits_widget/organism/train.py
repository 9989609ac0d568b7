"""Train the organism from scratch: ``python -m sae_circuits_widget.organism.train --seed N --out DIR``.

The model is TransformerLens's native attention-only transformer (trained directly as a
plain ``nn.Module``, then wrapped as a TransformerBridge when loaded). Optimiser: AdamW
with linear warmup and cosine decay. Loss: cross-entropy on the answer token of task
sentences (every token of the repeat for induction) and on every token of filler
(see ``data.py``), plus a group-lasso penalty (``--head-l1``, 0.01 by default) on the
norm of every head's output at every token. Without it the tasks spread over most heads
of a layer and share them (IOI's heads a subset of docstring's, greater-than on 58% of
the heads in a 3 x 8 model); with it each task settles on a few heads of its own.
Optional head dropout zeroes whole heads at random during training (a forward pre-hook
on each attention output projection). ``--head-l1-group head`` charges each head the
root-mean-square of its output over tokens instead; ``--init DIR`` continues training a
saved model (for example without the penalty, to let unused heads learn the filler);
``--add-layers K`` stacks fresh layers on it (``--freeze-init``: train only those), and
``--answer-noise P`` trains a share P of task answers on a wrong answer (one share, or
one per task such as ``ioi=0.05,docstring=0.1``; ``--noise-target near`` makes the wrong
answer the near miss instead of any other candidate).

The defaults reproduce the shipped model with ``--seed 1``, in two phases: 5000 steps
with the penalty, then ``--continue-steps`` (5000) steps without it on 70% stories, 13%
filler and 17% task sentences (``data.CONTINUE_MIX``), so that heads the tasks leave
unused learn ordinary text instead of staying silent. ``--continue-steps 0`` stops after
the first phase (the shipped recipe before the second phase was added).

Writes model.safetensors, config.json and the tokenizer files to ``--out``; run
``python -m sae_circuits_widget.organism.ground_truth --model DIR`` afterwards for
circuits.json and the model card.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformer_lens.model_bridge.sources.native.init import initialize_native_model
from transformer_lens.model_bridge.sources.native.model import NativeModel

from ..tasks import TASK_NAMES
from .data import CONTINUE_MIX, NOISE_TARGETS, DataSource
from .model import load_native, make_config, new_tokenizer, save_native


def add_head_dropout(model: NativeModel, p: float) -> list:
    """Zero each head's output with probability ``p`` (per example) while training."""
    handles = []
    H = model.cfg.n_heads

    def hook(module, args):
        if not module.training or p <= 0:
            return None
        (x,) = args
        b, s, hd = x.shape
        keep = (torch.rand(b, 1, H, 1) >= p).to(x.dtype) / (1 - p)
        return ((x.view(b, s, H, hd // H) * keep).view(b, s, hd),)

    for block in model.layers:
        handles.append(block.attn.o.register_forward_pre_hook(hook))
    return handles


PENALTY_GROUPS = ("token", "head")


class HeadOutputNorms:
    """Records, on every forward pass, the mean over tokens of each head's output norm.

    ``penalty()`` is a group-lasso term (sum over heads of ``||z_h W_O^h||``, averaged
    over real tokens): it pushes each computation onto few heads, so circuits come out
    sparse instead of smeared over every head of a layer.
    """

    def __init__(self, model: NativeModel, layers: list[int] | None = None, free: int = 0, group: str = "token"):
        if group not in PENALTY_GROUPS:
            raise ValueError(f"group must be one of {PENALTY_GROUPS}, got {group!r}")
        self.group = group
        self.H = model.cfg.n_heads
        self.free = free  # the last ``free`` heads of every layer are not penalised
        self.norms: list[torch.Tensor] = []
        layers = range(len(model.layers)) if layers is None else layers
        self.handles = [model.layers[l].attn.o.register_forward_pre_hook(self._hook) for l in layers]

    def _hook(self, module, args):
        if not module.training:
            return None
        (x,) = args
        b, s, hd = x.shape
        z = x.view(b, s, self.H, hd // self.H)
        w = module.weight.view(module.weight.shape[0], self.H, hd // self.H)  # [d_model, H, d_head]
        out = torch.einsum("bshd,mhd->bshm", z, w)
        self.norms.append(out.norm(dim=-1)[..., : self.H - self.free])  # [b, s, H - free]
        return None

    def penalty(self, tokens_mask: torch.Tensor) -> torch.Tensor:
        """``group="token"``: sum over heads of the mean over tokens of ``||out||`` (an L1
        over tokens, so heads also fall silent on the tokens they are not needed at).
        ``group="head"``: sum over heads of the root-mean-square of ``||out||`` over tokens
        (one group per head: unneeded heads die, but a head in use is not pushed to be
        silent elsewhere)."""
        m = tokens_mask.to(self.norms[0].dtype)
        count = m.sum().clamp(min=1)
        if self.group == "token":
            total = sum(n.sum(-1) for n in self.norms)  # [b, s]
            value = (total * m).sum() / count
        else:
            value = sum((((n ** 2) * m[..., None]).sum((0, 1)) / count + 1e-12).sqrt().sum() for n in self.norms)
        self.norms = []
        return value

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


PENALTY_TEXT = ("all", "tasks")
CONTINUE_STEPS = 5000  # second phase of the shipped recipe (see train_recipe)


def penalty_mask(ids: torch.Tensor, kinds: list[str], pad: int, on: str = "all") -> torch.Tensor:
    """The tokens whose head outputs the group lasso sees: real tokens of every sequence
    (``on="all"``) or only of task sentences (``on="tasks"``)."""
    real = ids != pad
    if on == "all":
        return real
    task_rows = torch.tensor([k in TASK_NAMES for k in kinds])
    return real & task_rows[:, None]


def grow(model: NativeModel, cfg, add_layers: int, seed: int = 0):
    """A copy of ``model`` with ``add_layers`` fresh attention layers on top.

    The new layers are initialised like a new model's, except that their output
    projections start at zero, so the grown model first computes exactly what ``model``
    does. Returns ``(grown, cfg)``.
    """
    if add_layers <= 0:
        return model, cfg
    new_cfg = make_config(cfg.d_vocab, cfg.n_layers + add_layers, cfg.n_heads, cfg.d_model, cfg.n_ctx, seed=seed)
    torch.manual_seed(seed)
    grown = NativeModel(new_cfg)
    initialize_native_model(grown, new_cfg)
    grown.load_state_dict(model.state_dict(), strict=False)  # the new layers' weights stay fresh
    with torch.no_grad():
        for block in grown.layers[cfg.n_layers:]:
            block.attn.o.weight.zero_()
            block.attn.o.bias.zero_()
    return grown, new_cfg


def loss_fn(model: NativeModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logits = model(ids)[:, :-1]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    ce = ce.view(mask.shape)
    return (ce * mask).sum() / mask.sum().clamp(min=1)


def build(seed: int, n_layers: int, n_heads: int, d_model: int, n_ctx: int = 64):
    tok = new_tokenizer()
    cfg = make_config(len(tok), n_layers, n_heads, d_model, n_ctx, seed=seed)
    torch.manual_seed(seed)
    model = NativeModel(cfg)
    initialize_native_model(model, cfg)
    return model, cfg, tok


@torch.no_grad()
def quick_accuracy(model: NativeModel, data: DataSource, n: int = 256) -> dict[str, float]:
    """Top-1 accuracy on the trained answer of fresh examples, per task kind."""
    model.eval()
    out = {}
    for kind in TASK_NAMES:
        exs = [getattr(data, kind)() for _ in range(n)]
        ids, mask, _ = data.encode(exs)
        logits = model(ids)
        last = torch.tensor([int(torch.nonzero(m).max()) for m in mask])
        pred = logits[torch.arange(len(exs)), last].argmax(-1)
        tgt = ids[torch.arange(len(exs)), last + 1]
        if kind == "greater_than":
            # correct if the predicted year is above the start year
            yy = torch.tensor([e.start_yy for e in exs])
            num = {data.vocab[f"{i:02d}"]: i for i in range(100)}
            out[kind] = float(np.mean([num.get(int(p), -1) > int(y) for p, y in zip(pred, yy)]))
        else:
            out[kind] = float((pred == tgt).float().mean())
    model.train()
    return out


def train(seed: int = 0, out: str | Path | None = None, steps: int = 5000, batch: int = 64,
          lr: float = 2e-3, warmup: int = 300, n_layers: int = 3, n_heads: int = 8, d_model: int = 128,
          head_dropout: float = 0.0, weight_decay: float = 0.01, progress: bool = True,
          mix: dict | None = None, log_every: int = 500, gt_plain: float = 0.3,
          ioi_plain: float = 0.4, head_l1: float = 0.01, head_l1_layers: list[int] | None = None,
          head_l1_until: float = 1.0, head_l1_free: int = 0, task_lm: float = 0.0,
          head_l1_on: str = "all", head_l1_group: str = "token", init: str | Path | None = None,
          add_layers: int = 0, freeze_init: bool = False, answer_noise: float | dict[str, float] = 0.0,
          noisy_tasks: str = "ioi_docstring", noise_target: str = "spread", first_phase: dict | None = None):
    """Train and (if ``out``) save. Returns (model, cfg, tokenizer, history).

    ``head_l1_on``: ``"all"`` penalises head outputs on every sequence, ``"tasks"`` only
    on task sentences (filler and stories are left free). ``add_layers`` (with ``init``)
    stacks fresh layers on the saved model; ``freeze_init`` trains only those.
    """
    if head_l1_on not in PENALTY_TEXT:
        raise ValueError(f"head_l1_on must be one of {PENALTY_TEXT}, got {head_l1_on!r}")
    torch.manual_seed(seed)
    random.seed(seed)
    if init is not None:  # continue from a saved model (its architecture wins)
        model, cfg, tok = load_native(Path(init))
        n_init = cfg.n_layers
        model, cfg = grow(model, cfg, add_layers, seed)
        if freeze_init:
            for name, p in model.named_parameters():
                layer = name.split(".")[1] if name.startswith("layers.") else None
                p.requires_grad_(layer is not None and int(layer) >= n_init)
    elif add_layers or freeze_init:
        raise ValueError("add_layers and freeze_init need init (a saved model to start from)")
    else:
        model, cfg, tok = build(seed, n_layers, n_heads, d_model)
    data = DataSource(tok, seed=seed, mix=mix, gt_plain=gt_plain, ioi_plain=ioi_plain, task_lm=task_lm,
                      answer_noise=answer_noise, noisy_tasks=noisy_tasks, noise_target=noise_target)
    handles = add_head_dropout(model, head_dropout) if head_dropout > 0 else []
    norms = HeadOutputNorms(model, head_l1_layers, head_l1_free, head_l1_group) if head_l1 > 0 else None
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * t)) * 0.95 + 0.05

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    model.train()
    history = []
    bar = tqdm(range(steps), disable=not progress, desc="train", mininterval=2)
    ema = None
    for step in bar:
        if norms is not None and step >= head_l1_until * steps:  # the penalty is switched off
            norms.remove()
            norms = None
        ids, mask, kinds = data.batch(batch)
        loss = loss_fn(model, ids, mask)
        if norms is not None:
            loss = loss + head_l1 * norms.penalty(penalty_mask(ids, kinds, data.pad, head_l1_on))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        lv = float(loss.detach())
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        history.append(lv)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{ema:.3f}")
        if log_every and (step + 1) % log_every == 0:
            acc = quick_accuracy(model, data, n=128)
            tqdm.write(f"step {step + 1} loss {ema:.3f} acc " + " ".join(f"{k}={v:.2f}" for k, v in acc.items()))
    for h in handles:
        h.remove()
    if norms is not None:
        norms.remove()
    model.eval()
    if out is not None:
        save_native(model, cfg, tok, Path(out), extra=dict(
            train=dict(seed=seed, steps=steps, batch=batch, lr=lr, warmup=warmup,
                       head_dropout=head_dropout, head_l1=head_l1, head_l1_layers=head_l1_layers,
                       head_l1_until=head_l1_until, head_l1_free=head_l1_free, task_lm=task_lm,
                       head_l1_on=head_l1_on, head_l1_group=head_l1_group,
                       init="first phase" if first_phase else None if init is None else str(init),
                       add_layers=add_layers, freeze_init=freeze_init, answer_noise=answer_noise,
                       noisy_tasks=noisy_tasks, noise_target=noise_target,
                       weight_decay=weight_decay, mix=data.mix,
                       gt_plain=gt_plain, ioi_plain=ioi_plain, n_ctx=cfg.n_ctx,
                       **({"first_phase": first_phase} if first_phase else {}))))
    return model, cfg, tok, history


def train_recipe(continue_steps: int = CONTINUE_STEPS, continue_mix: dict | None = None,
                 continue_warmup: int = 100, **kw):
    """The shipped recipe: ``train(**kw)`` with the head penalty, then ``continue_steps``
    more steps without it on ``continue_mix`` (mostly stories, ``data.CONTINUE_MIX``), so
    that heads the tasks leave unused learn ordinary text. ``continue_steps=0`` is
    ``train(**kw)`` alone. Both phases use ``kw``'s seed, batch and learning rate; the
    saved config.json records the first phase under ``train.first_phase``.
    """
    if not isinstance(continue_steps, int) or isinstance(continue_steps, bool) or continue_steps < 0:
        raise ValueError(f"continue_steps must be a whole number >= 0, got {continue_steps!r}")
    if continue_steps == 0:
        return train(**kw)
    out = kw.pop("out", None)
    with tempfile.TemporaryDirectory() as tmp:
        train(out=tmp, **kw)
        first = json.loads((Path(tmp) / "config.json").read_text())["train"]
        keep = {k: kw[k] for k in ("seed", "batch", "lr", "progress", "log_every", "weight_decay") if k in kw}
        return train(out=out, init=tmp, steps=continue_steps, warmup=continue_warmup, head_l1=0.0,
                     mix=dict(continue_mix or CONTINUE_MIX), first_phase=first, **keep)


def parse_noise(text: str) -> float | dict[str, float]:
    """``--answer-noise``: one share (``0.05``) or per-task shares (``ioi=0.05,docstring=0.1``)."""
    try:
        if "=" not in text:
            return float(text)
        return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(",") if item)}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share such as 0.05 or task=share pairs such as ioi=0.05,docstring=0.1, got {text!r}") from None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--head-dropout", type=float, default=0.0)
    ap.add_argument("--head-l1", type=float, default=0.01,
                    help="weight of the group-lasso penalty on per-head output norms")
    ap.add_argument("--head-l1-until", type=float, default=1.0,
                    help="share of the steps the head penalty is applied for (then it is switched off)")
    ap.add_argument("--head-l1-free", type=int, default=0, help="the last N heads of each layer go unpenalised")
    ap.add_argument("--task-lm", type=float, default=0.0,
                    help="loss weight on every other next token of task sentences (the answer has weight 1)")
    ap.add_argument("--head-l1-on", choices=PENALTY_TEXT, default="all",
                    help="penalise head outputs on all text, or on task sentences only")
    ap.add_argument("--head-l1-group", choices=PENALTY_GROUPS, default="token",
                    help="penalise each token's head output norm (token) or each head's RMS over tokens (head)")
    ap.add_argument("--head-l1-layers", default="", help="comma list of layers the penalty applies to (default: all)")
    ap.add_argument("--gt-plain", type=float, default=0.3,
                    help="share of greater-than examples in the plain evaluation template")
    ap.add_argument("--ioi-plain", type=float, default=0.4,
                    help="share of IOI examples without a third-name clause")
    ap.add_argument("--mix", default="", help="override mixture shares, e.g. lists=0.1,filler=0.05")
    ap.add_argument("--init", default=None, help="start from the model saved in this folder")
    ap.add_argument("--add-layers", type=int, default=0, help="with --init: stack this many fresh layers on top")
    ap.add_argument("--freeze-init", action="store_true", help="with --init: train only the added layers")
    ap.add_argument("--answer-noise", type=parse_noise, default=0.0,
                    help="share of IOI and docstring sentences trained on a wrong answer, "
                         "or one share per task, e.g. ioi=0.05,greater_than=0.02")
    ap.add_argument("--noisy-tasks", choices=("ioi_docstring", "all"), default="ioi_docstring",
                    help="which tasks a single --answer-noise share applies to")
    ap.add_argument("--noise-target", choices=NOISE_TARGETS, default="spread",
                    help="wrong answers: spread over the other candidates, or the near miss "
                         "(IOI: the subject either way)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--continue-steps", type=int, default=CONTINUE_STEPS,
                    help="then train this many steps without the head penalty on mostly stories "
                         "(the shipped recipe's second phase; 0: one phase only)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    from .data import MIX

    mix = dict(MIX)
    for item in filter(None, args.mix.split(",")):
        k, v = item.split("=")
        if k not in mix:
            raise ValueError(f"unknown mixture part {k!r}; choose from {', '.join(mix)}")
        mix[k] = float(v)
    if args.continue_steps < 0:
        ap.error(f"--continue-steps must be 0 or more, got {args.continue_steps}")
    train_recipe(
        continue_steps=args.continue_steps, mix=mix, seed=args.seed, out=args.out, steps=args.steps,
        batch=args.batch, lr=args.lr, n_layers=args.layers, n_heads=args.heads, d_model=args.d_model,
        head_dropout=args.head_dropout, head_l1=args.head_l1,
        head_l1_layers=[int(x) for x in args.head_l1_layers.split(",") if x] or None,
        head_l1_until=args.head_l1_until, head_l1_free=args.head_l1_free, task_lm=args.task_lm,
        head_l1_on=args.head_l1_on, head_l1_group=args.head_l1_group, init=args.init,
        add_layers=args.add_layers, freeze_init=args.freeze_init, answer_noise=args.answer_noise,
        noisy_tasks=args.noisy_tasks, noise_target=args.noise_target, warmup=args.warmup,
        gt_plain=args.gt_plain, ioi_plain=args.ioi_plain)
    print(f"saved to {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

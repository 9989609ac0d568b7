"""Switches tried on the organism's training recipe that did not ship.

``python -m research.organism_switches --seed 1 --out DIR [flags]`` trains the way
``python -m sae_circuits_widget.organism.train`` did before the shipped recipe became one
frozen ``TrainConfig``: the same flags, the same two phases (the switches act on the first;
``--continue-steps 0`` stops after it), the same data stream. With no switch set it trains
exactly what ``organism.train`` trains (``tests/test_switches.py`` checks it bit for bit),
so the rows of the model card's "Recipes tried" table can be rerun with the flags they
name. README.md says what each switch does and what it found.

The switches:

- head dropout (``--head-dropout P``): zero each head's output with probability P per
  example while training (a forward pre-hook on each attention output projection);
- penalty shape: only some layers (``--head-l1-layers``), switched off after a share of
  the steps (``--head-l1-until``), the last N heads of each layer left free
  (``--head-l1-free``), only on task sentences (``--head-l1-on tasks``), or one group per
  head, the root-mean-square of its output over tokens (``--head-l1-group head``);
- ``--task-lm W``: loss weight W on the other next tokens of task sentences;
- ``--mix ...,lists=S``: comma lists ("x , y , z . y ," -> "z"), the docstring lookup alone;
- answer noise (``--answer-noise``, ``--noisy-tasks``, ``--noise-target``): a share of
  task sentences trained on a wrong answer;
- continuing or growing a saved model (``--init DIR``, ``--add-layers K``,
  ``--freeze-init``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
from torch import Tensor
from transformer_lens.model_bridge.sources.native import NativeModel, initialize_native_model

from sae_circuits_widget.organism.data import GT_PLAIN, IOI_PLAIN, TASKS_MIX, DataSource, Example, Mix
from sae_circuits_widget.organism.model import load_native, make_config, save_native
from sae_circuits_widget.organism.train import (
    HeadOutputNorms,
    TrainConfig,
    TrainedOrganism,
    build,
    seed_everything,
    torch_threads,
    train_phase,
    train_steps,
)
from sae_circuits_widget.tasks import TASK_NAMES
from sae_circuits_widget.tasks import words as W
from sae_circuits_widget.tasks.generators import sample_docstring, sample_induction

NOISE_TARGETS = ("spread", "near")
PENALTY_GROUPS = ("token", "head")
PENALTY_TEXT = ("all", "tasks")
NoiseShares = Union[float, Mapping[str, float]]


@dataclass(frozen=True)
class Switches:
    """Every switch that did not ship; the defaults switch nothing on."""

    head_dropout: float = 0.0
    head_l1_layers: Optional[tuple[int, ...]] = None
    head_l1_until: float = 1.0
    head_l1_free: int = 0
    head_l1_on: str = "all"
    head_l1_group: str = "token"
    task_lm: float = 0.0
    lists: float = 0.0
    answer_noise: NoiseShares = 0.0
    noisy_tasks: str = "ioi_docstring"
    noise_target: str = "spread"
    init: Optional[str] = None
    add_layers: int = 0
    freeze_init: bool = False

    def __post_init__(self) -> None:
        if self.head_l1_on not in PENALTY_TEXT:
            raise ValueError(f"head_l1_on must be one of {PENALTY_TEXT}, got {self.head_l1_on!r}")
        if self.head_l1_group not in PENALTY_GROUPS:
            raise ValueError(f"head_l1_group must be one of {PENALTY_GROUPS}, got {self.head_l1_group!r}")
        if (self.add_layers or self.freeze_init) and self.init is None:
            raise ValueError("add_layers and freeze_init need init (a saved model to start from)")
        noise_shares(self.answer_noise, self.noisy_tasks)
        if self.noise_target not in NOISE_TARGETS:
            raise ValueError(f"noise_target must be one of {NOISE_TARGETS}, got {self.noise_target!r}")


# ----------------------------------------------------------------------------- data
def noise_shares(answer_noise: NoiseShares, noisy_tasks: str = "ioi_docstring") -> dict[str, float]:
    """Per-task answer-noise shares from one number (IOI and docstring, or every task with
    ``noisy_tasks="all"``) or from a dict of task -> share."""
    if isinstance(answer_noise, Mapping):
        bad = sorted(set(answer_noise) - set(TASK_NAMES))
        if bad:
            raise ValueError(f"unknown task {bad[0]!r} in answer noise; choose from {', '.join(TASK_NAMES)}")
        shares = {k: float(v) for k, v in answer_noise.items()}
    else:
        if noisy_tasks not in ("ioi_docstring", "all"):
            raise ValueError(f"noisy_tasks must be 'ioi_docstring' or 'all', got {noisy_tasks!r}")
        kinds = TASK_NAMES if noisy_tasks == "all" else ("ioi", "docstring")
        shares = {k: float(answer_noise) for k in kinds}
    for k, v in shares.items():
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"answer noise for {k} must be a share between 0 and 1, got {v}")
    return shares


class SwitchData(DataSource):
    """The organism's training data plus comma lists, wrong answers and ``task_lm``.

    Wrong answers are drawn after everything else an example draws, and only for a task
    with a share above 0, so the stream without noise is the shipped one.
    """

    KINDS = (*DataSource.KINDS, "lists")

    def __init__(self, tokenizer, seed: int = 0, mix: Mix | Mapping[str, float] = TASKS_MIX,
                 gt_plain: float = GT_PLAIN, ioi_plain: float = IOI_PLAIN, task_lm: float = 0.0,
                 answer_noise: NoiseShares = 0.0, noisy_tasks: str = "ioi_docstring",
                 noise_target: str = "spread"):
        self.noise = noise_shares(answer_noise, noisy_tasks)
        if noise_target not in NOISE_TARGETS:
            raise ValueError(f"noise_target must be one of {NOISE_TARGETS}, got {noise_target!r}")
        self.noise_target = noise_target
        self.task_lm = task_lm
        super().__init__(tokenizer, seed=seed, mix=mix, gt_plain=gt_plain, ioi_plain=ioi_plain)

    def _noisy(self, kind: str, answer: str, wrong: Callable[[], list[str]]) -> str:
        """``answer``, or with ``kind``'s noise share one of ``wrong()`` (no draw when the
        share is 0)."""
        share = self.noise.get(kind, 0.0)
        if share > 0 and self.rng.random() < share:
            return self.rng.choice(wrong())
        return answer

    def ioi(self) -> Example:
        ex = super().ioi()
        words = ex.text.replace(",", " ").replace(".", " ").split()
        subject = [w for w in dict.fromkeys(words) if w in W.NAMES and words.count(w) == 2]
        ex.answer = self._noisy("ioi", ex.answer, lambda: subject)
        return ex

    def greater_than(self) -> Example:
        ex = super().greater_than()
        yy = ex.start_yy
        # near: the start year itself; spread: any year up to it
        ex.answer = self._noisy("greater_than", ex.answer, lambda: [f"{y:02d}" for y in (
            [yy] if self.noise_target == "near" else range(1, yy + 1))])
        return ex

    def docstring(self) -> Example:
        ex = sample_docstring(self.doc_pools, self.rng, gaps=True)
        answer = self._noisy("docstring", ex["answer"], lambda: self._docstring_wrong(ex))
        return Example(ex["positive"], answer, "docstring")

    def induction(self) -> Example:
        ex = sample_induction(self.ind_pool, self.rng)
        answer = self._noisy("induction", ex["answer"], lambda: self._induction_wrong(ex))
        return Example(ex["positive"], answer, "induction", train_from=len(ex["seq"]) + 1)

    def _docstring_wrong(self, ex: dict) -> list[str]:
        """near: the argument after the right one (found the same way, one step further),
        or the last documented one when the right one ends the list; spread: any other
        argument."""
        if self.noise_target == "spread":
            return [a for a in ex["args"] if a != ex["answer"]]
        last = ex["documented"][-1]
        return [ex["args"][last + 2] if last + 2 < len(ex["args"]) else ex["args"][last]]

    def _induction_wrong(self, ex: dict) -> list[str]:
        """near: the word two after the earlier copy (or the current word at the end of
        the sequence); spread: any other pool word."""
        if self.noise_target == "spread":
            return [w for w in self.ind_pool if w != ex["answer"]]
        j = ex["j"] + 1
        return [ex["seq"][j] if j < len(ex["seq"]) else ex["seq"][ex["j"] - 1]]

    def lists(self) -> Example:
        """Comma-separated lists, repeated in part: "x , y , z , w . y ," -> "z".

        The docstring task looks up the argument after a name in the signature, two
        tokens on (a comma between); this teaches that lookup on its own.
        """
        r = self.rng
        pool = self.doc_pools["args"] if r.random() < 0.5 else self.ind_pool
        n = r.randint(4, 7)
        items = r.sample(pool, n)
        i = r.randint(0, n - 2)
        head = " , ".join(items)
        mid = " ".join(r.sample(self.doc_pools["desc"], r.randint(0, 3)))
        t = f"( {head} ) {mid} {items[i]} ,".replace("  ", " ")
        return Example(t, items[i + 1], "lists")

    def loss_weights(self, example: Example, n_targets: int) -> list[float]:
        m = super().loss_weights(example, n_targets)
        if self.task_lm and example.kind not in ("filler", "stories"):
            m = [w if w else self.task_lm for w in m]
        return m


def mix_with_lists(mix: Mix, lists: float) -> dict[str, float]:
    """``mix``'s shares with comma lists between filler and stories (the order the kinds
    were drawn in when lists were part of the package)."""
    shares = mix.shares()
    stories = shares.pop("stories")
    return {**shares, "lists": float(lists), "stories": stories}


# ----------------------------------------------------------------------------- the penalty
class SwitchNorms(HeadOutputNorms):
    """Head output norms with the last ``free`` heads of each layer left out, penalised
    per token (``group="token"``, the shipped penalty) or per head (``"head"``: the sum
    over heads of the root-mean-square of ``||out||`` over tokens, so unneeded heads die
    but a head in use is not pushed to be silent elsewhere)."""

    def __init__(self, model: NativeModel, layers: Optional[list[int]] = None, free: int = 0, group: str = "token"):
        if group not in PENALTY_GROUPS:
            raise ValueError(f"group must be one of {PENALTY_GROUPS}, got {group!r}")
        self.free, self.group = free, group
        super().__init__(model)
        if layers is not None:  # only these layers are penalised
            for layer, handle in enumerate(self.handles):
                if layer not in layers:
                    handle.remove()
            self.handles = [h for layer, h in enumerate(self.handles) if layer in layers]

    def head_norms(self, module, x):
        return super().head_norms(module, x)[..., : self.H - self.free]

    def penalty(self, tokens_mask: Tensor) -> Tensor:
        if self.group == "token":
            return super().penalty(tokens_mask)
        m = tokens_mask.to(self.norms[0].dtype)
        count = m.sum().clamp(min=1)
        value = sum((((n ** 2) * m[..., None]).sum((0, 1)) / count + 1e-12).sqrt().sum() for n in self.norms)
        self.norms = []
        return value


def penalty_mask(ids: Tensor, kinds: list[str], pad: int, on: str = "all") -> Tensor:
    """The tokens whose head outputs the penalty sees: real tokens of every sequence
    (``on="all"``) or only of task sentences (``on="tasks"``)."""
    real = ids != pad
    if on == "all":
        return real
    task_rows = torch.tensor([k in TASK_NAMES for k in kinds])
    return real & task_rows[:, None]


class SwitchPenalty:
    """The head-output penalty under the switches: ``weight`` x :class:`SwitchNorms`'s
    penalty on :func:`penalty_mask`'s tokens, until ``until`` x ``steps`` steps."""

    def __init__(self, model: NativeModel, weight: float, pad: int, switches: Switches, steps: int):
        self.norms: Optional[SwitchNorms] = SwitchNorms(
            model, list(switches.head_l1_layers) if switches.head_l1_layers else None,
            switches.head_l1_free, switches.head_l1_group)
        self.weight, self.pad, self.on = weight, pad, switches.head_l1_on
        self.stop = switches.head_l1_until * steps

    def __call__(self, step: int, ids: Tensor, kinds: list[str]) -> Optional[Tensor]:
        if self.norms is None:
            return None
        if step >= self.stop:  # switched off from here on
            self.remove()
            return None
        return self.weight * self.norms.penalty(penalty_mask(ids, kinds, self.pad, self.on))

    def remove(self) -> None:
        if self.norms is not None:
            self.norms.remove()
            self.norms = None


# ----------------------------------------------------------------------------- the model
def add_head_dropout(model: NativeModel, p: float) -> list:
    """Zero each head's output with probability ``p`` (per example) while training."""
    H = model.cfg.n_heads

    def hook(module, args):
        if not module.training or p <= 0:
            return None
        (x,) = args
        b, s, hd = x.shape
        keep = (torch.rand(b, 1, H, 1) >= p).to(x.dtype) / (1 - p)
        return ((x.view(b, s, H, hd // H) * keep).view(b, s, hd),)

    return [block.attn.o.register_forward_pre_hook(hook) for block in model.layers]


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


# ----------------------------------------------------------------------------- training
def train_with_switches(config: TrainConfig, switches: Switches = Switches(), out: str | Path | None = None,
                        threads: Optional[int] = None, progress: bool = True) -> TrainedOrganism:
    """``organism.train.train`` with the switches acting on the tasks phase.

    With ``switches.init`` the tasks phase continues that saved model (its architecture
    wins over ``config``'s). The stories phase is the shipped one: no switch, the
    package's greater-than and IOI shares, every parameter trained.
    """
    sw = switches
    phase = config.tasks_phase
    with torch_threads(threads):
        seed_everything(config.seed)
        if sw.init is not None:
            model, cfg, tok = load_native(Path(sw.init))
            n_init = cfg.n_layers
            model, cfg = grow(model, cfg, sw.add_layers, config.seed)
            if sw.freeze_init:
                for name, p in model.named_parameters():
                    layer = name.split(".")[1] if name.startswith("layers.") else None
                    p.requires_grad_(layer is not None and int(layer) >= n_init)
        else:
            model, cfg, tok = build(config)
        data = SwitchData(tok, seed=config.seed, mix=mix_with_lists(phase.mix, sw.lists),
                          gt_plain=config.gt_plain, ioi_plain=config.ioi_plain, task_lm=sw.task_lm,
                          answer_noise=sw.answer_noise, noisy_tasks=sw.noisy_tasks, noise_target=sw.noise_target)
        handles = add_head_dropout(model, sw.head_dropout) if sw.head_dropout > 0 else []
        penalty = SwitchPenalty(model, phase.head_l1, data.pad, sw, phase.steps) if phase.head_l1 > 0 else None
        history = {"tasks_phase": train_steps(model, data, config, phase.steps, phase.warmup, penalty, progress,
                                              "tasks phase")}
        for h in handles:
            h.remove()
        if penalty is not None:
            penalty.remove()
        if config.stories_phase.steps:
            seed_everything(config.seed)
            for p in model.parameters():
                p.requires_grad_(True)
            shipped_data = dataclasses.replace(config, gt_plain=GT_PLAIN, ioi_plain=IOI_PLAIN)
            history["stories_phase"] = train_phase(model, tok, shipped_data, config.stories_phase, progress,
                                                   "stories phase")
    if out is not None:
        record = {"research": "research.organism_switches", "config": config.to_dict(),
                  "switches": dataclasses.asdict(sw)}
        save_native(model, cfg, tok, Path(out), extra={"train": record})
    return TrainedOrganism(model, cfg, tok, history)


# ----------------------------------------------------------------------------- CLI
def parse_noise(text: str) -> NoiseShares:
    """``--answer-noise``: one share (``0.05``) or per-task shares (``ioi=0.05,docstring=0.1``)."""
    try:
        if "=" not in text:
            return float(text)
        return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(",") if item)}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share such as 0.05 or task=share pairs such as ioi=0.05,docstring=0.1, got {text!r}") from None


def config_and_switches(args: argparse.Namespace) -> tuple[TrainConfig, Switches]:
    """The flags as a ``TrainConfig`` (the shipped recipe where a flag is not given) and
    the ``Switches``."""
    shares = mix_with_lists(TASKS_MIX, 0.0)
    for item in filter(None, args.mix.split(",")):
        k, _, v = item.partition("=")
        if k not in shares:
            raise ValueError(f"unknown mixture part {k!r}; choose from {', '.join(shares)}")
        shares[k] = float(v)
    lists = shares.pop("lists")
    base = TrainConfig()
    config = dataclasses.replace(
        base, seed=args.seed, n_layers=args.layers, n_heads=args.heads, d_model=args.d_model, batch=args.batch,
        lr=args.lr, gt_plain=args.gt_plain, ioi_plain=args.ioi_plain,
        tasks_phase=dataclasses.replace(base.tasks_phase, steps=args.steps, warmup=args.warmup,
                                        head_l1=args.head_l1, mix=Mix(**shares)),
        stories_phase=dataclasses.replace(base.stories_phase, steps=args.continue_steps))
    layers = tuple(int(x) for x in args.head_l1_layers.split(",") if x) or None
    switches = Switches(
        head_dropout=args.head_dropout, head_l1_layers=layers, head_l1_until=args.head_l1_until,
        head_l1_free=args.head_l1_free, head_l1_on=args.head_l1_on, head_l1_group=args.head_l1_group,
        task_lm=args.task_lm, lists=lists, answer_noise=args.answer_noise, noisy_tasks=args.noisy_tasks,
        noise_target=args.noise_target, init=args.init, add_layers=args.add_layers, freeze_init=args.freeze_init)
    return config, switches


def parser() -> argparse.ArgumentParser:
    c = TrainConfig()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=c.seed)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=c.tasks_phase.steps, help="steps of the first phase")
    ap.add_argument("--batch", type=int, default=c.batch)
    ap.add_argument("--lr", type=float, default=c.lr)
    ap.add_argument("--layers", type=int, default=c.n_layers)
    ap.add_argument("--heads", type=int, default=c.n_heads)
    ap.add_argument("--d-model", type=int, default=c.d_model)
    ap.add_argument("--warmup", type=int, default=c.tasks_phase.warmup, help="warmup steps of the first phase")
    ap.add_argument("--head-l1", type=float, default=c.tasks_phase.head_l1,
                    help="weight of the group-lasso penalty on per-head output norms")
    ap.add_argument("--gt-plain", type=float, default=c.gt_plain,
                    help="share of greater-than examples in the plain evaluation template")
    ap.add_argument("--ioi-plain", type=float, default=c.ioi_plain, help="share of IOI examples without a third name")
    ap.add_argument("--mix", default="", help="override first-phase mixture shares, e.g. lists=0.1,filler=0.05")
    ap.add_argument("--continue-steps", type=int, default=c.stories_phase.steps,
                    help="steps of the second (stories) phase; 0: the first phase only")
    ap.add_argument("--head-dropout", type=float, default=0.0)
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
    ap.add_argument("--threads", type=int, default=1)
    return ap


def main(argv=None) -> None:
    ap = parser()
    args = ap.parse_args(argv)
    try:
        config, switches = config_and_switches(args)
    except ValueError as e:
        ap.error(str(e))
    t0 = time.time()
    train_with_switches(config, switches, args.out, threads=args.threads)
    print(f"saved to {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

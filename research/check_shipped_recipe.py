"""Check that ``organism.train`` still trains the recipe the shipped weights came from,
and that ``research.organism_switches`` still trains what each tried switch trained.

Retraining the shipped model takes about 85 minutes on two cores, so instead this runs
the trainer of an earlier commit (default ``BASE``: the two-phase trainer with every
experiment switch, before the recipe became one ``TrainConfig``) and the current code
from the same seed, and compares every parameter bit for bit:

1. ``shipped``: ``organism.train`` on the shipped recipe, each phase stopped after
   ``--steps`` steps (the learning-rate schedule is that of the full 5000 steps); the old
   trainer saves the first phase and reloads it for the second, the new one continues in
   memory.
2. ``short``: both phases ``--steps`` steps long with the accuracy probe every
   ``--steps // 2`` steps, so the probe's draws from the data stream are covered too.
3. ``switch: ...``: ``research.organism_switches`` against the old trainer's flags, one
   case per switch (a 2 x 4 model, ``--steps`` steps in the first phase and half as many
   in the second).

Usage (from the repository root; needs git and the commit)::

    python -m research.check_shipped_recipe [--commit BASE] [--steps 20] [--seed 1]

Prints one line per case and exits with status 1 when any parameter differs.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from research import organism_switches as R
from sae_circuits_widget.organism import train as new

BASE = "1f29718"
"""The last commit with the old trainer (``train(**27 keyword arguments)`` and ``train_recipe``)."""

REPO = Path(__file__).resolve().parent.parent


def old_trainer(commit: str = BASE):
    """The ``organism/train.py`` (and its ``data.py``) of ``commit``, imported as a package
    of its own; its relative imports of the rest of the package point at today's."""
    root = Path(tempfile.mkdtemp(prefix="old_trainer_"))
    pkg = root / f"old_organism_{commit}"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("train", "data"):
        src = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:sae_circuits_widget/organism/{name}.py"],
                             capture_output=True, text=True, check=True).stdout
        src = (src.replace("from ..tasks", "from sae_circuits_widget.tasks")
                  .replace("from .model import", "from sae_circuits_widget.organism.model import"))
        (pkg / f"{name}.py").write_text(src)
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{pkg.name}.train")


class _FirstSteps:
    """Stands in for ``tqdm`` in a trainer module: yields only the first ``n`` steps."""

    def __init__(self, n: int):
        self.n = n

    def __call__(self, iterable, **kwargs):
        return _Bar(itertools.islice(iterable, self.n))

    @staticmethod
    def write(text: str) -> None:
        print(text)


class _Bar:
    def __init__(self, it):
        self.it = it

    def __iter__(self):
        return iter(self.it)

    def set_postfix(self, **kwargs) -> None:
        pass


@contextmanager
def first_steps(n: int, *modules):
    saved = [m.tqdm for m in modules]
    for m in modules:
        m.tqdm = _FirstSteps(n)
    try:
        yield
    finally:
        for m, t in zip(modules, saved):
            m.tqdm = t


def compare(a: dict, b: dict) -> list[str]:
    """Names of the parameters that differ (or exist in one state dict only)."""
    return sorted(k for k in set(a) | set(b) if k not in a or k not in b or not torch.equal(a[k], b[k]))


def run_case(old, case: str, steps: int, seed: int) -> list[str]:
    if case == "shipped":
        config = new.TrainConfig(seed=seed)
        old_kw: dict = dict(seed=seed)
        with first_steps(steps, old, new):
            a = old.train_recipe(progress=False, **old_kw)[0].state_dict()
            b = new.train(config, progress=False).model.state_dict()
    else:
        every = max(1, steps // 2)
        config = new.TrainConfig.from_dict({
            "seed": seed, "accuracy_every": every,
            "tasks_phase": {"steps": steps, "warmup": 5}, "stories_phase": {"steps": steps, "warmup": 3}})
        a = old.train_recipe(seed=seed, steps=steps, warmup=5, continue_steps=steps, continue_warmup=3,
                             log_every=every, progress=False)[0].state_dict()
        b = new.train(config, progress=False).model.state_dict()
    return compare(a, b)


SMALL = dict(n_layers=2, n_heads=4, d_model=32, batch=8)


def switch_cases(old, folder: Path) -> list[tuple[str, dict, dict, "R.Switches"]]:
    """``(name, old trainer's keyword arguments, config fields, Switches)`` per switch."""
    four = {"ioi": 0.3, "greater_than": 0.3, "docstring": 0.3, "induction": 0.3}
    old_mix = sys.modules[f"{old.__package__}.data"].MIX  # with "lists" between filler and stories
    return [
        ("head dropout", dict(head_dropout=0.1), {}, R.Switches(head_dropout=0.1)),
        ("penalty on layer 0, off after half the steps", dict(head_l1_layers=[0], head_l1_until=0.5), {},
         R.Switches(head_l1_layers=(0,), head_l1_until=0.5)),
        ("free heads, one group per head", dict(head_l1_free=1, head_l1_group="head"), {},
         R.Switches(head_l1_free=1, head_l1_group="head")),
        ("penalty on task sentences, task_lm", dict(head_l1_on="tasks", task_lm=0.1), {},
         R.Switches(head_l1_on="tasks", task_lm=0.1)),
        ("lists, other template shares", dict(mix={**old_mix, "lists": 0.3}, gt_plain=0.7, ioi_plain=0.1),
         {"gt_plain": 0.7, "ioi_plain": 0.1}, R.Switches(lists=0.3)),
        ("near wrong answers on every task", dict(answer_noise=four, noise_target="near"), {},
         R.Switches(answer_noise=four, noise_target="near")),
        ("spread wrong answers, noisy_tasks=all", dict(answer_noise=0.3, noisy_tasks="all"), {},
         R.Switches(answer_noise=0.3, noisy_tasks="all")),
        ("init, one added layer, frozen", dict(init=str(folder), add_layers=1, freeze_init=True), {},
         R.Switches(init=str(folder), add_layers=1, freeze_init=True)),
    ]


def run_switch(old, old_kw: dict, fields: dict, switches, steps: int, seed: int) -> list[str]:
    every = max(1, steps // 2)
    a = old.train_recipe(seed=seed, steps=steps, warmup=2, continue_steps=every, log_every=every, progress=False,
                         **SMALL, **old_kw)[0]
    config = new.TrainConfig.from_dict({
        "seed": seed, "accuracy_every": every, **SMALL, **fields,
        "tasks_phase": {"steps": steps, "warmup": 2}, "stories_phase": {"steps": every}})
    b = R.train_with_switches(config, switches, progress=False).model
    return compare(a.state_dict(), b.state_dict())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commit", default=BASE, help=f"commit of the old trainer (default {BASE})")
    ap.add_argument("--steps", type=int, default=20, help="steps per phase (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="training seed (default 1, the shipped model's)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.steps < 2:
        ap.error(f"--steps must be 2 or more, got {args.steps}")
    torch.set_num_threads(args.threads)
    try:
        old = old_trainer(args.commit)
    except subprocess.CalledProcessError as e:
        ap.error(f"cannot read the old trainer at {args.commit}: {e.stderr.strip()}")
    failed = False

    def report(case: str, diff: list[str]) -> None:
        nonlocal failed
        failed |= bool(diff)
        print(f"{case}: " + ("every parameter bitwise equal" if not diff
                             else f"{len(diff)} parameters differ: {', '.join(diff[:5])}"), flush=True)

    for case in ("shipped", "short"):
        report(f"{case} ({args.steps} steps per phase, seed {args.seed})", run_case(old, case, args.steps, args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved"
        old.train(seed=args.seed, out=saved, steps=3, warmup=1, progress=False, log_every=0, **SMALL)
        for name, old_kw, fields, switches in switch_cases(old, saved):
            report(f"switch: {name}", run_switch(old, old_kw, fields, switches, args.steps, args.seed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

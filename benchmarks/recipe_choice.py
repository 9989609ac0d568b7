"""Choose the default discovery recipe by evidence: candidate settings, node AUC per task.

    python benchmarks/recipe_choice.py                         # choice data: shipped organism, prompt seeds 0-9
    python benchmarks/recipe_choice.py --prompt-seed-offset 100 # held-out prompt samples
    python benchmarks/recipe_choice.py --organism-dir DIR       # a held-out organism
    python benchmarks/recipe_choice.py --json out.json

Each candidate is a set of ``discover`` settings over the task's recommended ones
(``settings.recommended``). For seed ``s`` (0..N-1) the task's prompts are drawn with
``get_task(name, model, n, seed=s + offset)`` and the SAE is fit with ``seed=s``, so the
numbers vary over both prompts and SAE initialisations. Node AUC is computed against
every ground truth the task has (``task.ground_truths``: the mean-ablation circuit and
the circuit found by patching from the negatives), and for reference against the trivial
output-difference-norm score on the same prompts.

The ``ensemble`` candidate is ``n_saes = --ensemble`` paper-recipe SAEs: each fit with
its own seed ``s*K .. s*K+K-1`` (own training prompts and weights) on the same prompts, a
head's score the mean of its scores under each (``Settings.n_saes``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

CANDIDATES: dict[str, dict] = {
    "paper": {"n_saes": 1},
    "paper-last": {"n_saes": 1, "position": "last"},
    "paper-400f": {"n_saes": 1, "n_features": 400},
    "paper-20train": {"n_saes": 1, "n_train": 20},
    "stable": {"n_saes": 1, "recipe": "stable"},
    "stable-last": {"n_saes": 1, "recipe": "stable", "position": "last"},
    "ensemble": {},  # n_saes = --ensemble
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n", type=int, default=20, help="prompt pairs per task")
    ap.add_argument("--prompt-seed-offset", type=int, default=0, help="prompts from get_task(seed=s + offset)")
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--tasks", default=None)
    ap.add_argument("--ensemble", type=int, default=5, help="SAEs in the ensemble candidate")
    ap.add_argument("--organism-dir", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    import warnings

    from sae_circuits_widget.baselines.trivial import output_diff_norm
    from sae_circuits_widget.engine.activations import HeadOutputCache
    from sae_circuits_widget.engine.discover import discover
    from sae_circuits_widget.evaluation.metrics import evaluate_scores
    from sae_circuits_widget.organism import load_organism
    from sae_circuits_widget.tasks import TASK_NAMES, get_task

    warnings.simplefilter("ignore")
    model = load_organism(directory=args.organism_dir)
    tasks = args.tasks.split(",") if args.tasks else list(TASK_NAMES)
    names = [c for c in args.candidates.split(",") if c]
    out: dict = {"seeds": args.seeds, "n": args.n, "offset": args.prompt_seed_offset,
                 "organism_dir": args.organism_dir, "results": {}}
    t0 = time.perf_counter()
    for name in tasks:
        rows: dict[str, dict[str, list[float]]] = {c: {} for c in names + ["output_diff_norm"]}
        for s in range(args.seeds):
            task = get_task(name, model, n=args.n, seed=s + args.prompt_seed_offset)
            truths = dict(getattr(task, "ground_truths", None) or {"mean_ablation": task.ground_truth})
            cache = HeadOutputCache()
            scores: dict[str, np.ndarray] = {}
            silent: dict[str, float] = {}
            for c in names:
                extra = {"n_saes": args.ensemble} if c == "ensemble" else CANDIDATES[c]
                r = discover(model, task, seed=s, cache=cache, edges=False, **extra)
                scores[c] = r.node_scores
                silent[c] = r.sae_run.silent_fraction
            scores["output_diff_norm"] = output_diff_norm(model, task).node_scores
            for c, sc in scores.items():
                for gt_name, gt in truths.items():
                    rows[c].setdefault(gt_name, []).append(evaluate_scores(sc, gt)["node_auc"])
                if c in silent:
                    rows[c].setdefault("silent", []).append(silent[c])
        out["results"][name] = rows
        print(f"== {name}  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(format_table(out))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def format_table(out: dict) -> str:
    lines = [f"node AUC, mean +- std over {out['seeds']} seeds (prompt seed offset {out['offset']}, "
             f"{out['n']} pairs per task, organism {out['organism_dir'] or 'shipped'})"]
    for task, rows in out["results"].items():
        gts = [k for k in next(iter(rows.values())) if k != "silent"]
        lines.append(f"\n{task}")
        lines.append(f"  {'candidate':<18}" + "".join(f"{g:>22}" for g in gts) + f"{'silent':>10}")
        for c, vals in rows.items():
            cells = "".join(f"{np.mean(vals[g]):>15.3f} +- {np.std(vals[g]):.3f}" for g in gts)
            sil = f"{np.mean(vals['silent']):>10.2f}" if "silent" in vals else f"{'-':>10}"
            lines.append(f"  {c:<18}{cells}{sil}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

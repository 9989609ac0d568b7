"""The task check's thresholds (engine.task_check: 80% of positives solved, at most 75% of
negatives) on prompts and a model they were not chosen on: prompt seed 7, 20 pairs, on the
bundled model and on another organism trained by the same recipe (pass its folder).

    python benchmarks/task_check_heldout.py [ORGANISM_FOLDER ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from sae_circuits_widget import get_task, load_model
from sae_circuits_widget.engine.task_check import check_task
from sae_circuits_widget.organism import load_organism
from sae_circuits_widget.tasks import TASK_NAMES

torch.set_num_threads(1)
models = [("bundled model", load_model())] + [(f"organism at {p}", load_organism(directory=Path(p))) for p in sys.argv[1:]]
for label, model in models:
    for name in TASK_NAMES:
        check = check_task(model, get_task(name, model, n=20, seed=7))
        print(f"{label:<40} {name:<13} {check.summary():<55} warnings: {len(check.warnings)}")

"""Record the default discover's node scores, edge scores and codes on every built-in task
(bundled model, 12 pairs, seeds 0 and 1), or compare two such records.

Used to show that a refactor changes no result: run it on two checkouts (the older one
with ``PYTHONPATH=<old checkout>``) and compare::

    PYTHONPATH=/tmp/old python benchmarks/same_scores.py record old.json
    python benchmarks/same_scores.py record new.json
    python benchmarks/same_scores.py compare old.json new.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

TASKS = ("ioi", "greater_than", "docstring", "induction")
SEEDS = (0, 1)


def record(path: str) -> None:
    import torch

    import sae_circuits_widget as package
    from sae_circuits_widget import discover, get_task, load_model

    torch.set_num_threads(1)
    model = load_model()
    out: dict = {"package": package.__file__}
    for name in TASKS:
        for seed in SEEDS:
            r = discover(model, get_task(name, model, n=12, seed=seed), seed=seed)
            assert r.edge_scores is not None and r.codes is not None
            out[f"{name}/{seed}"] = {"node": r.node_scores.tolist(), "edge": r.edge_scores.tolist(), "codes": r.codes.tolist()}
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"recorded {len(out) - 1} runs of {package.__file__} in {path}")


def compare(old_path: str, new_path: str) -> int:
    with open(old_path) as f:
        old = json.load(f)
    with open(new_path) as f:
        new = json.load(f)
    print(f"old: {old['package']}\nnew: {new['package']}")
    differ = 0
    for key in (k for k in old if k != "package"):
        same = [np.array_equal(np.asarray(old[key][x]), np.asarray(new[key][x])) for x in ("node", "edge", "codes")]
        differ += not all(same)
        print(f"{key:<16} node {'same' if same[0] else 'DIFFER'}  edge {'same' if same[1] else 'DIFFER'}  "
              f"codes {'same' if same[2] else 'DIFFER'}")
    print("all identical" if not differ else f"{differ} run(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)

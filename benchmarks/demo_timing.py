"""Timing of the demo and of one prompt edit, on the bundled model.

    python benchmarks/demo_timing.py [--threads 2] [--seed 0]

Prints (1) the wall time of ``sae-circuits demo`` as a fresh process (imports, model
load, every task; the target is under a minute on 2 cores), (2) seconds per stage of
``discover`` for each task, and (3) the cost of re-running after editing one prompt in a
``Session`` (one forward pass plus the SAE fit) against a cold run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sae_circuits_widget.cli import main; sys.exit(main(['demo', '--seed', '%d']))" % args.seed,
        ],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - t
    print(proc.stdout)
    if proc.returncode:
        print(proc.stderr)
    print(f"sae-circuits demo as a fresh process: {wall:.1f} s (target < 60 s on 2 cores)\n")

    from sae_circuits_widget import Session, discover, get_task, load_model
    from sae_circuits_widget.cli import DEMO_PAIRS
    from sae_circuits_widget.tasks import TASK_NAMES

    t = time.perf_counter()
    model = load_model()
    first = time.perf_counter() - t
    t = time.perf_counter()
    model = load_model()
    print(f"load_model(): first call {first:.2f} s (includes importing TransformerLens), "
          f"again {time.perf_counter() - t:.3f} s")
    stages = ("validate", "activations", "sae_fit", "encode", "scores")
    print(f"{'task':<14}" + "".join(f"{s:>12}" for s in stages) + f"{'total':>10}")
    for name in TASK_NAMES:
        task = get_task(name, model, n=DEMO_PAIRS, seed=args.seed)
        r = discover(model, task, seed=args.seed)  # the task's recommended settings
        print(f"{name:<14}" + "".join(f"{r.timings[s]:>12.3f}" for s in stages) + f"{r.seconds:>10.2f}")

    task = get_task("ioi", model, n=DEMO_PAIRS, seed=args.seed)
    session = Session(model)
    t = time.perf_counter()
    session.discover(task.positives, task.negatives)
    cold = time.perf_counter() - t
    edited = list(task.positives)
    edited[0] = get_task("ioi", model, n=1, seed=args.seed + 1000).positives[0]  # a new prompt
    t = time.perf_counter()
    r = session.discover(edited, task.negatives)
    warm = time.perf_counter() - t
    print(f"\nSession, IOI: cold run {cold:.2f} s; after editing one prompt {warm:.2f} s "
          f"(activations {r.timings['activations']:.3f} s, SAE fit {r.timings['sae_fit']:.2f} s); "
          f"forward passes so far: {session.forward_prompts}")


if __name__ == "__main__":
    main()

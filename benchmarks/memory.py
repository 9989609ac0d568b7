"""Peak memory and time of ``discover`` as the number of prompts grows, on the bundled model.

    python benchmarks/memory.py [--task ioi] [--sizes 500 2000 5000 10000] [--threads 1]
                                [--json benchmarks/results/memory.json]

Each size runs in a fresh Python process, so each peak is its own: the process loads the
bundled model (``load_model()``), draws ``n`` prompt pairs of a built-in task
(``get_task(task, model, n=n)``: ``n`` positives and ``n`` negatives) and runs
``discover`` with the task's recommended settings. It reports

* ``peak_rss_mb``: the process's resident-set high-water mark (``getrusage``'s
  ``ru_maxrss``): everything, the interpreter, torch and the model included; the target
  is under 2,000 MB at 10,000 prompts per side (``validation.MAX_PROMPTS_PER_SIDE``);
* ``baseline_rss_mb``: the resident set just before ``discover`` (model loaded, prompts
  drawn), so ``peak - baseline`` is what ``discover`` itself added;
* ``discover_s`` and ``ms_per_prompt``: wall time of ``discover`` and that time per prompt
  (positives plus negatives);
* ``ms_per_prompt_besides_fit``: the same without the SAE fits, whose cost is fixed
  (``n_train`` prompts, whatever ``n``). Linear growth shows as a flat value here, while
  ``ms_per_prompt`` falls as the fixed cost is spread over more prompts;
* the seconds of each ``discover`` stage, and the size of the result saved as JSON
  (``to_json(include_sae=True)``), beside ``validation.MAX_FILE_BYTES``.

Runs on one torch thread by default (``--threads``), so the numbers do not depend on
what else the machine is doing with its other cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("validate", "activations", "sae_fit", "encode", "scores", "task_check")


def _rss_mb() -> float:
    """Current resident set of this process in MB (Linux ``/proc``; else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover - not Linux
        return _peak_mb()


def _peak_mb() -> float:
    """Resident-set high-water mark of this process in MB (``ru_maxrss`` is KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def run_one(task_name: str, n: int, threads: int, seed: int) -> dict:
    """One size, in this process: load, draw, discover; the numbers as a dict."""
    import warnings

    import torch

    torch.set_num_threads(threads)
    from sae_circuits_widget import discover, get_task, load_model

    t = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    task = get_task(task_name, model, n=n, seed=seed)
    draw_s = time.perf_counter() - t
    baseline = _rss_mb()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate prompts etc.: not what is measured here
        result = discover(model, task, seed=seed)
    seconds = time.perf_counter() - t
    n_prompts = len(task.positives) + len(task.negatives)
    return {
        "task": task_name,
        "n_per_side": n,
        "n_positives": len(task.positives),
        "n_negatives": len(task.negatives),
        "n_distinct_positives": len(set(task.positives)),
        "n_distinct_negatives": len(set(task.negatives)),
        "peak_rss_mb": round(_peak_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "discover_s": round(seconds, 3),
        "ms_per_prompt": round(1000 * seconds / n_prompts, 4),
        "ms_per_prompt_besides_fit": round(1000 * (seconds - float(result.timings.get("sae_fit", 0.0))) / n_prompts, 4),
        "result_json_mb": round(len(result.to_json(include_sae=True)) / 2**20, 2),
        "stages_s": {s: round(float(result.timings.get(s, 0.0)), 3) for s in STAGES},
        "load_model_s": round(load_s, 2),
        "get_task_s": round(draw_s, 2),
        "n_saes": _n_saes(result),
        "codes_shape": list(result.codes.shape),
    }


def _n_saes(result) -> int:
    run = getattr(result, "sae_run", None)
    if run is not None:
        return int(run.n_saes)
    return int((getattr(result, "extras", None) or {}).get("n_saes", 1))


def _child(task_name: str, n: int, threads: int, seed: int) -> dict:
    cmd = [
        sys.executable, __file__, "--one", str(n), "--task", task_name,
        "--threads", str(threads), "--seed", str(seed),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"size {n} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = (
        f"{'per side':>9} {'prompts':>8} {'peak MB':>8} {'base MB':>8} {'+MB':>6} {'discover s':>11} "
        f"{'ms/prompt':>10} {'w/o fit':>8} {'JSON MB':>8}  " + " ".join(f"{s:>11}" for s in STAGES)
    )
    lines = [head]
    for r in rows:
        total = r["n_positives"] + r["n_negatives"]
        lines.append(
            f"{r['n_per_side']:>9,} {total:>8,} {r['peak_rss_mb']:>8.0f} {r['baseline_rss_mb']:>8.0f} "
            f"{r['peak_rss_mb'] - r['baseline_rss_mb']:>6.0f} {r['discover_s']:>11.2f} {r['ms_per_prompt']:>10.3f} "
            f"{r['ms_per_prompt_besides_fit']:>8.3f} {r['result_json_mb']:>8.1f}  "
            + " ".join(f"{r['stages_s'][s]:>11.2f}" for s in STAGES)
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="ioi")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000, 10000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.task, args.one, args.threads, args.seed)))
        return

    rows = []
    t = time.perf_counter()
    for n in args.sizes:
        rows.append(_child(args.task, n, args.threads, args.seed))
        print(table(rows).splitlines()[-1] if len(rows) > 1 else table(rows), flush=True)
    wall = time.perf_counter() - t
    print()
    print(f"task {args.task!r}, seed {args.seed}, {args.threads} torch thread(s), one fresh process per size; "
          f"{rows[-1]['n_saes']} SAE(s) per run; total {wall:.0f} s")
    big = rows[-1]
    print(f"peak at {big['n_per_side']:,} per side: {big['peak_rss_mb']:.0f} MB (target < 2,000 MB)")
    if len(rows) > 1:
        small = rows[0]
        ratio = big["discover_s"] / max(small["discover_s"], 1e-9)
        size_ratio = (big["n_positives"] + big["n_negatives"]) / (small["n_positives"] + small["n_negatives"])
        besides = big["ms_per_prompt_besides_fit"] / max(small["ms_per_prompt_besides_fit"], 1e-9)
        print(f"time x{ratio:.1f} for x{size_ratio:.0f} prompts ({small['n_per_side']:,} -> {big['n_per_side']:,} per side); "
              f"time per prompt besides the SAE fits x{besides:.2f}")
    for r in rows:
        if r["n_distinct_positives"] < r["n_positives"] or r["n_distinct_negatives"] < r["n_negatives"]:
            print(f"  {r['n_per_side']:,} per side: {r['n_distinct_positives']:,} distinct positives, "
                  f"{r['n_distinct_negatives']:,} distinct negatives (the generator repeats some prompts)")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "task": args.task, "seed": args.seed, "threads": args.threads, "total_s": round(wall, 1),
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "rows": rows,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()

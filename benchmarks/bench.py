"""Every circuit-discovery method side by side on the bundled model; prints the table.

    python benchmarks/bench.py                       # all tasks, seed 0, one thread
    python benchmarks/bench.py --seeds 3 --json out/bench.json
    python benchmarks/bench.py --tasks ioi,induction --methods sae,acdc,eap
    python benchmarks/bench.py --chart out/roc.svg   # every method's ROC, one panel per task
    python benchmarks/bench.py --cpr-cmd-ablation mean   # CPR/CMD with mean instead of patching

Same run as ``sae-circuits bench``; see ``sae_circuits_widget.evaluation.benchmark`` for what each
column means. The last lines state the SAE method's speed-up over ACDC and whether it
reaches the 20x target in this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (0..N-1)")
    parser.add_argument("--n", type=int, default=20, help="prompt pairs per task")
    parser.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--cpr-cmd-ablation", choices=("patching", "mean"), default="patching",
                        help="ablation of heads outside the circuit for CPR/CMD (default: patching from "
                             "the matched negatives, as MIB)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--chart", metavar="PATH", help="also draw every method's ROC curve per task (.svg or .png)")
    parser.add_argument("--organism-dir", default=None, help="load the organism from this folder")
    parser.add_argument("--quiet", action="store_true", help="no per-method lines or progress bars")
    args = parser.parse_args(argv)
    if args.chart and Path(args.chart).suffix.lower() not in (".svg", ".png", ".json", ".html"):
        parser.error(f"--chart {args.chart}: name the file .svg or .png (or .json / .html)")

    import torch

    torch.set_num_threads(args.threads)
    from sae_circuits_widget.evaluation.benchmark import format_table, run_benchmark
    from sae_circuits_widget.organism import load_organism

    split = lambda s: None if s is None else [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    t0 = time.perf_counter()
    model = load_organism(directory=args.organism_dir)
    out = run_benchmark(
        model,
        split(args.tasks),
        args.seeds,
        methods=split(args.methods),
        n=args.n,
        threads=args.threads,
        cpr_cmd_ablation=args.cpr_cmd_ablation,
        progress=not args.quiet,
        log=None if args.quiet else lambda s: print(s, file=sys.stderr, flush=True),
    )
    wall = time.perf_counter() - t0
    print(format_table(out))
    speed = out.get("meta", {}).get("min_speedup_sae_vs_acdc")
    if speed is not None:
        verdict = "meets" if speed >= 20 else "does NOT meet"
        print(f"slowest-task SAE speed-up over ACDC: {speed:.1f}x ({verdict} the 20x target)")
    print(f"wall time including model load: {wall:.0f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.chart:
        from sae_circuits_widget.evaluation.charts import benchmark_roc_chart, save_chart

        Path(args.chart).parent.mkdir(parents=True, exist_ok=True)
        save_chart(benchmark_roc_chart(out), args.chart)
        print(f"wrote {args.chart}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``sae-circuits`` command.

    sae-circuits demo [--json PATH] [--seed N]
        every built-in task on the bundled model: top heads, ROC AUC against the
        model's known circuits, best F1, seconds.
    sae-circuits discover [--model NAME] (--task TASK | --prompts FILE.json) [--json PATH]
        scores of every head for one task or for your own prompts
        (FILE.json: {"positives": [...], "negatives": [...]}).
    sae-circuits bench [--model NAME] [--tasks ioi,docstring] [--seeds N] [--json PATH]
                       [--threads N]
        the discrete SAE side by side with the baselines (one torch thread on a CPU
        unless --threads says otherwise).

Errors on bad input print one line (``sae-circuits: error: ...``) and exit with status 2
(set ``SAE_CIRCUITS_DEBUG=1`` to see the traceback instead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from .settings import POSITIONS, RECIPES

DEMO_PAIRS = 20
"""Prompt pairs per task in the demo."""

def _fmt(x: Optional[float], digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _heads_text(heads: Sequence[tuple[int, int]]) -> str:
    return " ".join(f"{layer}.{head}" for layer, head in heads)


def format_demo_table(rows: list[dict[str, Any]], show_top: int = 5) -> str:
    """The demo table: task, circuit heads (ground truth of all heads), node AUC, edge AUC,
    best F1, the share of silent (prompt, head) vectors (no SAE feature fires), seconds,
    and the best-scoring heads as ``layer.head``."""
    header = ("task", "circuit heads", "node AUC", "edge AUC", "best F1", "silent", "seconds", f"top {show_top} heads found")
    body = [
        (
            r["task"],
            f"{r['n_ground_truth']} of {r['n_heads']}" if r["n_ground_truth"] else f"? of {r['n_heads']}",
            _fmt(r["node_auc"]),
            _fmt(r["edge_auc"]),
            _fmt(r["best_f1"]),
            _fmt(r.get("silent_fraction"), 2),
            f"{r['seconds']:.2f}",
            _heads_text(r["top_heads"][:show_top]),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in body]
    return "\n".join(out)


def run_demo(seed: int = 0, n: int = DEMO_PAIRS) -> dict[str, Any]:
    """Run every built-in task on the bundled model; return the demo's JSON dict."""
    from .discover import discover
    from .model import load_model, model_name
    from .tasks import TASK_NAMES, get_task

    model = load_model()
    tasks: dict[str, Any] = {}
    rows = []
    for name in TASK_NAMES:
        t0 = time.perf_counter()
        task = get_task(name, model, n=n, seed=seed)
        result = discover(model, task, seed=seed)  # the task's recommended settings
        seconds = time.perf_counter() - t0
        truth = task.ground_truth
        top = result.top_heads(len(truth) if truth else 5)
        ev = result.evaluate(truth) if truth else {}
        entry = {
            "node_auc": ev.get("node_auc"),
            "edge_auc": ev.get("edge_auc"),
            "best_f1": ev.get("best_f1"),
            "seconds": seconds,
            "n_heads": result.n_layers * result.n_heads,
            "n_ground_truth": len(truth) if truth else 0,
            "silent_fraction": result.extras["silent_fraction"],
            "settings": {k: result.settings[k] for k in ("n_features", "l1", "position", "recipe", "n_train")},
            "top_heads": [list(h) for h in top],
            "ground_truth": sorted(list(h) for h in truth) if truth else None,
        }
        tasks[name] = entry
        rows.append({"task": name, **entry, "top_heads": top})
    return {"model": model_name(model), "seed": seed, "n_pairs": n, "tasks": tasks, "_rows": rows}


def _cmd_demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = run_demo(seed=args.seed, n=args.n)
    rows = out.pop("_rows")
    print(f"model: {out['model']}  seed: {args.seed}  pairs per task: {args.n}")
    print(format_demo_table(rows))
    print(f"total: {time.perf_counter() - t0:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _read_prompts_file(path: str) -> dict[str, Any]:
    from .errors import FileFormatError
    from .serialization import read_json_text

    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"no such prompts file: {path!r}")
    data = read_json_text(p)
    if not isinstance(data, dict) or "positives" not in data or "negatives" not in data:
        raise FileFormatError(
            f"{path!r} must hold a JSON object {{\"positives\": [...], \"negatives\": [...]}}"
        )
    return data


def _cmd_discover(args: argparse.Namespace) -> int:
    from .discover import discover
    from .model import load_model, model_name

    if (args.task is None) == (args.prompts is None):
        raise ValueError("give exactly one of --task TASK or --prompts FILE.json")
    model = load_model(args.model)
    truth = None
    if args.task is not None:
        from .tasks import get_task

        task = get_task(args.task, model, n=args.n, seed=args.seed)
        result = discover(
            model, task, seed=args.seed, l1=args.l1, n_features=args.features,
            position=args.position, recipe=args.recipe, n_train=args.n_train,
        )
        truth = task.ground_truth
    else:
        data = _read_prompts_file(args.prompts)
        result = discover(
            model, positives=data["positives"], negatives=data["negatives"], seed=args.seed,
            l1=args.l1, n_features=args.features,
            position=args.position, recipe=args.recipe, n_train=args.n_train,
        )
    n_heads = result.n_heads
    flat = result.node_scores.reshape(-1)
    pooled = result.extras.get("edge_head_scores")
    pooled_flat = None if pooled is None else pooled.reshape(-1)
    order = sorted(range(flat.size), key=lambda i: (-flat[i], -(pooled_flat[i] if pooled_flat is not None else 0), i))
    print(f"model: {model_name(model)}  prompts: {int(result.is_positive.sum())} positive, "
          f"{int((~result.is_positive).sum())} negative  seconds: {result.seconds:.2f}")
    print(f"{'rank':>4}  {'head':>6}  {'node':>5}  {'edge':>7}" + ("  circuit" if truth else ""))
    for rank, i in enumerate(order[: args.top], start=1):
        head = (i // n_heads, i % n_heads)
        edge = "-" if pooled_flat is None else f"{pooled_flat[i]:.1f}"
        mark = ("  yes" if head in truth else "  ") if truth else ""
        print(f"{rank:>4}  {head[0]:>3}.{head[1]:<2}  {flat[i]:>5.0f}  {edge:>7}{mark}")
    ev = None
    if truth:
        ev = result.evaluate(truth)
        print(f"node AUC {ev['node_auc']:.3f}  edge AUC {_fmt(ev['edge_auc'])}  best F1 {ev['best_f1']:.3f}  "
              f"({len(truth)} ground-truth heads)")
    if args.json:
        out = {
            "model": model_name(model),
            "task": args.task,
            "settings": result.settings,
            "node_scores": result.node_scores.tolist(),
            "edge_head_scores": None if pooled is None else pooled.tolist(),
            "top_heads": [list(h) for h in result.top_heads(args.top)],
            "evaluation": ev,
            "seconds": result.seconds,
            "timings": result.timings,
        }
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _parse_seeds(text: str) -> list[int]:
    """``"3"`` -> seeds 0, 1, 2 (a count, as in ``--seeds N``); ``"4,7"`` -> seeds 4 and 7."""
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            return list(range(count))
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds takes a count (e.g. 3) or a comma-separated list (e.g. 0,4); got {text!r}") from None


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from .benchmark import format_table, run_benchmark
    except ImportError as exc:
        raise ValueError(f"the benchmark module is not available ({exc}); reinstall the package") from None
    from .model import load_model
    from .tasks import TASK_NAMES

    tasks = list(TASK_NAMES) if args.tasks is None else [t.strip() for t in args.tasks.split(",") if t.strip()]
    seeds = _parse_seeds(args.seeds)
    kwargs: dict[str, Any] = {"n": args.n}
    if args.methods:
        kwargs["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
    model = load_model(args.model)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(_bench_threads(args.threads, model))
    try:
        out = run_benchmark(model, tasks, seeds, **kwargs)
    finally:
        torch.set_num_threads(threads)
    print(format_table(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=_json_default), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _bench_threads(requested: Optional[int], model: Any) -> int:
    """Torch CPU threads for ``bench``: as asked, else 1 for a model on the CPU.

    The benchmark runs thousands of small forward passes and SAE steps; on a CPU such
    small ops gain nothing from more threads and, on cores that other processes keep
    busy, run 10-100x slower while the threads wait for each other.
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        return int(requested)
    try:
        on_cpu = next(model.parameters()).device.type == "cpu"
    except (StopIteration, AttributeError, TypeError):
        on_cpu = True
    import torch

    return 1 if on_cpu else torch.get_num_threads()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sae-circuits",
        description="Find circuits in language models with discrete sparse autoencoders.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="every built-in task on the bundled model, with AUCs")
    demo.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs per task")
    demo.set_defaults(func=_cmd_demo)

    disc = sub.add_parser("discover", help="head scores for one task or your own prompts")
    disc.add_argument("--model", default=None, help="model name (default: the bundled model)")
    disc.add_argument("--task", default=None, help="a built-in task name")
    disc.add_argument("--prompts", default=None, metavar="FILE.json", help='{"positives": [...], "negatives": [...]}')
    disc.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs for --task")
    disc.add_argument("--seed", type=int, default=0)
    disc.add_argument("--l1", type=float, default=None)
    disc.add_argument("--features", type=int, default=None, help="SAE features (default: the task's recommended settings)")
    disc.add_argument("--position", choices=POSITIONS, default=None)
    disc.add_argument("--recipe", choices=RECIPES, default=None)
    disc.add_argument("--n-train", dest="n_train", type=int, default=None)
    disc.add_argument("--top", type=int, default=15, help="heads to list")
    disc.add_argument("--json", metavar="PATH")
    disc.set_defaults(func=_cmd_discover)

    bench = sub.add_parser("bench", help="the SAE method side by side with the baselines")
    bench.add_argument("--model", default=None)
    bench.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    bench.add_argument("--seeds", default="1", help="number of seeds (0..N-1), or a comma-separated list")
    bench.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    bench.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs per task")
    bench.add_argument("--json", metavar="PATH")
    bench.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: 1 for a model on the CPU, where small ops run fastest on one thread)",
    )
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``sae-circuits``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        import torch

        torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("sae-circuits: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError) as exc:
        if os.environ.get("SAE_CIRCUITS_DEBUG"):
            raise
        print(f"sae-circuits: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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

``--model`` takes a model name or a local folder saved with ``save_pretrained``.
Top-heads lists (the tables and the JSON's ``top_heads``) list only heads that scored
above 0, ranked by ``result.rank_heads`` (score, then pooled edge score, then index).

Errors on bad input print one line (``sae-circuits: error: ...``) and exit with status 2
(set ``SAE_CIRCUITS_DEBUG=1`` to see the traceback instead). Paths are checked before any
computation: ``--prompts`` must be a readable file; ``--json`` must name a file (not a
folder) in an existing folder where a file can be written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .engine.result import STABILITY_K
from .heads import head_index, head_label
from .settings import FITS, POSITIONS, RECIPES

DEMO_PAIRS = 20
"""Prompt pairs per task in the demo."""
DEMO_TOP = 5
"""At most this many top heads per task in the demo's table and JSON."""
MODEL_HELP = (
    "a model name (e.g. gpt2; organism-gpt2 is the bundled GPT-2-architecture model) or a "
    "local folder saved with save_pretrained (config.json, weights and tokenizer); default: "
    "the bundled attention-only model"
)
OUTPUT_FLAGS = ("json", "chart", "html")
SETTING_FLAGS = {
    "seed": ("seed", "seed"), "features": ("features", "n_features"), "l1": ("l1", "l1"),
    "position": ("position", "position"), "recipe": ("recipe", "recipe"), "n-train": ("n_train", "n_train"),
    "saes": ("n_saes", "n_saes"),
}
"""CLI flag -> (argparse dest, ``Settings`` field): each checked against the settings' bounds before any work."""
"""Options that name a file to write."""
INPUT_FLAGS = ("prompts",)
"""Options that name a file to read."""

def _fmt(x: Optional[float], digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _heads_text(heads: Sequence[tuple[int, int]]) -> str:
    return " ".join(f"{layer}.{head}" for layer, head in heads)


def format_demo_table(rows: list[dict[str, Any]], show_top: int = DEMO_TOP) -> str:
    """The demo table: task, circuit heads (ground truth of all heads), node AUC against the
    mean-ablation circuit and against the patching circuit (when the model has one), edge AUC,
    best F1, the share of silent (prompt, head) vectors (no SAE feature fires), seconds,
    and up to ``show_top`` best heads as ``layer.head``: only heads that scored above 0,
    ranked as ``CircuitResult.top_heads`` ranks them ("-" when none did)."""
    header = ("task", "circuit heads", "node AUC", "node AUC (patching)", "edge AUC", "best F1", "silent", "seconds",
              "top heads (score > 0)")
    body = [
        (
            r["task"],
            f"{r['n_ground_truth']} of {r['n_heads']}" if r["n_ground_truth"] else f"? of {r['n_heads']}",
            _fmt(r["node_auc"]),
            _fmt(r.get("node_auc_patching")),
            _fmt(r["edge_auc"]),
            _fmt(r["best_f1"]),
            _fmt(r.get("silent_fraction"), 2),
            f"{r['seconds']:.2f}",
            _heads_text(r["top_heads"][:show_top]) or "-",
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
    from .engine.discover import discover
    from .engine.model import load_model, model_name
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
        top = result.top_heads(DEMO_TOP)  # heads that scored above 0 only, as the table shows them
        ev = result.evaluate(truth) if truth else {}
        entry = {
            "node_auc": ev.get("node_auc"),
            "node_auc_patching": (
                result.evaluate(task.ground_truths["patching"])["node_auc"]
                if task.ground_truths and task.ground_truths.get("patching") else None
            ),
            "edge_auc": ev.get("edge_auc"),
            "best_f1": ev.get("best_f1"),
            "seconds": seconds,
            "n_heads": result.n_layers * result.n_heads,
            "n_ground_truth": len(truth) if truth else 0,
            "silent_fraction": result.sae_run.silent_fraction if result.sae_run else None,
            "task_check": result.task_check.summary() if result.task_check else None,
            "warnings": list(result.warnings),
            "settings": {k: result.settings[k] for k in ("n_features", "l1", "position", "recipe", "n_train", "n_saes")},
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
        _write_text(args.json, json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def _check_input(path: str, flag: str) -> Path:
    """``path`` as a readable file, or a one-line error, before any computation."""
    p = Path(path)
    if not p.exists():
        what = "prompts file" if flag == "--prompts" else "file"
        raise FileNotFoundError(f"no such {what}: {path!r}")
    if p.is_dir():
        raise ValueError(f"{flag} {path!r} is a folder: give the path of a .json file in it")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{flag} {path!r} cannot be read (permission denied): check its permissions")
    return p


def _check_output(path: str, flag: str) -> Path:
    """``path`` as a file that can be written, or a one-line error, before any computation.

    Refused: an existing folder, a path whose folder does not exist or is a file, and a
    place where no file can be written (tried by opening the file: an existing file is
    opened to append and left as it was; a new one is created and removed again).
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{flag} {path!r} is a folder: give a file name, e.g. {flag} {os.path.join(path, 'out.json')}")
    parent = p.parent
    if not parent.exists():
        raise ValueError(f"{flag} {path!r}: the folder {str(parent)!r} does not exist: create it first, or choose another path")
    if not parent.is_dir():
        raise ValueError(f"{flag} {path!r}: {str(parent)!r} is not a folder: choose another path")
    try:
        if p.exists():
            with open(p, "ab"):
                pass
        else:
            with open(p, "xb"):
                pass
            p.unlink()
    except OSError as exc:
        raise ValueError(
            f"{flag} {path!r}: cannot write there ({exc.strerror or type(exc).__name__}): choose another path"
        ) from None
    return p


def check_paths(args: argparse.Namespace) -> None:
    """Check every input and output path of a command (and ``--seed``) before any computation."""
    from .settings import Settings

    for flag, (dest, field) in SETTING_FLAGS.items():  # every setting's bounds, before the model loads
        value = getattr(args, dest, None)
        if value is not None:
            try:
                Settings(**{field: value})
            except ValueError as exc:
                raise ValueError(f"--{flag}: {exc}") from None
    inputs = {}
    for name in INPUT_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            inputs[name] = _check_input(value, f"--{name}").resolve()
    outputs: dict[str, Path] = {}
    for name in OUTPUT_FLAGS:
        value = getattr(args, name, None)
        if value is None:
            continue
        out = _check_output(value, f"--{name}").resolve()
        for in_name, in_path in inputs.items():
            if out == in_path:
                raise ValueError(f"--{name} {value!r} would overwrite the --{in_name} file: choose another path")
        for other, other_path in outputs.items():
            if out == other_path:
                raise ValueError(f"--{name} {value!r} is also the --{other} file: give each output its own path")
        outputs[name] = out


def _read_prompts_file(path: str) -> dict[str, Any]:
    from .engine.serialization import read_json_file
    from .errors import FileFormatError

    data = read_json_file(_check_input(path, "--prompts"))
    if not isinstance(data, dict) or "positives" not in data or "negatives" not in data:
        raise FileFormatError(
            f"{path!r} must hold a JSON object {{\"positives\": [...], \"negatives\": [...]}}"
        )
    return data


def _cmd_discover(args: argparse.Namespace) -> int:
    from .engine.discover import discover
    from .engine.model import load_model, model_name

    if (args.task is None) == (args.prompts is None):
        raise ValueError("give exactly one of --task TASK or --prompts FILE.json")
    data = None if args.prompts is None else _read_prompts_file(args.prompts)  # before the model loads
    model = load_model(args.model)
    truth = None
    if data is None:  # --task (exactly one of --task and --prompts, checked above)
        from .tasks import get_task

        task = get_task(args.task, model, n=args.n, seed=args.seed)
        result = discover(
            model, task, seed=args.seed, l1=args.l1, n_features=args.features,
            position=args.position, recipe=args.recipe, n_train=args.n_train, n_saes=args.n_saes, fit=args.fit,
        )
        truth = task.ground_truth
    else:
        result = discover(
            model, positives=data["positives"], negatives=data["negatives"], seed=args.seed,
            l1=args.l1, n_features=args.features,
            position=args.position, recipe=args.recipe, n_train=args.n_train, n_saes=args.n_saes, fit=args.fit,
        )
    n_heads = result.n_heads
    flat = result.node_scores.reshape(-1)
    pooled = result.edge_head_scores
    pooled_flat = None if pooled is None else pooled.reshape(-1)
    top = result.top_heads(args.top)  # the one ranking: score > 0, then pooled edge score, then index
    is_positive = result.is_positive
    assert is_positive is not None  # discover always sets it
    print(f"model: {model_name(model)}  prompts: {int(is_positive.sum())} positive, "
          f"{int((~is_positive).sum())} negative  seconds: {result.seconds:.2f}")
    if result.task_check is not None:
        print(f"task check: {result.task_check.summary()}")
    for note in result.warnings:
        print(f"warning: {note}")
    stable = result.stability
    n_saes = result.sae_run.n_saes if result.sae_run is not None else 1
    print("top heads (score > 0), best first; ties by pooled edge score, then by head index")
    print(f"{'rank':>4}  {'head':>6}  {'node':>5}  {'edge':>7}"
          + (f"  {'in top ' + str(STABILITY_K):>9}" if stable is not None else "")
          + ("  circuit" if truth else ""))
    for rank, head in enumerate(top, start=1):
        i = head_index(head, n_heads)
        edge = "-" if pooled_flat is None else f"{pooled_flat[i]:.1f}"
        share = (f"  {round(stable[head] * n_saes):>5}/{n_saes:<3}" if stable is not None else "")
        mark = ("  yes" if head in truth else "  ") if truth else ""
        print(f"{rank:>4}  {head_label(head):>6}  {flat[i]:>5.2f}  {edge:>7}{share}{mark}")
    if stable is not None:
        print(f"'in top {STABILITY_K}': of the {n_saes} SAEs of the ensemble, how many rank the head "
              f"among their {STABILITY_K} best (stability across SAE seeds)")
    unranked = int(np.sum(~(flat > 0)))
    if not top:
        print(f"no head scored above 0 (all {flat.size}): nothing to rank")
    elif unranked:
        print(f"{unranked} head(s) scored 0: not ranked")
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
            "top_heads": [list(h) for h in top],
            "stability": None if stable is None else stable.tolist(),
            "stability_k": STABILITY_K,
            "task_check": None if result.task_check is None else result.task_check.to_dict(),
            "warnings": list(result.warnings),
            "evaluation": ev,
            "seconds": result.seconds,
            "timings": result.timings,
        }
        _write_text(args.json, json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    if args.html:
        result.to_html(args.html, ground_truth=truth)
        print(f"wrote {args.html}")
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
    """``"3"`` -> seeds 0, 1, 2 (a count, as in ``--seeds N``); ``"4,7"`` -> seeds 4 and 7.

    Each seed is checked as ``Settings`` checks it (a whole number from 0 to 2**63 - 1).
    """
    from .settings import Settings

    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            seeds = list(range(count))
        else:
            seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds takes a count (e.g. 3) or a comma-separated list (e.g. 0,4); got {text!r}") from None
    try:
        return [Settings(seed=s).seed for s in seeds]
    except ValueError as exc:
        raise ValueError(f"--seeds: {exc}") from None


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from .evaluation.benchmark import format_table, run_benchmark
    except ImportError as exc:
        raise ValueError(f"the benchmark module is not available ({exc}); reinstall the package") from None
    from .engine.model import load_model
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
        _write_text(args.json, json.dumps(out, indent=2, default=_json_default))
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
    demo.add_argument("--json", metavar="PATH", help="also write the results as JSON (checked before the run)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs per task")
    demo.set_defaults(func=_cmd_demo)

    disc = sub.add_parser("discover", help="head scores for one task or your own prompts")
    disc.add_argument("--model", default=None, metavar="NAME_OR_FOLDER", help=MODEL_HELP)
    disc.add_argument("--task", default=None, help="a built-in task name")
    disc.add_argument("--prompts", default=None, metavar="FILE.json", help='{"positives": [...], "negatives": [...]}')
    disc.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs for --task")
    disc.add_argument("--seed", type=int, default=0)
    disc.add_argument("--l1", type=float, default=None)
    disc.add_argument("--features", type=int, default=None, help="SAE features (default: the task's recommended settings)")
    disc.add_argument("--position", choices=POSITIONS, default=None)
    disc.add_argument("--recipe", choices=RECIPES, default=None)
    disc.add_argument("--n-train", dest="n_train", type=int, default=None)
    disc.add_argument("--saes", dest="n_saes", type=int, default=None, help="SAEs in the ensemble (default: recommended)")
    disc.add_argument("--fit", choices=FITS, default=None,
                      help="SAE training loop: exact (default; bitwise the authors' code) or sparse (paper recipe; "
                           "equal up to rounding, faster)")
    disc.add_argument("--top", type=int, default=15, help="heads to list")
    disc.add_argument("--json", metavar="PATH", help="also write the scores as JSON (checked before the run)")
    disc.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report (checked before the run)")
    disc.set_defaults(func=_cmd_discover)

    bench = sub.add_parser("bench", help="the SAE method side by side with the baselines")
    bench.add_argument("--model", default=None, metavar="NAME_OR_FOLDER", help=MODEL_HELP)
    bench.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    bench.add_argument("--seeds", default="1", help="number of seeds (0..N-1), or a comma-separated list")
    bench.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    bench.add_argument("--n", type=int, default=DEMO_PAIRS, help="prompt pairs per task")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON (checked before the run)")
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

        check_paths(args)
        if getattr(args, "seeds", None) is not None:
            _parse_seeds(args.seeds)  # bad seeds fail before the model loads
        torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("sae-circuits: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:  # OSError: a write that fails despite the checks (disk full)
        if os.environ.get("SAE_CIRCUITS_DEBUG"):
            raise
        print(f"sae-circuits: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Side-by-side benchmark: every circuit-discovery method on the same model, prompts and truth.

For each task and seed, one :class:`~sae_circuits_widget.tasks.task.Task` is built
(``get_task(name, model, n, seed)``) and handed to every method, so all methods see the
same positives, negatives and ground-truth heads. Each method returns a
:class:`~sae_circuits_widget.engine.result.CircuitResult`; we record

- ``node_auc``: ROC AUC of its head scores against the ground-truth heads;
- ``node_auc_<name>``: the same against each named ground truth of
  ``task.ground_truths`` (e.g. ``node_auc_mean_ablation``, ``node_auc_patching``), when
  the task has them;
- ``edge_auc``: for methods with edge scores, the AUC of the edge scores pooled per head
  with the SAE method's rule (how often a head is in the top-k head pairs,
  ``scoring.pool_edge_scores``; for EAP and ACDC k = half of the pairs that can be edges,
  see ``baselines.eap.edge_head_scores``); ``edge_pair_auc`` when the task has a ground
  truth of head pairs;
- ``best_f1``: best F1 over thresholds of the head scores;
- ``faithfulness``: keep the method's top-k heads, k = size of the ground truth,
  mean-ablate every other head, and report the fraction of the clean logit difference
  kept (``ablation.faithfulness``);
- ``cpr`` and ``cmd``: MIB's circuit performance ratio (area under the faithfulness
  curve of the method's top-k heads over every circuit size; higher is better) and
  circuit-model difference (area between that curve and 1; lower is better), with heads
  outside the circuit patched from the matched negatives and tied scores entering as
  one block (``faithfulness.faithfulness_curves``). They need no ground truth. All
  methods' curves of one task and seed run in shared forwards after the methods;
  that time is ``meta["cpr_cmd_seconds"]`` (per task, summed over seeds), not part of
  any method's ``seconds``;
- methods ``sae`` (the default settings, ``settings.recommended``) and ``sae_paper``
  (the reference recipe: the same with one SAE, ``n_saes=1``);
- ``seconds``: wall time of the method call (the SAE method is given a fresh activation
  cache each time, so it pays for its forward passes);
- ``time_vs_sae``: ``seconds / seconds of the SAE method`` on the same task.

With several seeds every number is a mean, with the standard deviation under
``"std"``. The first seed's curves are kept under ``"faithfulness_curves"`` (task ->
method -> sizes, x, faithfulness). Methods are imported when they run, so a missing one
is reported in its row (``"error"``) instead of stopping the benchmark.

Example:
    >>> from sae_circuits_widget.evaluation.benchmark import run_benchmark, format_table
    >>> out = run_benchmark(None, ["ioi"], seeds=1)   # doctest: +SKIP
    >>> print(format_table(out))                        # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import math
import platform
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import torch

from ..engine.activations import few_threads, is_small_model
from ..engine.result import CircuitResult
from ..tasks.task import Task

if TYPE_CHECKING:
    from ..interventions.mib_faithfulness import Ablation

METHODS: tuple[str, ...] = (
    "sae", "sae_paper", "acdc", "eap", "activation_patching", "activation_patching_resample", "hisp", "sp",
    "random", "layer_index", "layer_index_reversed", "output_diff_norm",
)
"""Methods run by default, in table order."""

# name -> (module, candidate function names, fixed keyword arguments)
_REGISTRY: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "acdc": ("sae_circuits_widget.baselines.acdc", ("acdc",), {}),
    "eap": ("sae_circuits_widget.baselines.eap", ("eap",), {}),
    "activation_patching": ("sae_circuits_widget.baselines.activation_patching",
                            ("activation_patching", "mean_ablation"), {}),
    "activation_patching_resample": ("sae_circuits_widget.baselines.activation_patching",
                                     ("activation_patching_resample", "resample_ablation"), {}),
    "hisp": ("sae_circuits_widget.baselines.hisp", ("hisp",), {}),
    "sp": ("sae_circuits_widget.baselines.subnetwork", ("subnetwork_probing", "sp", "subnetwork"), {}),
    "random": ("sae_circuits_widget.baselines.trivial", ("random_scores", "random_baseline", "random"), {}),
    "layer_index": ("sae_circuits_widget.baselines.trivial", ("layer_index", "layer_index_scores"), {}),
    "layer_index_reversed": ("sae_circuits_widget.baselines.trivial",
                             ("layer_index_reversed", "reverse_layer_index"), {}),
    "output_diff_norm": ("sae_circuits_widget.baselines.trivial",
                         ("output_diff_norm", "output_diff_norm_scores"), {}),
}


class MethodUnavailable(ImportError):
    """A benchmark method whose implementation cannot be imported."""


def _sae(model, task: Task, seed: int = 0, **kwargs) -> CircuitResult:
    from ..engine.activations import HeadOutputCache
    from ..engine.discover import discover

    # settings not given here are the task's recommended ones (``settings.recommended``)
    return discover(model, task, seed=seed, cache=HeadOutputCache(), **kwargs)


def _sae_paper(model, task: Task, seed: int = 0, **kwargs) -> CircuitResult:
    """The reference recipe as the authors run it: one SAE (``n_saes=1``)."""
    kwargs.setdefault("n_saes", 1)
    return _sae(model, task, seed=seed, **kwargs)


def resolve_method(name: str) -> Callable[..., CircuitResult]:
    """The function ``fn(model, task, seed=0, **kw) -> CircuitResult`` behind a method name.

    Raises ValueError for an unknown name and :class:`MethodUnavailable` when its module
    or function cannot be imported.

    Example:
        >>> resolve_method("eap").__name__
        'eap'
    """
    if name == "sae":
        return _sae
    if name == "sae_paper":
        return _sae_paper
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose from {['sae', 'sae_paper', *_REGISTRY]}")
    module_name, candidates, fixed = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MethodUnavailable(f"method {name!r} needs {module_name}, which cannot be imported: {exc}") from exc
    for fn_name in candidates:
        fn: Optional[Callable[..., CircuitResult]] = getattr(module, fn_name, None)
        if callable(fn):
            if not fixed:
                return fn
            return lambda model, task, seed=0, _fn=fn, **kw: _fn(model, task, seed=seed, **fixed, **kw)
    raise MethodUnavailable(f"method {name!r}: {module_name} has none of {list(candidates)}")


def _evaluate(model, task: Task, result: CircuitResult, faithful: bool) -> dict[str, Any]:
    from .metrics import evaluate_scores

    out: dict[str, Any] = {}
    gt = task.ground_truth
    if gt:
        ev = evaluate_scores(
            result.node_scores,
            gt,
            edge_head_scores=result.edge_head_scores,
            edge_scores=result.edge_scores,
            edge_ground_truth=task.edge_ground_truth,
        )
        out.update(node_auc=ev["node_auc"], edge_auc=ev["edge_auc"], best_f1=ev["best_f1"],
                   precision_at_k=ev["precision_at_k"])
        if "edge_pair_auc" in ev:
            out["edge_pair_auc"] = ev["edge_pair_auc"]
        if faithful and task.has_metric:
            from ..interventions.ablation import faithfulness, top_k_heads

            out["faithfulness"] = float(faithfulness(model, task, top_k_heads(result.node_scores, len(gt))))
    out.update(_named_ground_truth_aucs(task, result))
    return out


def _named_ground_truth_aucs(task: Task, result: CircuitResult) -> dict[str, Optional[float]]:
    """``node_auc_<name>`` for each ground truth in ``task.ground_truths`` (None when unusable)."""
    from ..errors import GroundTruthError
    from .metrics import evaluate_scores

    truths = getattr(task, "ground_truths", None)
    out: dict[str, Optional[float]] = {}
    for gt_name, heads in (truths or {}).items():
        try:
            out[f"node_auc_{gt_name}"] = evaluate_scores(result.node_scores, heads)["node_auc"] if heads else None
        except GroundTruthError:
            out[f"node_auc_{gt_name}"] = None
    return out


def _cpr_cmd(model, task: Task, results: dict[str, CircuitResult], ablation: Ablation):
    """CPR/CMD of every method's scores on one task, all curves in shared forwards."""
    from ..interventions.mib_faithfulness import faithfulness_curves

    return faithfulness_curves(model, task, results, ablation=ablation)


def _roc(task: Task, result: CircuitResult) -> Optional[dict[str, list[float]]]:
    if not task.ground_truth:
        return None
    from .metrics import heads_mask, roc_curve

    labels = heads_mask(task.ground_truth, result.n_layers, result.n_heads).reshape(-1)
    fpr, tpr, _ = roc_curve(labels, result.node_scores.reshape(-1))
    return {"fpr": [round(float(x), 5) for x in fpr], "tpr": [round(float(x), 5) for x in tpr]}


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = list(dict.fromkeys(k for r in runs for k in r))
    out: dict[str, Any] = {}
    std: dict[str, float] = {}
    for k in keys:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
        out[k] = float(np.mean(vals)) if vals else None
        if len(vals) > 1:
            std[k] = float(np.std(vals))
    if std:
        out["std"] = std
    out["n_runs"] = len(runs)
    return out


def run_benchmark(
    model=None,
    task_names: Optional[Sequence[str]] = None,
    seeds: Union[int, Sequence[int]] = 1,
    *,
    methods: Optional[Sequence[str]] = None,
    n: int = 20,
    faithful: bool = True,
    cpr_cmd: bool = True,
    cpr_cmd_ablation: Ablation = "patching",
    method_kwargs: Optional[dict[str, dict[str, Any]]] = None,
    progress: bool = True,
    threads: Optional[int] = None,
    strict: bool = False,
    log: Optional[Callable[[str], None]] = print,
) -> dict[str, Any]:
    """Run every method on every task and seed; returns the JSON the CLI writes.

    ``{"tasks": {task: {method: {"node_auc", "edge_auc", "best_f1", "faithfulness",
    "seconds", "time_vs_sae", ...}}}, "roc": {task: {method: {"fpr", "tpr"}}},
    "speedup_sae_vs_acdc": {task: x}, "meta": {...}}``.

    Args:
        model: a TransformerBridge; ``None`` loads the bundled organism.
        task_names: default: all of ``tasks.TASK_NAMES``; a ``Task`` object may stand in
            for a name (then used as is for every seed).
        seeds: a number of seeds (``0..N-1``) or an explicit list; the seed picks the
            prompts (``get_task(..., seed=)``) and seeds each method.
        methods: default :data:`METHODS`.
        n: prompt pairs per task.
        faithful: also compute faithfulness at the ground-truth size.
        cpr_cmd: also compute CPR and CMD (needs a task with a metric).
        cpr_cmd_ablation: how heads outside the circuit are ablated for CPR/CMD:
            ``"patching"`` (from the matched negative, as MIB) or ``"mean"``.
        method_kwargs: extra keyword arguments per method name.
        threads: ``torch.set_num_threads`` for the run (restored afterwards).
        strict: raise on a method that fails instead of recording its error.
        log: where to print progress lines (``None`` = silent).

    Example:
        >>> out = run_benchmark(None, ["ioi"], seeds=1, methods=["sae", "eap"])  # doctest: +SKIP
        >>> out["tasks"]["ioi"]["eap"]["time_vs_sae"]  # doctest: +SKIP
    """
    say = log if log is not None else (lambda s: None)
    if model is None:
        from ..organism import load_organism

        model = load_organism()
    from ..tasks import TASK_NAMES, get_task

    task_names = list(TASK_NAMES if task_names is None else task_names)
    for t in task_names:
        if not isinstance(t, (str, Task)):
            raise TypeError(f"task_names must hold task names or Task objects, got {type(t).__name__}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must be a positive number or a non-empty list of seeds")
    methods = list(METHODS if methods is None else methods)
    for m in methods:
        if m not in ("sae", "sae_paper") and m not in _REGISTRY:
            raise ValueError(f"unknown method {m!r}; choose from {['sae', 'sae_paper', *_REGISTRY]}")
    method_kwargs = dict(method_kwargs or {})
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    small = threads is None and is_small_model(model)  # an explicit thread count is kept
    t_start = time.perf_counter()
    out: dict[str, Any] = {"tasks": {}, "roc": {}, "faithfulness_curves": {}, "speedup_sae_vs_acdc": {},
                           "errors": {}}
    cpr_seconds: dict[str, float] = {}
    try:
        for entry in task_names:
            name = entry.name if isinstance(entry, Task) else entry
            per_method: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
            out["roc"][name] = {}
            out["faithfulness_curves"][name] = {}
            for seed in seed_list:
                task = entry if isinstance(entry, Task) else get_task(name, model, n=n, seed=seed)
                seed_results: dict[str, tuple[CircuitResult, dict[str, Any]]] = {}
                for m in methods:
                    kwargs = dict(method_kwargs.get(m, {}))
                    if m == "acdc":
                        kwargs.setdefault("progress", progress)
                    try:
                        fn = resolve_method(m)
                        t0 = time.perf_counter()
                        # every method on one thread for a small CPU model, as discover runs
                        # its own stages: the times compare methods, not thread schedules
                        with few_threads(small):
                            result = fn(model, task, seed=seed, **kwargs)
                        seconds = time.perf_counter() - t0
                    except Exception as exc:  # recorded per method, see `strict`
                        if strict:
                            raise
                        msg = f"{type(exc).__name__}: {exc}"
                        out["errors"].setdefault(name, {})[m] = msg
                        say(f"[bench] {name} seed {seed} {m}: FAILED {msg}")
                        continue
                    row: dict[str, Any] = {"seconds": seconds}
                    row.update(_evaluate(model, task, result, faithful))
                    if m == "acdc":
                        row["n_edge_tests"] = result.extras["n_edge_tests"]
                        row["seconds_per_edge_test"] = result.extras["seconds_per_edge_test"]
                        row["n_edges"] = result.extras["n_edges"]
                    per_method[m].append(row)
                    seed_results[m] = (result, row)
                    if seed == seed_list[0]:
                        roc = _roc(task, result)
                        if roc is not None:
                            out["roc"][name][m] = roc
                    say(f"[bench] {name} seed {seed} {m}: {seconds:.2f}s "
                        + " ".join(f"{k}={v:.3f}" for k, v in row.items()
                                   if k in ("node_auc", "best_f1", "faithfulness") and v is not None))
                if cpr_cmd and seed_results and task.has_metric:
                    t0 = time.perf_counter()
                    try:
                        curves = _cpr_cmd(model, task, {m: r for m, (r, _) in seed_results.items()},
                                          cpr_cmd_ablation)
                    except ValueError as exc:  # e.g. ablating every head leaves the metric unchanged
                        if strict:
                            raise
                        out["errors"].setdefault(name, {})["cpr_cmd"] = f"ValueError: {exc}"
                        say(f"[bench] {name} seed {seed} CPR/CMD: FAILED {exc}")
                        curves = {}
                    cpr_seconds[name] = cpr_seconds.get(name, 0.0) + time.perf_counter() - t0
                    for m, curve in curves.items():
                        row = seed_results[m][1]
                        row["cpr"], row["cmd"] = curve.cpr, curve.cmd
                        if seed == seed_list[0]:
                            out["faithfulness_curves"][name][m] = curve.to_dict()
                    if curves:
                        say(f"[bench] {name} seed {seed} CPR/CMD ({cpr_cmd_ablation}) in "
                            f"{time.perf_counter() - t0:.2f}s: "
                            + ", ".join(f"{m} {c.cpr:.3f}/{c.cmd:.3f}" for m, c in curves.items()))
            table: dict[str, Any] = {}
            for m in methods:
                if per_method[m]:
                    table[m] = _aggregate(per_method[m])
            sae_time = table.get("sae", {}).get("seconds")
            for row in table.values():
                row["time_vs_sae"] = (row["seconds"] / sae_time) if sae_time else None
            if sae_time and "acdc" in table:
                out["speedup_sae_vs_acdc"][name] = table["acdc"]["seconds"] / sae_time
            out["tasks"][name] = table
    finally:
        torch.set_num_threads(old_threads)
    total = time.perf_counter() - t_start
    speedups = list(out["speedup_sae_vs_acdc"].values())
    out["meta"] = {
        "model": str(getattr(model.cfg, "model_name", "")),
        "n_layers": int(model.cfg.n_layers),
        "n_heads": int(model.cfg.n_heads),
        "d_model": int(model.cfg.d_model),
        "tasks": [t.name if isinstance(t, Task) else t for t in task_names],
        "seeds": seed_list,
        "n_pairs": n,
        "methods": methods,
        "threads": 1 if small else (torch.get_num_threads() if threads is None else int(threads)),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "total_seconds": total,
        "min_speedup_sae_vs_acdc": min(speedups) if speedups else None,
        "cpr_cmd_ablation": cpr_cmd_ablation if cpr_cmd else None,
        "cpr_cmd_seconds": cpr_seconds,
    }
    if not out["errors"]:
        del out["errors"]
    if not any(out["faithfulness_curves"].values()):
        del out["faithfulness_curves"]
    return out


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _fmt_seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def format_table(bench: dict[str, Any]) -> str:
    """Plain-text (Markdown) table of a :func:`run_benchmark` result, one block per task.

    Example:
        >>> print(format_table({"tasks": {"ioi": {"sae": {"node_auc": 0.9, "cpr": 0.8, "cmd": 0.2,
        ...     "seconds": 1.0, "time_vs_sae": 1.0}}}}))  # doctest: +NORMALIZE_WHITESPACE
        ### ioi
        | method | node AUC | edge AUC | best F1 | faithfulness@\\|GT\\| | CPR | CMD | seconds | time / SAE |
        |---|---|---|---|---|---|---|---|---|
        | sae | 0.900 | - | - | - | 0.800 | 0.200 | 1.00 | 1.0x |

    A column ``node AUC (<name>)`` follows ``node AUC`` for each named ground truth
    (``node_auc_<name>`` keys). CPR: higher is better; CMD: lower is better.
    """
    lines: list[str] = []
    for task, rows in bench.get("tasks", {}).items():
        if lines:
            lines.append("")
        lines.append(f"### {task}")
        named = list(dict.fromkeys(k for row in rows.values() for k in row if k.startswith("node_auc_")))
        keys = ["node_auc", *named, "edge_auc", "best_f1", "faithfulness", "cpr", "cmd"]
        titles = ["node AUC", *(f"node AUC ({k[len('node_auc_'):]})" for k in named), "edge AUC", "best F1",
                  "faithfulness@\\|GT\\|", "CPR", "CMD"]
        lines.append("| method | " + " | ".join(titles) + " | seconds | time / SAE |")
        lines.append("|" + "---|" * (len(titles) + 3))
        for m, row in rows.items():
            std = row.get("std", {})

            def cell(key: str, row=row, std=std) -> str:
                s = _fmt(row.get(key))
                if key in std and s != "-":
                    s += f" ± {std[key]:.3f}"
                return s

            ratio = row.get("time_vs_sae")
            ratio_s = "-" if ratio is None else (f"{ratio:.1f}x" if ratio >= 0.95 else f"{ratio:.2g}x")
            lines.append(
                f"| {m} | " + " | ".join(cell(k) for k in keys)
                + f" | {_fmt_seconds(row.get('seconds'))} | {ratio_s} |"
            )
        errors = bench.get("errors", {}).get(task, {})
        for m, msg in errors.items():
            lines.append(f"| {m} | failed: {msg[:80]} |" + " |" * (len(titles) + 1))
    speed = bench.get("speedup_sae_vs_acdc", {})
    if speed:
        lines.append("")
        lines.append("SAE speed-up over ACDC (ACDC seconds / SAE seconds): "
                     + ", ".join(f"{t} {v:.0f}x" for t, v in speed.items()))
    acdc_rows = [(t, rows["acdc"]) for t, rows in bench.get("tasks", {}).items()
                 if "acdc" in rows and rows["acdc"].get("seconds_per_edge_test")]
    if acdc_rows:
        lines.append("ACDC edge tests (forward passes) per run: " + ", ".join(
            f"{t} {r['n_edge_tests']:.0f} ({r['n_edges']:.0f} edges), "
            f"{1e3 * r['seconds_per_edge_test']:.2f} ms/test" for t, r in acdc_rows))
    meta = bench.get("meta") or {}
    cpr_time = meta.get("cpr_cmd_seconds") or {}
    if cpr_time:
        lines.append(f"CPR/CMD ({meta.get('cpr_cmd_ablation')} ablation, every head count, all methods "
                     "in shared forwards): " + ", ".join(f"{t} {v:.2f} s" for t, v in cpr_time.items()))
    if meta:
        lines.append(
            f"model {meta.get('model')} ({meta.get('n_layers')}x{meta.get('n_heads')} heads), "
            f"{meta.get('n_pairs')} prompt pairs, seeds {meta.get('seeds')}, "
            f"{meta.get('threads')} thread(s), total {meta.get('total_seconds', 0):.0f} s"
        )
    return "\n".join(lines)

"""Cross-check ``recipe="paper"`` against the authors' own code on the same tensors.

    python benchmarks/reference_crosscheck.py --reference $SCRATCH/ref \\
        --seeds 10 --json benchmarks/results/reference_crosscheck.json

Getting the authors' code (it is never part of this repository)
----------------------------------------------------------------
The reference is the repository ``charlieoneill11/sae-circuits`` at commit ``10fd2e7``.
Extract its ``src/`` folder into a scratch folder outside this project, e.g.::

    git clone https://github.com/charlieoneill11/sae-circuits /tmp/sae-circuits
    mkdir -p $SCRATCH/ref
    git -C /tmp/sae-circuits archive 10fd2e7 src | tar x -C $SCRATCH/ref
    git -C /tmp/sae-circuits rev-parse 10fd2e7 > $SCRATCH/ref/COMMIT   # optional, recorded

``--reference DIR`` is that folder (``DIR/src/sae.py`` etc.).

Environment of the reference side
---------------------------------
The reference side always runs in a subprocess (their module names ``sae``, ``train``,
``main``, ``node`` and ``edge`` are generic, and the stubs below must shadow real
packages), on tensors this script saves with ``torch.save`` (``--work``, default
``DIR/crosscheck_data``). By default the subprocess uses this interpreter, which has
everything their code needs except plotting; ``--reference-python PATH`` runs it in a
separate environment instead, e.g.::

    python3 -m venv $SCRATCH/venv
    $SCRATCH/venv/bin/pip install torch==2.13.0          # the project's torch, first
    $SCRATCH/venv/bin/pip install einops jaxtyping numpy scikit-learn tqdm pyyaml

The reference side imports only torch, numpy and the authors' modules (never this
package). Their modules import packages that serve plotting or notebooks only; this
script writes tiny stub modules for them into ``DIR/stubs`` (outside the project) and
puts that folder first on the subprocess's ``PYTHONPATH``, ahead of ``DIR/src``:

* ``plotly``, ``plotly.express``, ``plotly.io``, ``plotly.graph_objects``,
  ``plotly.subplots`` (``make_subplots``): plotting helpers in ``common_utils``;
* ``fancy_einsum``: imported, never used;
* ``sparse_autoencoder`` (``SparseAutoencoder``): imported by ``common_utils``, never
  used (the SAE trained is their own ``src/sae.py``);
* ``transformer_lens`` (``HookedTransformer``, ``HookedTransformerConfig``) and
  ``transformer_lens.utils`` (``to_numpy``): imported by ``common_utils``/``node``/
  ``edge`` for plotting and model loading, never called here.

Every stub raises if called. Nothing of the authors' logic is edited or replaced.

What runs, per task and seed ``s``
----------------------------------
Inputs: the bundled model, ``get_task(name, model, n=20, seed=0)`` (20 positives then
20 negatives), head outputs ``head_outputs(model, positives + negatives, "mean")``
``[40, 24, 128]``, the task's ground truth, ``l1 = recommended(name).l1``.

Reference (their functions, unchanged): ``torch.manual_seed(s)``;
``main.prepare_data`` (its ``torch.randperm`` draw, first 10 prompts);
``sae.SparseAutoencoder(d_model, 200, None)``; ``torch.optim.Adam(lr=1e-3)``;
``train.train`` for 500 epochs (its eval pass every 50 epochs included); codes = argmax
of the activations of every (prompt, head) vector, as ``main.evaluate_node_circuit``;
``node.unique_to_positives_and_negatives``, ``node.node_circuit_prediction`` and
``common_utils.evaluate_circuit`` (node ROC AUC);
``edge.positive_and_negative_cooccurrence``, ``edge.edge_circuit_prediction`` with
``k = n_heads**2 // 2`` (edge ROC AUC). Per-epoch losses are captured by wrapping their
``train.loss_fn`` (the wrapper records the value of each training call and returns it
unchanged; their ``train`` runs as is); the lines ``train`` prints every 50 epochs are
kept and checked against the captured values.

Ours: ``discover._paper_draw(40, 10, s)``; ``sae.fit_sae(x[rows].reshape(-1, d),
n_features=200, l1=l1, seed=s, recipe="paper", generator=...)``; ``sae.codes`` (``-1`` where
no feature fires: the one documented deviation, where the reference's argmax gives code
0); ``scoring.unique_positive_codes``; ``scoring.pool_edge_scores_reference(
scoring.unique_positive_pairs(...))``; ROC AUC with ``evaluation.metrics.roc_auc`` (equal
to scikit-learn's ``roc_auc_score``). ``discover(model,
task, seed=s)`` end to end is checked to give the same codes and scores as these pieces.

Compared
--------
* training prompts (the same ``randperm`` rows) and initial weights (bitwise);
* loss per epoch, 500 epochs: max absolute and max relative difference;
* final weights: max absolute difference;
* silent fraction (vectors with no active feature) on both sides;
* codes of the 40 x 24 (prompt, head) vectors: ours against their argmax, where our ``-1``
  matches exactly when all their activations are zero (target: >= 99% agree); also on
  the vectors non-silent on at least one side alone;
* node scores: theirs (silent = code 0) against ours (silent = ``-1``), raw, and with
  their silent vectors excluded too (their codes with silent set to ``-1``, scored by our
  ``unique_positive_codes``; that function is first checked to equal theirs on their raw
  codes); node ROC AUC both sides (target: |difference| <= 0.01);
* edge: their pooled counts and ROC AUC against ours; our edge scoring on their raw codes
  is checked to equal theirs;
* time of the SAE fit and of the scoring, both sides.

Reading the result: the two sides agree to the bit only if they do the same floating-point
operations in the same order. The fit is sensitive to rounding: a one-ulp difference
in a weight early in training (e.g. reducing a norm along the other memory axis, or
renormalising once more after the reference's eval pass every 50 epochs) grows to
final weights that differ by about 1e-3 and moves a few percent of the codes. Codes
agreement below 100% with identical training rows and initial weights therefore points
to arithmetic that differs in order, not to a different method; the first epoch whose
loss differs says where to look.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

TASKS = ("ioi", "greater_than", "docstring", "induction")
N_FEATURES = 200
N_TRAIN = 10
EPOCHS = 500
LR = 1e-3
CODES_TARGET = 0.99
AUC_TARGET = 0.01

STUBS: dict[str, str] = {
    "plotly/__init__.py": '"""Stub: plotting only."""\n',
    "plotly/express.py": (
        '"""Stub: plotting only."""\n\n\n'
        'def __getattr__(name):\n    raise AttributeError(f"plotly stub has no {name}")\n'
    ),
    "plotly/io.py": '"""Stub: plotting only."""\n',
    "plotly/graph_objects.py": '"""Stub: plotting only."""\n',
    "plotly/subplots.py": (
        '"""Stub: plotting only."""\n\n\n'
        'def make_subplots(*args, **kwargs):\n    raise NotImplementedError("plotly stub")\n'
    ),
    "fancy_einsum/__init__.py": (
        '"""Stub: imported, never used."""\n\n\n'
        'def einsum(*args, **kwargs):\n    raise NotImplementedError("fancy_einsum stub")\n'
    ),
    "sparse_autoencoder/__init__.py": (
        '"""Stub: imported by common_utils, never used."""\n\n\n'
        'class SparseAutoencoder:\n'
        '    def __init__(self, *args, **kwargs):\n        raise NotImplementedError("sparse_autoencoder stub")\n'
    ),
    "transformer_lens/__init__.py": (
        '"""Stub: model loading and plotting only."""\n\n\n'
        'class HookedTransformer:\n'
        '    def __init__(self, *args, **kwargs):\n        raise NotImplementedError("transformer_lens stub")\n\n\n'
        'class HookedTransformerConfig(HookedTransformer):\n    pass\n'
    ),
    "transformer_lens/utils.py": (
        '"""Stub: plotting only."""\n\n\ndef to_numpy(x):\n    raise NotImplementedError("transformer_lens stub")\n'
    ),
}
"""Stub modules for the reference side (see the module docstring); written to ``DIR/stubs``."""


def write_stubs(folder: Path) -> Path:
    """Write the stub modules under ``folder`` (overwriting stale ones); return it."""
    for rel, text in STUBS.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return folder


def head_labels(n_layers: int, n_heads: int) -> list[str]:
    """The reference's head labels (``"L{layer}H{head}"``), in flat head order."""
    return [f"L{layer}H{h}" for layer in range(n_layers) for h in range(n_heads)]


# --------------------------------------------------------------------------------------
# Comparison helpers (project side; no reference code needed)
# --------------------------------------------------------------------------------------


def code_agreement(ours: np.ndarray, theirs: np.ndarray, their_silent: np.ndarray) -> tuple[float, float]:
    """Share of vectors with the same code, overall and on vectors non-silent on either side.

    ``theirs`` is the reference's argmax; where all its activations are zero
    (``their_silent``) only our ``-1`` matches. Returns ``(all, non_silent)``; the second
    is ``nan`` if every vector is silent on both sides.

    Example:
        >>> code_agreement(np.array([3, -1, 0, 2]), np.array([3, 0, 0, 1]), np.array([False, True, True, False]))
        (0.5, 0.3333333333333333)
    """
    ours, theirs, their_silent = np.asarray(ours), np.asarray(theirs), np.asarray(their_silent, dtype=bool)
    match = np.where(their_silent, ours == -1, ours == theirs)
    live = ~((ours == -1) & their_silent)
    return float(match.mean()), float(match[live].mean()) if live.any() else float("nan")


def loss_differences(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """Max absolute and max relative (to the reference) difference of two loss curves."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"loss curves differ in length: {ours.shape} vs {theirs.shape}")
    diff = np.abs(ours - theirs)
    return float(diff.max()), float((diff / np.maximum(np.abs(theirs), 1e-30)).max())


def silence_to_no_code(codes: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Argmax codes with the silent vectors set to ``-1`` (no code)."""
    out = np.asarray(codes, dtype=np.int64).copy()
    out[np.asarray(silent, dtype=bool)] = -1
    return out


def pooled_counts(components: list, k: int, n_layers: int, n_heads: int) -> np.ndarray:
    """Counts of heads among the first ``k`` of the reference's ``circuit_components``."""
    out = np.zeros((n_layers, n_heads))
    for layer, h in components[:k]:
        out[int(layer), int(h)] += 1
    return out


# --------------------------------------------------------------------------------------
# Reference side: runs in the reference interpreter; torch, numpy and their modules only
# --------------------------------------------------------------------------------------


def run_reference_side(work: Path, seeds: int) -> None:
    torch.set_num_threads(1)
    here = Path(__file__).resolve().parent  # keep this folder's modules out of the way of theirs
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    import common_utils  # their modules, found through PYTHONPATH
    import edge
    import main as ref_main
    import node
    import sae as ref_sae
    import train as ref_train

    original_loss_fn = ref_train.loss_fn
    captured: list[float] = []

    def recording_loss_fn(*args, **kwargs):
        loss = original_loss_fn(*args, **kwargs)
        if torch.is_grad_enabled():  # training calls; the eval pass runs under no_grad
            captured.append(loss.item())
        return loss

    ref_train.loss_fn = recording_loss_fn
    for path in sorted(work.glob("inputs_*.pt")):
        data = torch.load(path, weights_only=True)
        task = data["task"]
        x = data["x"]
        n_prompts, _, d_model = x.shape
        n_layers, n_heads = int(data["n_layers"]), int(data["n_heads"])
        labels = head_labels(n_layers, n_heads)
        gt = [tuple(int(v) for v in pair) for pair in data["ground_truth"].tolist()]
        _, _, gt_array = common_utils.head_labels_to_ground_truth(labels, gt)
        k = len(labels) ** 2 // 2
        l1 = float(data["l1"])
        trials = []
        for seed in range(seeds):
            torch.manual_seed(seed)
            perm = torch.randperm(n_prompts)  # what prepare_data draws, recorded
            torch.manual_seed(seed)
            train_streams, eval_streams = ref_main.prepare_data(x, {"num_sae_examples": N_TRAIN})
            if not torch.equal(train_streams, x[perm[:N_TRAIN]]):
                raise RuntimeError("prepare_data did not take the first rows of randperm")
            model = ref_sae.SparseAutoencoder(n_input_features=d_model, n_learned_features=N_FEATURES,
                                              geometric_median_dataset=None)
            init = {name: p.detach().clone() for name, p in model.named_parameters()}
            optimizer = torch.optim.Adam(model.parameters(), lr=LR)
            captured.clear()
            printed = io.StringIO()
            t = time.perf_counter()
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
                model = ref_train.train(model, EPOCHS, optimizer, train_streams, eval_streams, lambda_=l1)
            fit_s = time.perf_counter() - t
            model = model.to("cpu")
            t = time.perf_counter()
            model.eval()  # as main.evaluate_node_circuit
            acts = model(x)[0].detach().cpu().numpy()
            codes = np.argmax(acts, axis=2)
            node_counts, _ = node.unique_to_positives_and_negatives(codes, labels, normalise=False)
            y_pred, y_true = node.node_circuit_prediction(codes, gt_array, labels, normalise=False, across_layer=False)
            node_auc = float(common_utils.evaluate_circuit(y_true, y_pred)[2])
            node_s = time.perf_counter() - t
            t = time.perf_counter()
            pos_m, neg_m = edge.positive_and_negative_cooccurrence(codes, acts)
            e_pred, e_true, components = edge.edge_circuit_prediction(
                pos_m, neg_m, labels, gt_array, normalise=False, k=k)
            edge_auc = float(common_utils.evaluate_circuit(e_true, e_pred)[2])
            edge_s = time.perf_counter() - t
            pair_counts = edge.unique_co_occurrences(pos_m, neg_m, normalise=False)
            del pos_m, neg_m
            final = {name: p.detach().clone() for name, p in model.named_parameters()}
            trials.append({
                "seed": seed,
                "rows": perm[:N_TRAIN].clone(),
                "init": init,
                "final": final,
                "losses": torch.tensor(captured, dtype=torch.float64),
                "printed": printed.getvalue(),
                "acts": torch.from_numpy(acts.copy()),
                "codes": torch.from_numpy(codes.astype(np.int64)),
                "node_counts": torch.from_numpy(np.asarray(node_counts, dtype=np.float64)),
                "node_auc": node_auc,
                "edge_pair_counts": torch.from_numpy(np.asarray(pair_counts, dtype=np.float64)),
                "edge_pooled": torch.from_numpy(pooled_counts(components, k, n_layers, n_heads)),
                "edge_auc": edge_auc,
                "fit_s": fit_s,
                "node_s": node_s,
                "edge_s": edge_s,
            })
            print(f"reference {task} seed {seed}: fit {fit_s:.2f}s node AUC {node_auc:.3f} edge AUC {edge_auc:.3f}",
                  file=sys.stderr, flush=True)
        torch.save({"task": task, "torch": str(torch.__version__), "numpy": np.__version__,
                    "python": platform.python_version(), "trials": trials}, work / f"reference_{task}.pt")


# --------------------------------------------------------------------------------------
# Project side
# --------------------------------------------------------------------------------------


def save_inputs(model, tasks: list[str], work: Path) -> dict[str, dict[str, Any]]:
    from sae_circuits_widget import get_task
    from sae_circuits_widget.engine.activations import head_outputs
    from sae_circuits_widget.settings import recommended

    work.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in tasks:
        task = get_task(name, model, n=20, seed=0)
        x = head_outputs(model, task.positives + task.negatives, "mean").float().contiguous()
        if len(task.positives) != len(task.negatives):
            raise SystemExit(f"{name}: the reference assumes as many positives as negatives")
        gt = sorted((int(layer), int(h)) for layer, h in task.ground_truth)
        data = {"task": name, "x": x, "n_layers": int(model.cfg.n_layers), "n_heads": int(model.cfg.n_heads),
                "ground_truth": torch.tensor(gt, dtype=torch.int64), "l1": float(recommended(name).l1),
                "n_positives": len(task.positives)}
        torch.save(data, work / f"inputs_{name}.pt")
        out[name] = {**data, "task_obj": task}
    return out


def run_reference(reference: Path, python: str, work: Path, seeds: int) -> float:
    src = reference / "src"
    if not (src / "sae.py").exists():
        raise SystemExit(f"no {src / 'sae.py'}: --reference must be the folder holding the authors' src/")
    stubs = write_stubs(reference / "stubs")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(stubs), str(src)])
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    cmd = [python, str(Path(__file__).resolve()), "--reference-side", str(work), "--seeds", str(seeds)]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=str(src), check=True)
    return time.perf_counter() - t


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sae_circuits_widget.evaluation.metrics import roc_auc

    return roc_auc(labels, scores)  # labels first, as roc_auc_score(y_true, y_score)


def compare_task(model, data: dict[str, Any], ref: dict[str, Any], seeds: int) -> dict[str, Any]:
    from sae_circuits_widget.engine.discover import _paper_draw, discover
    from sae_circuits_widget.engine.sae import DiscreteSAE, SAEConfig, fit_sae
    from sae_circuits_widget.engine.scoring import (
        pool_edge_scores_reference,
        unique_positive_codes,
        unique_positive_pairs,
    )
    from sae_circuits_widget.evaluation.metrics import heads_mask

    name = data["task"]
    x = data["x"]
    n_prompts, n_total, d = x.shape
    n_layers, n_heads = data["n_layers"], data["n_heads"]
    is_positive = np.arange(n_prompts) < data["n_positives"]
    labels = heads_mask([tuple(v) for v in data["ground_truth"].tolist()], n_layers, n_heads).reshape(-1).astype(int)
    l1 = data["l1"]
    rows_out = []
    for seed in range(seeds):
        theirs = ref["trials"][seed]
        rows, gen = _paper_draw(n_prompts, N_TRAIN, seed)
        same_rows = bool(np.array_equal(rows, theirs["rows"].numpy()))
        # initial weights: the same construction fit_sae does, from a fresh draw
        _, gen0 = _paper_draw(n_prompts, N_TRAIN, seed)
        sae0 = DiscreteSAE(SAEConfig(d_model=d, n_features=N_FEATURES, l1=l1, recipe="paper", seed=seed), gen0)
        ti = theirs["init"]
        init_equal = (torch.equal(sae0.W_enc.detach().T, ti["encoder.1.weight"])
                      and torch.equal(sae0.b_enc.detach(), ti["encoder.1.bias"])
                      and torch.equal(sae0.W_dec.detach().T, ti["decoder.0.weight"])
                      and torch.equal(sae0.b_pre.detach(), ti["tied_bias"]))
        t = time.perf_counter()
        sae = fit_sae(x[torch.as_tensor(rows)].reshape(-1, d), n_features=N_FEATURES, l1=l1, seed=seed,
                      recipe="paper", generator=gen)
        fit_s = time.perf_counter() - t
        tf = theirs["final"]
        weight_diff = max(
            float((sae.W_enc.detach().T - tf["encoder.1.weight"]).abs().max()),
            float((sae.b_enc.detach() - tf["encoder.1.bias"]).abs().max()),
            float((sae.W_dec.detach().T - tf["decoder.0.weight"]).abs().max()),
            float((sae.b_pre.detach() - tf["tied_bias"]).abs().max()),
        )
        loss_abs, loss_rel = loss_differences(np.asarray(sae.losses), theirs["losses"].numpy())
        printed = [float(v) for v in re.findall(r"Train loss = ([0-9.]+)", theirs["printed"])]
        printed_ok = len(printed) == 10 and all(
            abs(p - float(theirs["losses"][e])) <= 5e-5 for p, e in zip(printed, range(0, EPOCHS, EPOCHS // 10)))
        t = time.perf_counter()
        with torch.no_grad():
            acts = sae.encode(x).numpy()
        codes = sae.codes(x).numpy().astype(np.int64)
        node = unique_positive_codes(codes, is_positive).astype(np.float64)
        node_s = time.perf_counter() - t
        t = time.perf_counter()
        pairs = unique_positive_pairs(codes, is_positive)
        pooled = pool_edge_scores_reference(pairs)
        edge_s = time.perf_counter() - t
        acts_diff = float(np.abs(acts - theirs["acts"].numpy()).max())

        their_acts = theirs["acts"].numpy()
        their_codes = theirs["codes"].numpy()
        their_silent = their_acts.max(axis=-1) <= 0
        our_silent = codes == -1
        agree, agree_live = code_agreement(codes, their_codes, their_silent)
        their_node = theirs["node_counts"].numpy().reshape(-1)
        their_node_excl = unique_positive_codes(silence_to_no_code(their_codes, their_silent), is_positive)
        scoring_same_node = bool(np.array_equal(unique_positive_codes(their_codes, is_positive), their_node))
        scoring_same_edge = bool(np.array_equal(unique_positive_pairs(their_codes, is_positive),
                                                theirs["edge_pair_counts"].numpy()))
        scoring_same_pool = bool(np.array_equal(pool_edge_scores_reference(theirs["edge_pair_counts"].numpy()),
                                                theirs["edge_pooled"].numpy().reshape(-1)))
        their_pooled_excl = pool_edge_scores_reference(
            unique_positive_pairs(silence_to_no_code(their_codes, their_silent), is_positive))

        t = time.perf_counter()
        result = discover(model, data["task_obj"], seed=seed, n_saes=1)  # the reference: one SAE
        discover_s = time.perf_counter() - t
        end_to_end = bool(
            np.array_equal(result.codes, codes)
            and np.array_equal(result.node_scores.reshape(-1), node)
            and np.array_equal(np.asarray(result.edge_head_scores).reshape(-1), pooled)
            and list(result.sae_run.train_rows) == rows.tolist()
            and result.settings["l1"] == l1 and result.settings["recipe"] == "paper"
        )
        node_auc = _auc(labels, node)
        edge_auc = _auc(labels, pooled)
        row = {
            "seed": seed,
            "same_rows": same_rows,
            "init_equal": init_equal,
            "loss_max_abs": loss_abs,
            "loss_max_rel": loss_rel,
            "loss_first_equal": bool(float(sae.losses[0]) == float(theirs["losses"][0])),
            "loss_curve_equal": bool(loss_abs == 0.0),
            "reference_printed_losses_match": printed_ok,
            "final_weights_max_abs": weight_diff,
            "acts_max_abs": acts_diff,
            "silent_ours": float(our_silent.mean()),
            "silent_theirs": float(their_silent.mean()),
            "codes_agree": agree,
            "codes_agree_non_silent": agree_live,
            "node_raw_max_abs": float(np.abs(node - their_node).max()),
            "node_raw_heads_differ": int((node != their_node).sum()),
            "node_excl_max_abs": float(np.abs(node - their_node_excl).max()),
            "node_excl_heads_differ": int((node != their_node_excl).sum()),
            "node_auc_ours": node_auc,
            "node_auc_theirs": theirs["node_auc"],
            "node_auc_diff": node_auc - theirs["node_auc"],
            "node_auc_theirs_excl": _auc(labels, their_node_excl),
            "edge_pooled_heads_differ": int((pooled != theirs["edge_pooled"].numpy().reshape(-1)).sum()),
            "edge_auc_ours": edge_auc,
            "edge_auc_theirs": theirs["edge_auc"],
            "edge_auc_diff": edge_auc - theirs["edge_auc"],
            "edge_auc_theirs_excl": _auc(labels, their_pooled_excl),
            "our_scoring_on_their_codes_equal": scoring_same_node and scoring_same_edge and scoring_same_pool,
            "discover_matches_pieces": end_to_end,
            "time_fit_ours_s": fit_s,
            "time_fit_theirs_s": theirs["fit_s"],
            "time_scores_ours_s": node_s + edge_s,
            "time_scores_theirs_s": theirs["node_s"] + theirs["edge_s"],
            "time_discover_s": discover_s,
        }
        rows_out.append(row)
        print(f"{name} seed {seed}: codes {agree:.4f} node AUC {node_auc:.3f}/{theirs['node_auc']:.3f}", file=sys.stderr, flush=True)
    return {"task": name, "l1": l1, "trials": rows_out, "summary": summarise(rows_out)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def col(k):
        return np.array([r[k] for r in rows], dtype=np.float64)

    out = {
        "trials": len(rows),
        "all_same_rows": all(r["same_rows"] for r in rows),
        "all_init_equal": all(r["init_equal"] for r in rows),
        "loss_curves_equal": int(sum(r["loss_curve_equal"] for r in rows)),
        "loss_max_abs": float(col("loss_max_abs").max()),
        "loss_max_rel": float(col("loss_max_rel").max()),
        "final_weights_max_abs": float(col("final_weights_max_abs").max()),
        "silent_ours_mean": float(col("silent_ours").mean()),
        "silent_theirs_mean": float(col("silent_theirs").mean()),
        "codes_agree_mean": float(col("codes_agree").mean()),
        "codes_agree_min": float(col("codes_agree").min()),
        "codes_agree_non_silent_mean": float(np.nanmean(col("codes_agree_non_silent"))),
        "codes_agree_non_silent_min": float(np.nanmin(col("codes_agree_non_silent"))),
        "node_raw_max_abs": float(col("node_raw_max_abs").max()),
        "node_excl_max_abs": float(col("node_excl_max_abs").max()),
        "node_auc_ours_mean": float(col("node_auc_ours").mean()),
        "node_auc_ours_std": float(col("node_auc_ours").std()),
        "node_auc_theirs_mean": float(col("node_auc_theirs").mean()),
        "node_auc_theirs_std": float(col("node_auc_theirs").std()),
        "node_auc_theirs_excl_mean": float(col("node_auc_theirs_excl").mean()),
        "node_auc_max_abs_diff": float(np.abs(col("node_auc_diff")).max()),
        "node_auc_excl_max_abs_diff": float(np.abs(col("node_auc_ours") - col("node_auc_theirs_excl")).max()),
        "node_auc_mean_diff": float(col("node_auc_ours").mean() - col("node_auc_theirs").mean()),
        "edge_auc_ours_mean": float(col("edge_auc_ours").mean()),
        "edge_auc_theirs_mean": float(col("edge_auc_theirs").mean()),
        "edge_auc_theirs_excl_mean": float(col("edge_auc_theirs_excl").mean()),
        "edge_auc_max_abs_diff": float(np.abs(col("edge_auc_diff")).max()),
        "edge_auc_excl_max_abs_diff": float(np.abs(col("edge_auc_ours") - col("edge_auc_theirs_excl")).max()),
        "edge_auc_mean_diff": float(col("edge_auc_ours").mean() - col("edge_auc_theirs").mean()),
        "our_scoring_on_their_codes_equal": all(r["our_scoring_on_their_codes_equal"] for r in rows),
        "reference_printed_losses_match": all(r["reference_printed_losses_match"] for r in rows),
        "discover_matches_pieces": all(r["discover_matches_pieces"] for r in rows),
        "time_fit_ours_s": float(col("time_fit_ours_s").mean()),
        "time_fit_theirs_s": float(col("time_fit_theirs_s").mean()),
        "time_scores_ours_s": float(col("time_scores_ours_s").mean()),
        "time_scores_theirs_s": float(col("time_scores_theirs_s").mean()),
        "time_discover_s": float(col("time_discover_s").mean()),
    }
    out["codes_target_met"] = out["codes_agree_min"] >= CODES_TARGET
    out["node_auc_target_met"] = out["node_auc_max_abs_diff"] <= AUC_TARGET
    out["edge_auc_within_0.01"] = out["edge_auc_max_abs_diff"] <= AUC_TARGET
    return out


def _yn(v: bool) -> str:
    return "yes" if v else "NO"


def format_task(res: dict[str, Any]) -> str:
    head = (f"{'seed':>4} {'loss|d|':>9} {'loss rel':>9} {'W |d|':>9} {'silent us/them':>15} {'codes':>7} "
            f"{'non-sil':>7} {'node|d| raw/excl':>16} {'node AUC us/them':>17} {'edge AUC us/them':>17} "
            f"{'fit s us/them':>14}")
    lines = [f"== {res['task']} (l1={res['l1']}) ==", head, "-" * len(head)]
    for r in res["trials"]:
        lines.append(
            f"{r['seed']:>4} {r['loss_max_abs']:>9.2e} {r['loss_max_rel']:>9.2e} {r['final_weights_max_abs']:>9.2e} "
            f"{r['silent_ours']:>7.3f}/{r['silent_theirs']:<7.3f} {r['codes_agree']:>7.4f} "
            f"{r['codes_agree_non_silent']:>7.4f} {r['node_raw_max_abs']:>8.0f}/{r['node_excl_max_abs']:<7.0f} "
            f"{r['node_auc_ours']:>8.3f}/{r['node_auc_theirs']:<8.3f} {r['edge_auc_ours']:>8.3f}/{r['edge_auc_theirs']:<8.3f} "
            f"{r['time_fit_ours_s']:>6.2f}/{r['time_fit_theirs_s']:<7.2f}")
    s = res["summary"]
    lines += [
        f"same training rows: {_yn(s['all_same_rows'])}; same initial weights (bitwise): {_yn(s['all_init_equal'])}; "
        f"identical loss curves: {s['loss_curves_equal']}/{s['trials']} (max |d| {s['loss_max_abs']:.2e}, "
        f"max rel {s['loss_max_rel']:.2e}); final weights max |d| {s['final_weights_max_abs']:.2e}",
        f"silent fraction: ours {s['silent_ours_mean']:.3f}, theirs {s['silent_theirs_mean']:.3f}; codes agree "
        f"mean {s['codes_agree_mean']:.4f} (min {s['codes_agree_min']:.4f}); non-silent mean "
        f"{s['codes_agree_non_silent_mean']:.4f} (min {s['codes_agree_non_silent_min']:.4f})",
        f"node scores max |d|: raw {s['node_raw_max_abs']:.0f}, their silent excluded {s['node_excl_max_abs']:.0f}; "
        f"node AUC ours {s['node_auc_ours_mean']:.3f}+-{s['node_auc_ours_std']:.3f}, theirs "
        f"{s['node_auc_theirs_mean']:.3f}+-{s['node_auc_theirs_std']:.3f} (theirs silent excluded "
        f"{s['node_auc_theirs_excl_mean']:.3f}); max |d| per seed {s['node_auc_max_abs_diff']:.3f} (vs theirs "
        f"silent excluded {s['node_auc_excl_max_abs_diff']:.3f})",
        f"edge AUC ours {s['edge_auc_ours_mean']:.3f}, theirs {s['edge_auc_theirs_mean']:.3f} (theirs silent "
        f"excluded {s['edge_auc_theirs_excl_mean']:.3f}); max |d| per seed {s['edge_auc_max_abs_diff']:.3f} (vs theirs "
        f"silent excluded {s['edge_auc_excl_max_abs_diff']:.3f})",
        f"our scoring on their codes equals theirs: {_yn(s['our_scoring_on_their_codes_equal'])}; their printed "
        f"losses match the captured ones: {_yn(s['reference_printed_losses_match'])}; discover() equals the "
        f"pieces: {_yn(s['discover_matches_pieces'])}",
        f"time per trial: fit ours {s['time_fit_ours_s']:.2f}s, theirs {s['time_fit_theirs_s']:.2f}s; scoring "
        f"(codes+node+edge) ours {s['time_scores_ours_s']:.3f}s, theirs {s['time_scores_theirs_s']:.2f}s; "
        f"discover() end to end {s['time_discover_s']:.2f}s",
        f"targets: codes >= {CODES_TARGET:.0%} on every seed: {_yn(s['codes_target_met'])}; node AUC within "
        f"{AUC_TARGET} on every seed: {_yn(s['node_auc_target_met'])}",
    ]
    return "\n".join(lines)


def overall(results: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r for res in results for r in res["trials"]]
    s = summarise(rows)
    s["verdict"] = bool(s["codes_target_met"] and s["node_auc_target_met"])
    return s


def format_overall(s: dict[str, Any]) -> str:
    return "\n".join([
        f"== overall ({s['trials']} trials) ==",
        f"codes agree: mean {s['codes_agree_mean']:.4f}, min {s['codes_agree_min']:.4f} (target >= {CODES_TARGET}); "
        f"non-silent mean {s['codes_agree_non_silent_mean']:.4f}, min {s['codes_agree_non_silent_min']:.4f}",
        f"silent fraction: ours {s['silent_ours_mean']:.3f}, theirs {s['silent_theirs_mean']:.3f}",
        f"loss curves identical: {s['loss_curves_equal']}/{s['trials']}; max |d| {s['loss_max_abs']:.2e}, "
        f"max rel {s['loss_max_rel']:.2e}",
        f"node AUC max |d| per trial {s['node_auc_max_abs_diff']:.3f} (target <= {AUC_TARGET}); "
        f"edge AUC max |d| per trial {s['edge_auc_max_abs_diff']:.3f}",
        f"with their silent vectors excluded as well (isolates training from the documented -1 deviation): "
        f"node scores max |d| {s['node_excl_max_abs']:.0f}, node AUC max |d| {s['node_auc_excl_max_abs_diff']:.3f}, "
        f"edge AUC max |d| {s['edge_auc_excl_max_abs_diff']:.3f}",
        f"verdict: {'PASS' if s['verdict'] else 'FAIL'} (codes >= {CODES_TARGET:.0%} and node AUC within "
        f"{AUC_TARGET} on every trial)",
    ])


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", type=Path, help="folder holding the authors' src/ (see the module docstring)")
    p.add_argument("--reference-python", default=sys.executable,
                   help="interpreter of the reference side (default: this one)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--work", type=Path, help="where the tensors are saved (default: REFERENCE/crosscheck_data)")
    p.add_argument("--json", type=Path)
    p.add_argument("--reference-side", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reference_side is not None:
        run_reference_side(args.reference_side, args.seeds)
        return 0
    if args.reference is None:
        p.error("--reference is required")
    torch.set_num_threads(1)
    from sae_circuits_widget import load_model

    reference = args.reference.resolve()
    work = (args.work or reference / "crosscheck_data").resolve()
    tasks = [t for t in args.tasks.split(",") if t]
    model = load_model()
    data = save_inputs(model, tasks, work)
    for name in tasks:
        (work / f"reference_{name}.pt").unlink(missing_ok=True)
    ref_wall = run_reference(reference, args.reference_python, work, args.seeds)
    results = []
    texts = []
    for name in tasks:
        ref = torch.load(work / f"reference_{name}.pt", weights_only=True)
        results.append(compare_task(model, data[name], ref, args.seeds))
        texts.append(format_task(results[-1]))
    summary = overall(results)
    commit_file = reference / "COMMIT"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    header = (f"reference crosscheck: recipe='paper' vs charlieoneill11/sae-circuits@{commit[:7]}; {args.seeds} seeds; "
              f"bundled model; n=20 pairs per task; torch {torch.__version__} (reference side {ref['torch']}); "
              f"one torch thread; reference side wall time {ref_wall:.0f}s\n"
              "columns: loss |d| / rel = max abs / relative loss difference over 500 epochs (reference losses "
              "captured by wrapping its loss_fn); W |d| = final weights; codes = share of (prompt, head) vectors "
              "with the same code (our -1 = all their activations zero); non-sil = the same on vectors non-silent "
              "on either side; node |d| raw/excl = max node-score difference with their silent vectors as code 0 "
              "/ excluded")
    text = "\n\n".join([header, *texts, format_overall(summary)])
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "reference": {"repository": "charlieoneill11/sae-circuits", "commit": commit,
                          "torch": ref["torch"], "numpy": ref["numpy"], "python": ref["python"]},
            "project": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
            "settings": {"seeds": args.seeds, "n_features": N_FEATURES, "n_train": N_TRAIN, "epochs": EPOCHS,
                         "lr": LR, "n_pairs": 20, "position": "mean"},
            "targets": {"codes_agree_min": CODES_TARGET, "node_auc_abs_diff_max": AUC_TARGET},
            "tasks": results,
            "overall": summary,
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

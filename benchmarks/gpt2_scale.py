"""The SAE method's time on a GPT-2-small-shaped model, next to ACDC's projected cost.

    python benchmarks/gpt2_scale.py [--threads 1] [--n 20] [--json PATH]

1. Measured: ``discover`` on a randomly initialised model with GPT-2 small's shape
   (12 layers x 12 heads, d_model 768, d_mlp 3072, vocabulary 50257; built in-process
   with ``TransformerBridge.boot_native``, nothing downloaded), on the IOI task's
   prompts (20 pairs). Random weights do not change the cost: the SAE method runs one
   forward pass per prompt and fits the default ensemble's SAEs (3, in parallel threads
   only when a fit is small; here one after another), whatever the weights are.
   ``benchmarks/speed.py`` times the same model next to the plain loop, with 10 pairs.
2. Measured: ACDC's cost per edge test on the bundled organism (one ACDC run on IOI at a
   single threshold), and on a GPT-2-small-shaped *attention-only* random model (the
   same 12 x 12 x 768 shape without MLPs; our ACDC handles attention-only graphs):
   there each receiver layer is timed a few times and the costs are weighted by the
   number of edges into that layer, as in a full run.
3. Projection (not measured): cost per edge test x the edge count of GPT-2 small in
   ACDC's graph (embeddings, 144 heads with separate Q/K/V inputs, 12 MLPs, logits:
   32,491 edges), for one threshold and for a 10-threshold sweep (one ROC curve). The
   GPT-2-shaped per-test cost leaves out the MLPs, so it is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def gpt2_shaped(attn_only: bool, tokenizer):
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=768, d_head=64, n_heads=12, n_layers=12, n_ctx=1024, d_vocab=50257,
        d_mlp=None if attn_only else 3072, attn_only=attn_only, normalization_type="LN",
        act_fn="gelu_new", seed=0,
    )
    model = TransformerBridge.boot_native(cfg, tokenizer=tokenizer)
    model.eval()
    return model


def time_sae(model, task, seed: int = 0) -> dict:
    from sae_circuits_widget.engine.activations import HeadOutputCache
    from sae_circuits_widget.engine.discover import discover

    runs = []
    for _ in range(2):  # two runs, each with a fresh activation cache; the faster one counts
        t0 = time.perf_counter()
        result = discover(model, task, seed=seed, cache=HeadOutputCache())
        runs.append({"seconds": time.perf_counter() - t0, "stages": dict(result.timings)})
    best = min(runs, key=lambda r: r["seconds"])
    return {"runs": runs, "best": best}


def acdc_cost_per_test_on(model, task, repeats: int = 3) -> dict:
    """Edge-weighted mean seconds per ACDC edge test, timing each receiver layer."""
    from sae_circuits_widget.baselines.acdc import _Scorer
    from sae_circuits_widget.baselines.eap import PatchableAttentionOnly, tokenize_pairs

    pm = PatchableAttentionOnly(model, qkv="separate", check=False)
    batch = tokenize_pairs(model, task)
    scorer = _Scorer(pm, batch, "kl")
    g = pm.graph
    per_layer, weights = [], []
    for layer in range(pm.n_layers + 1):
        scorer.score(scorer.full_masks, scorer.full_final, layer)  # warm-up
        t0 = time.perf_counter()
        for _ in range(repeats):
            scorer.score(scorer.full_masks, scorer.full_final, layer)
        per_layer.append((time.perf_counter() - t0) / repeats)
        if layer < pm.n_layers:
            weights.append(pm.n_heads * g.n_channels * g.senders_before(layer))
        else:
            weights.append(g.n_senders)
    w = np.array(weights, dtype=float)
    return {"seconds_per_edge_test": float(np.dot(per_layer, w) / w.sum()),
            "per_receiver_layer": per_layer, "n_edges_attention_only": int(w.sum())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=20, help="prompt pairs")
    parser.add_argument("--thresholds", type=int, default=10, help="thresholds in a sweep")
    parser.add_argument("--organism-dir", default=None, help="load the organism from this folder")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from sae_circuits_widget.baselines.acdc import acdc
    from sae_circuits_widget.baselines.eap import gpt2_small_edge_count
    from sae_circuits_widget.organism import load_organism
    from sae_circuits_widget.tasks import get_task

    out: dict = {"threads": args.threads, "n_pairs": args.n}
    organism = load_organism(directory=args.organism_dir)
    tok = organism.tokenizer

    gpt2 = gpt2_shaped(attn_only=False, tokenizer=tok)
    task = get_task("ioi", gpt2, n=args.n, seed=0)
    out["sae_gpt2_shaped"] = time_sae(gpt2, task)
    del gpt2

    org_task = get_task("ioi", organism, n=args.n, seed=0)
    res = acdc(organism, org_task, fractions=[0.01], progress=False)
    out["acdc_organism"] = {"seconds": res.seconds, "n_edge_tests": res.extras["n_edge_tests"],
                            "seconds_per_edge_test": res.extras["seconds_per_edge_test"],
                            "n_edges": res.extras["n_edges"]}
    out["sae_organism"] = time_sae(organism, org_task)

    gpt2_attn = gpt2_shaped(attn_only=True, tokenizer=tok)
    out["acdc_gpt2_shaped_attn_only"] = acdc_cost_per_test_on(gpt2_attn, get_task("ioi", gpt2_attn, n=args.n, seed=0))
    del gpt2_attn

    edges = gpt2_small_edge_count()
    out["gpt2_small_edges"] = edges
    proj = {}
    for label, per_test in (("organism_cost", out["acdc_organism"]["seconds_per_edge_test"]),
                            ("gpt2_shaped_cost", out["acdc_gpt2_shaped_attn_only"]["seconds_per_edge_test"])):
        proj[label] = {"per_edge_test": per_test, "one_threshold_s": per_test * edges,
                       "sweep_s": per_test * edges * args.thresholds}
    out["acdc_projection_gpt2_small"] = proj
    sae = out["sae_gpt2_shaped"]["best"]["seconds"]

    print(f"SAE method, GPT-2-small-shaped random model (12x12, d_model 768, MLPs), {args.n} pairs, "
          f"{args.threads} thread(s): {sae:.2f} s measured (best of 2 runs: "
          + ", ".join(f"{r['seconds']:.2f} s" for r in out["sae_gpt2_shaped"]["runs"]) + ")")
    st = out["sae_gpt2_shaped"]["best"]["stages"]
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in st.items()))
    o = out["acdc_organism"]
    print(f"ACDC on the organism (IOI, one threshold): {o['seconds']:.1f} s for {o['n_edge_tests']} edge tests "
          f"= {1e3 * o['seconds_per_edge_test']:.2f} ms per test; SAE on the organism "
          f"{out['sae_organism']['best']['seconds']:.2f} s")
    a = out["acdc_gpt2_shaped_attn_only"]
    print(f"ACDC per edge test on the GPT-2-shaped attention-only model (measured, edge-weighted): "
          f"{1e3 * a['seconds_per_edge_test']:.1f} ms")
    print(f"PROJECTION for GPT-2 small ({edges} edges), not measured:")
    for label, p in proj.items():
        print(f"  with the {label.replace('_', ' ')} per test: one threshold {p['one_threshold_s'] / 60:.1f} min, "
              f"{args.thresholds}-threshold sweep {p['sweep_s'] / 3600:.2f} h "
              f"= {p['sweep_s'] / sae:.0f}x the SAE method's measured time")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cross-check our EAP against auto-circuit's, on the same weights and prompts.

    python benchmarks/eap_crosscheck.py                 # bundled organism, every task
    python benchmarks/eap_crosscheck.py --model tiny    # the random in-process test model
    python benchmarks/eap_crosscheck.py --model gpt2 --gpt2-dir DIR \
        --out benchmarks/results/eap_crosscheck_gpt2.txt   # a GPT-2 organism folder
    python benchmarks/eap_crosscheck.py --model gpt2    # a random GPT-2 (3 x 8, MLPs)

Attention-only models: our model's weights are copied into a TransformerLens 2.x
``HookedTransformer`` (same parameter names: blocks.L.attn.W_Q ...). GPT-2 models (MLPs,
``gelu_new``, tied or separate unembedding): the peer loads the Hugging Face folder itself
(``save_pretrained`` files, as the GPT-2 organism ships) and converts it with
TransformerLens 2.x's own GPT-2 weight conversion, so nothing of our weight reading is
shared; our side loads the same folder with ``load_organism(directory=...)``. The peer
runs inside the separate environment
``.peer-venv`` (see ../shared/peers.md for the recipe), where auto-circuit's EAP
(``mask_gradient_prune_scores`` with logits, mask value 0: its fast, exact form of
edge attribution patching) scores every edge, with Q/K/V as separate receivers. We
compare with ``baselines.eap`` on the same prompt pairs (those of the task's most common
token length, since auto-circuit reads the metric at the last position of a batch).

auto-circuit's score is the gradient of ``-logit diff`` with respect to a mask that
moves the edge from clean to corrupted, i.e. ``-(ours)``; we flip its sign. Reported:
Pearson and Spearman correlation over all edges, max |difference| relative to the
largest score (over all edges, and over the edges into or out of MLPs), per-head (sum
over outgoing edges = head-level attribution patching) Pearson and Spearman correlation,
the same per MLP, and the overlap of the top-k heads by |score| (k = ground-truth size,
or 5).
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
PEER_PYTHON = REPO / ".peer-venv" / "bin" / "python"
RANDOM_GPT2_SHAPE = {"n_layers": 3, "n_heads": 8, "d_model": 64, "n_ctx": 64, "d_mlp": 256}
"""The random GPT-2 used without ``--gpt2-dir`` (the bundled organism's 3 x 8 heads, with MLPs)."""


def hooked_transformer_weights(model) -> dict:
    """cfg kwargs + state dict of a TransformerLens 2.x HookedTransformer equal to ``model``."""
    from sae_circuits_widget.baselines.eap import PatchableModel

    pm = PatchableModel(model)
    cfg = model.cfg
    if (cfg.normalization_type or "").upper() != "LN":
        raise SystemExit("the cross-check copies LayerNorm weights; this model uses "
                         f"normalization_type={cfg.normalization_type!r}")
    state = {"embed.W_E": pm.W_E, "pos_embed.W_pos": pm.W_pos,
             "ln_final.w": pm.ln_final.weight.detach().float(), "ln_final.b": pm.ln_final.bias.detach().float(),
             "unembed.W_U": pm.W_U, "unembed.b_U": pm.b_U}
    for layer in range(cfg.n_layers):
        state[f"blocks.{layer}.ln1.w"] = pm.ln1[layer].weight.detach().float()
        state[f"blocks.{layer}.ln1.b"] = pm.ln1[layer].bias.detach().float()
        for name in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
            state[f"blocks.{layer}.attn.{name}"] = getattr(pm, name)[layer]
    ht_cfg = dict(n_layers=cfg.n_layers, n_heads=cfg.n_heads, d_model=cfg.d_model, d_head=cfg.d_head,
                  n_ctx=cfg.n_ctx, d_vocab=cfg.d_vocab, d_vocab_out=cfg.d_vocab, attn_only=True,
                  normalization_type="LN", act_fn=cfg.act_fn or "gelu", eps=cfg.eps,
                  positional_embedding_type="standard", seed=0)
    return {"cfg": ht_cfg, "state": {k: v.detach().clone().contiguous() for k, v in state.items()}}


def modal_length_task(model, task):
    """The task restricted to its pairs of the most common token length."""
    lengths = [model.to_tokens(p).shape[1] for p in task.positives[: task.n_pairs]]
    mode = collections.Counter(lengths).most_common(1)[0][0]
    keep = [i for i, n in enumerate(lengths) if n == mode]
    pick = lambda xs: None if xs is None else [xs[i] for i in keep]  # noqa: E731
    return replace(task, positives=pick(task.positives), negatives=pick(task.negatives),
                   answers=pick(task.answers), correct_ids=pick(task.correct_ids),
                   incorrect_ids=pick(task.incorrect_ids))


def our_name(peer_name: str) -> str:
    """auto-circuit's edge name in ours: ``Resid Start`` = embed, ``MLP 1`` = M1, ``Resid End`` = logits."""
    src, dest = (n.replace("MLP ", "M") for n in peer_name.split("->"))
    src = "embed" if src == "Resid Start" else src
    dest = "logits" if dest == "Resid End" else dest
    return f"{src}->{dest}"


def random_gpt2_folder(folder: Path, seed: int = 0) -> Path:
    """A random GPT-2 over the organism's words, written as a GPT-2 organism folder."""
    import transformers

    from sae_circuits_widget.organism.model import gpt2_config, new_tokenizer, save_gpt2

    tok = new_tokenizer()
    config = gpt2_config(tok, **RANDOM_GPT2_SHAPE)
    config.initializer_range = 0.1  # wider than GPT-2's 0.02: random heads and MLPs differ more
    torch.manual_seed(seed)
    save_gpt2(transformers.GPT2LMHeadModel(config).eval(), tok, folder, extra={"random": True, "seed": seed})
    return folder


def compare(model, task, workdir: Path, hf_dir: Optional[Path] = None) -> dict:
    from scipy.stats import spearmanr

    from sae_circuits_widget.baselines.eap import eap, tokenize_pairs

    sub = modal_length_task(model, task)
    ours = eap(model, sub, qkv="separate")
    batch = tokenize_pairs(model, sub)
    with torch.no_grad():
        ref_logits = model(batch.positives).float()
    if hf_dir is None:
        torch.save(hooked_transformer_weights(model), workdir / "model.pt")
    else:  # the peer converts the Hugging Face weights itself
        torch.save({"hf_dir": str(hf_dir)}, workdir / "model.pt")
    torch.save({"clean": batch.positives.cpu(), "corrupt": batch.negatives.cpu(),
                "answers": [torch.tensor(list(a)) for a in sub.correct_ids],
                "wrong": [torch.tensor(list(a)) for a in sub.incorrect_ids],
                "ref_logits": ref_logits.cpu()}, workdir / "data.pt")
    run = subprocess.run([str(PEER_PYTHON), str(Path(__file__).with_name("_eap_peer.py")), str(workdir)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"auto-circuit run failed:\n{run.stderr[-3000:]}")
    peer = json.loads((workdir / "peer.json").read_text())
    peer_edges = {our_name(k): -v for k, v in peer["edges"].items()}  # sign: see module docstring
    names = ours.extras["edge_names"]
    mine = dict(zip(names, ours.extras["edge_values"].tolist()))
    if set(peer_edges) != set(mine):
        only_p = sorted(set(peer_edges) - set(mine))[:5]
        only_m = sorted(set(mine) - set(peer_edges))[:5]
        raise SystemExit(f"edge sets differ: peer only {only_p}, ours only {only_m}")
    a = np.array([mine[n] for n in names])
    b = np.array([peer_edges[n] for n in names])
    L, H = model.cfg.n_layers, model.cfg.n_heads
    head_a, head_b = np.zeros(L * H), np.zeros(L * H)
    mlp_a, mlp_b = np.zeros(L), np.zeros(L)
    for n, x, y in zip(names, a, b):
        src = n.split("->")[0]
        if src.startswith("A"):
            layer, head = (int(t) for t in src[1:].split("."))
            head_a[layer * H + head] += x
            head_b[layer * H + head] += y
        elif src.startswith("M"):
            mlp_a[int(src[1:])] += x
            mlp_b[int(src[1:])] += y
    with_mlp = np.array(["M" in n for n in names])
    scale = max(np.abs(b).max(), 1e-12)
    k = len(task.ground_truth) if task.ground_truth else 5
    top_a = set(np.argsort(-np.abs(head_a), kind="stable")[:k].tolist())
    top_b = set(np.argsort(-np.abs(head_b), kind="stable")[:k].tolist())
    return {
        "task": task.name,
        "n_pairs": len(sub.positives),
        "n_edges": len(names),
        "logit_error_ht_vs_bridge": peer["logit_error_vs_ours"],
        "edge_pearson": float(np.corrcoef(a, b)[0, 1]),
        "edge_spearman": float(spearmanr(a, b).statistic),
        "edge_max_abs_diff_rel": float(np.abs(a - b).max() / scale),
        "n_mlp_edges": int(with_mlp.sum()),
        "mlp_edge_max_abs_diff_rel": float(np.abs(a - b)[with_mlp].max() / scale) if with_mlp.any() else None,
        "head_pearson": float(np.corrcoef(head_a, head_b)[0, 1]),
        "head_spearman": float(spearmanr(head_a, head_b).statistic),
        "mlp_pearson": float(np.corrcoef(mlp_a, mlp_b)[0, 1]) if with_mlp.any() else None,
        "mlp_max_abs_diff_rel": (float(np.abs(mlp_a - mlp_b).max() / max(np.abs(mlp_b).max(), 1e-12))
                                 if with_mlp.any() else None),
        "top_k": k,
        "top_k_overlap": len(top_a & top_b) / k,
        "sign_agreement": float(np.mean(np.sign(head_a) == np.sign(head_b))),
        "seconds_ours": ours.seconds,
        "seconds_peer": peer["seconds"],
    }


def tiny_task(model):
    from sae_circuits_widget.tasks.task import Task

    ids = model.tokenizer.convert_tokens_to_ids
    pos = ["When Mary and John went to the store , John gave a drink to",
           "When Tom and Anna went to the park , Anna gave a book to"]
    neg = ["When Mary and John went to the store , Tom gave a drink to",
           "When Tom and Anna went to the park , John gave a book to"]
    return Task("toy_ioi", pos, neg, correct_ids=[(ids("Mary"),), (ids("Tom"),)],
                incorrect_ids=[(ids("John"),), (ids("Anna"),)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["organism", "tiny", "gpt2"], default="organism")
    parser.add_argument("--gpt2-dir", default=None,
                        help="a GPT-2 organism folder (--model gpt2); default: a random GPT-2")
    parser.add_argument("--tasks", default=None, help="comma-separated task names (organism, gpt2)")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--out", metavar="PATH", help="also write the printed report here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if not PEER_PYTHON.exists():
        raise SystemExit(f"{PEER_PYTHON} not found: build the peer environment first (../shared/peers.md)")
    hf_dir: Optional[Path] = None
    keep = tempfile.TemporaryDirectory()
    if args.model == "tiny":
        from sae_circuits_widget.testing import tiny_model

        model = tiny_model()
        tasks = [tiny_task(model)]
        source = "random attention-only test model (sae_circuits_widget.testing.tiny_model)"
    else:
        from sae_circuits_widget.organism import load_organism
        from sae_circuits_widget.tasks import TASK_NAMES, get_task

        if args.model == "gpt2":
            hf_dir = Path(args.gpt2_dir) if args.gpt2_dir else random_gpt2_folder(Path(keep.name) / "gpt2")
            model = load_organism(directory=hf_dir)
            source = (f"GPT-2 organism folder {args.gpt2_dir}" if args.gpt2_dir else
                      f"random GPT-2 {RANDOM_GPT2_SHAPE} (seed 0, organism vocabulary)")
        else:
            model = load_organism()
            source = "bundled organism"
        names = TASK_NAMES if args.tasks is None else [t for t in args.tasks.split(",") if t]
        tasks = [get_task(t, model, n=args.n, seed=0) for t in names]
    rows = []
    for task in tasks:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(compare(model, task, Path(tmp), hf_dir))
    keep.cleanup()
    cols = ["task", "n_pairs", "n_edges", "edge_pearson", "edge_spearman", "edge_max_abs_diff_rel",
            "n_mlp_edges", "mlp_edge_max_abs_diff_rel", "head_pearson", "head_spearman", "mlp_pearson",
            "mlp_max_abs_diff_rel", "top_k", "top_k_overlap", "sign_agreement", "logit_error_ht_vs_bridge",
            "seconds_ours", "seconds_peer"]
    lines = [f"EAP (Q/K/V separate) vs auto-circuit's EAP on {source}; model cfg: "
             f"{model.cfg.n_layers} layers x {model.cfg.n_heads} heads, attn_only={model.cfg.attn_only}, "
             f"act_fn={model.cfg.act_fn}",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.7g}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

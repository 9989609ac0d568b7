"""Run auto-circuit's edge attribution patching on a model saved by eap_crosscheck.py.

Runs inside the separate peer environment (.peer-venv: TransformerLens 2.x, auto-circuit);
it imports nothing from this package. Usage: ``python _eap_peer.py DIR``; reads
``DIR/model.pt`` and ``DIR/data.pt`` and writes ``DIR/peer.json`` with every edge's score
(auto-circuit's names, e.g. ``A0.3->A2.1.Q``, ``Resid Start->Resid End``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch


def main(directory: str) -> None:
    torch.set_num_threads(1)
    import auto_circuit.data as ac_data
    import transformer_lens as tl
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
    from auto_circuit.utils.graph_utils import patchable_model

    original_collate = ac_data.collate_fn

    def collate(batch):
        # auto-circuit needs answers and wrong answers both stacked or both lists; with
        # varying counts of one kind (greater-than) make both lists.
        out = original_collate(batch)
        if isinstance(out.answers, list) != isinstance(out.wrong_answers, list):
            out = ac_data.PromptPairBatch(out.key, out.batch_diverge_idx, out.clean, out.corrupt,
                                          list(out.answers), list(out.wrong_answers))
        return out

    ac_data.collate_fn = collate
    d = Path(directory)
    saved = torch.load(d / "model.pt")
    data = torch.load(d / "data.pt")
    cfg = tl.HookedTransformerConfig(**saved["cfg"])
    model = tl.HookedTransformer(cfg)
    missing, unexpected = model.load_state_dict(saved["state"], strict=False)
    missing = [k for k in missing if not k.endswith(("attn.mask", "attn.IGNORE"))]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    model.eval()
    with torch.no_grad():
        logits = model(data["clean"])
    logit_error = float((logits - data["ref_logits"]).abs().max())
    model.cfg.use_attn_result = True
    model.cfg.use_attn_in = True
    model.cfg.use_split_qkv_input = True
    model.cfg.use_hook_mlp_in = True
    for p in model.parameters():
        p.requires_grad = False
    t0 = time.perf_counter()
    pm = patchable_model(model, factorized=True, slice_output="last_seq", separate_qkv=True,
                         device=torch.device("cpu"))
    dataset = PromptDataset(list(data["clean"]), list(data["corrupt"]),
                            [a for a in data["answers"]], [w for w in data["wrong"]])
    loader = PromptDataLoader(dataset, seq_len=None, diverge_idx=0, batch_size=len(dataset),
                              shuffle=False)
    scores = mask_gradient_prune_scores(pm, loader, None, grad_function="logit",
                                        answer_function="avg_diff", mask_val=0.0)
    seconds = time.perf_counter() - t0
    edges = {e.name: float(e.prune_score(scores)) for e in sorted(pm.edges, key=lambda e: e.name)}
    (d / "peer.json").write_text(json.dumps({
        "edges": edges, "logit_error_vs_ours": logit_error, "seconds": seconds,
        "n_edges": len(edges), "transformer_lens": tl.__version__ if hasattr(tl, "__version__") else "",
    }))


if __name__ == "__main__":
    main(sys.argv[1])

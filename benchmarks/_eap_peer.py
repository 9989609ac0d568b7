"""Run auto-circuit's edge attribution patching on a model saved by eap_crosscheck.py.

Runs inside the separate peer environment (.peer-venv: TransformerLens 2.x, auto-circuit);
it imports nothing from this package. Usage: ``python _eap_peer.py DIR``; reads
``DIR/model.pt`` and ``DIR/data.pt`` and writes ``DIR/peer.json`` with every edge's score
(auto-circuit's names, e.g. ``A0.3->A2.1.Q``, ``MLP 0->A1.2.K``, ``Resid Start->Resid End``).
``model.pt`` holds either a HookedTransformer config and state dict (attention-only), or
``hf_dir``: a Hugging Face GPT-2 folder, loaded here with transformers and converted with
TransformerLens 2.x's own GPT-2 weight conversion (no folding or centring).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch


def gpt2_from_folder(folder: str):
    """HookedTransformer config and state dict of the GPT-2 saved in ``folder``."""
    import transformer_lens as tl
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel.from_pretrained(folder).eval()
    c = hf.config
    cfg = tl.HookedTransformerConfig(
        n_layers=c.n_layer, n_heads=c.n_head, d_model=c.n_embd, d_head=c.n_embd // c.n_head,
        d_mlp=c.n_inner or 4 * c.n_embd, act_fn=c.activation_function, n_ctx=c.n_positions,
        d_vocab=c.vocab_size, d_vocab_out=c.vocab_size, eps=c.layer_norm_epsilon, normalization_type="LN",
        positional_embedding_type="standard", original_architecture="GPT2LMHeadModel", attn_only=False,
        scale_attn_by_inverse_layer_idx=c.scale_attn_by_inverse_layer_idx, seed=0,
    )
    state = convert_gpt2_weights(hf, cfg)
    state.setdefault("unembed.b_U", torch.zeros(cfg.d_vocab_out))  # GPT-2's unembedding has no bias
    return cfg, state


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
    if "hf_dir" in saved:
        cfg, state = gpt2_from_folder(saved["hf_dir"])
    else:
        cfg, state = tl.HookedTransformerConfig(**saved["cfg"]), saved["state"]
    model = tl.HookedTransformer(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
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

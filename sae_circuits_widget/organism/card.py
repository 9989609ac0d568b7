"""The ground-truth script's report: what it prints, the property checklist, the model card.

``python -m sae_circuits_widget.organism.ground_truth`` derives the circuits
(``ground_truth.py``); this module turns its result (the content of circuits.json) into
the printed summary of each task, the PASS/FAIL line of each property of the organism's
specification (:func:`property_checks`) and MODEL_CARD.md. The card's generated sections
come from circuits.json and config.json alone, so ``ground_truth --card-only`` rewrites
them without rerunning the analysis; every other ``## `` section is written by hand and
kept (:func:`hand_written_sections`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .model import GPT2_ORGANISM_NAME, organism_record
from .train import RECIPES, TrainConfig


def fmt_heads(heads) -> str:
    return " ".join(f"{layer}.{h}" for layer, h in heads)


def summary_lines(name: str, e: dict) -> str:
    b, p, s, t = e["behaviour"], e["properties"], e["search"], e["trivial_auc"]
    pos, neg = b["positives"], b["negatives"]
    if name == "greater_than":
        acc = (
            f"P1 prob_above={pos['prob_above_start_year']:.3f} | P2 neg prob_above={neg['prob_above_start_year']:.3f}"
            f" (chance {b['chance']['prob_above_start_year']:.3f})"
        )
    else:
        acc = f"P1 top1={pos['top1']:.3f} | P2 neg top1={neg['top1']:.3f} (chance {b['chance']['top1']:.3f})"
        if name == "ioi":
            acc += f" neg io>s={neg['io_over_s']:.3f}"
    lines = [
        f"[{name}] {acc} | logit diff pos {pos['logit_diff']:.2f} neg {neg['logit_diff']:.2f}",
        f"  circuit ({len(e['heads'])} heads, {p['fraction_of_heads']:.0%}): {fmt_heads(e['heads'])}"
        f" | faithfulness {s['faithfulness']:.3f} | 1-minimal {s['one_minimal']} | exhaustive {s['exhaustive_smaller']}",
        f"  P3 layers {p['layers']} composition {p['composition']} (grouped path {p['composition_fraction']:.2f} of clean)"
        f" edges {[f'{a[0]}.{a[1]}->{b_[0]}.{b_[1]}' for a, b_ in e.get('edges', [])]}",
        "  P5 AUC " + " ".join(f"{k}={v:.3f}" for k, v in t.items()),
    ]
    if "mlp_ablation_effect" in e:
        m = e["mlp_ablation_effect"]
        lines.append("  MLPs (logit diff change alone): mean-ablated "
                     + " ".join(f"M{i}={v:+.2f}" for i, v in enumerate(m["mean"]))
                     + " | patched from the negative "
                     + " ".join(f"M{i}={v:+.2f}" for i, v in enumerate(m["resample"])))
    if "patching" in e:
        lines.append(patching_lines(e["patching"], len(e["heads"])))
    return "\n".join(lines)


def patching_lines(pt: dict, n_mean: int) -> str:
    """The printed summary of one task's ``patching`` ground truth."""
    p, s, c = pt["properties"], pt["search"], pt["cross"]
    lines = [
        f"  patching circuit ({len(pt['heads'])} heads, {p['fraction_of_heads']:.0%}): {fmt_heads(pt['heads'])} "
        f"| faithfulness {s['faithfulness']:.3f} | 1-minimal {s['one_minimal']} | exhaustive {s['exhaustive_smaller']}",
        f"    layers {p['layers']} composition {p['composition']} (grouped path {p['composition_fraction']:.2f} of clean) "
        f"edges {[f'{a[0]}.{a[1]}->{b_[0]}.{b_[1]}' for a, b_ in pt.get('edges', [])]}",
        f"    Jaccard with the mean-ablation circuit {pt['jaccard_with_mean_ablation']:.2f}; mean-ablation circuit "
        f"under patching {c['mean_ablation_circuit_under_patching']:.3f}; patching circuit under mean ablation "
        f"{c['patching_circuit_under_mean_ablation']:.3f}",
        "    AUC " + " ".join(f"{k}={v:.3f}" for k, v in pt["trivial_auc"].items()),
    ]
    for side, what in (("only_mean_ablation", "only in the mean-ablation circuit"), ("only_patching", "only in the patching circuit")):
        for head, r in pt[side].items():
            lines.append(
                f"    {head} {what}: effect alone mean-ablated {r['mean_ablated']:.3f}, patched from negative "
                f"{r['patched_from_negative']:.3f}; mean-ablated on the shared prefix {r['mean_ablated_on_shared_prefix']:.3f}, "
                f"after it {r['mean_ablated_after_shared_prefix']:.3f}; z from another pair's positive "
                f"{r['from_another_pairs_positive']:.3f}; |z(pos)-z(neg)|/|z(pos)| {r['z_change_negative']:.3f}, "
                f"|z(pos)-mean|/|z(pos)| {r['z_change_mean']:.3f}; attention change {r['attention_change_negative']:.3f}")
    return "\n".join(lines)


LOSS_TEXT = ("- Loss: answer token only for task sentences (the repeated half for induction), every token "
             "for filler and stories")


def training_lines(record: dict) -> list[str]:
    """The card's training lines from config.json's ``train`` record (a ``TrainConfig``;
    any other record, e.g. from ``research/``, is quoted as it is)."""
    try:
        config = TrainConfig.from_dict(record)
    except ValueError:
        return [f"- Training: {json.dumps(record)}", LOSS_TEXT + "."]
    phases = []
    for name, phase in config.phases():
        if phase.steps:
            terms = [f"{phase.head_l1} x the sum over heads of each head's output norm"] if phase.head_l1 else []
            terms += [f"{phase.mlp_l1} x the sum over MLPs of each MLP's output norm"] if phase.mlp_l1 else []
            penalty = f"plus {' and '.join(terms)} (mean over tokens)" if terms else "no penalty"
            off = (f", the MLPs switched off (output projections zero, not trained) for its first "
                   f"{phase.mlp_off_steps} steps") if phase.mlp_off_steps else ""
            phases.append(f"{name}: {phase.steps} steps on the mix {json.dumps(phase.mix.shares())}, {penalty}{off}")
    shipped = RECIPES[config.architecture]
    flag = "" if config.architecture == "attn-only" else f"--architecture {config.architecture} "
    config_file = "organism.json" if config.architecture == "gpt2" else "config.json"
    how = (f"{flag}--seed {config.seed}" if config == dataclasses.replace(shipped, seed=config.seed)
           else f"--config CONFIG (this folder's {config_file})")
    return [
        f"- Training (`organism.train.TrainConfig`): {json.dumps(config.to_dict())}",
        LOSS_TEXT + "; " + "; then ".join(phases) + ".",
        f"- Reproduce: `python -m sae_circuits_widget.organism.train {how} --out DIR` "
        "then `python -m sae_circuits_widget.organism.ground_truth --model DIR`.",
    ]


def circuits_table(result: dict) -> list[str]:
    """Markdown rows: each task's circuit under both definitions."""
    rows = ["| task | mean_ablation circuit | faithfulness | patching circuit | faithfulness | Jaccard |",
            "|---|---|---|---|---|---|"]
    for name, e in result["tasks"].items():
        pt = e.get("patching")
        if pt is None:
            continue
        rows.append(f"| {name} | {fmt_heads(e['heads'])} ({len(e['heads'])}) | {e['search']['faithfulness']:.3f} | "
                    f"{fmt_heads(pt['heads'])} ({len(pt['heads'])}) | {pt['search']['faithfulness']:.3f} | "
                    f"{pt['jaccard_with_mean_ablation']:.2f} |")
    return rows


GENERATED_SECTIONS = ("Architecture and training", "Ground-truth definition", "The two ground truths",
                      "Numbers (as printed by the ground-truth script)")


def hand_written_sections(card: str) -> str:
    """The ``## `` sections of an existing model card that the script does not generate.

    They hold measurements and notes written by hand; regenerating the card keeps them,
    in their order, after the generated part. Headings inside code blocks do not count.
    """
    kept, keep, fenced = [], False, False
    for line in card.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if line.startswith("## ") and not fenced:
            keep = line[3:].strip() not in GENERATED_SECTIONS
        if keep:
            kept.append(line)
    return "\n".join(kept).strip()


def model_card(directory: Path, result: dict, printed: str, previous: str | None = None) -> str:
    """The model card: generated sections, then the hand-written sections of ``previous``."""
    conf = organism_record(directory)
    if conf.get("architecture") == "gpt2":
        head = [
            f"# {GPT2_ORGANISM_NAME}", "",
            "A small GPT-2 (Hugging Face `GPT2LMHeadModel`, loaded through TransformerLens's",
            "`boot_transformers` like a hub GPT-2) trained from scratch on the four built-in tasks plus",
            "filler, shipped with causally derived ground-truth circuits.", "",
            "## Architecture and training", "",
            f"- {conf['n_layers']} layers x {conf['n_heads']} heads, d_model {conf['d_model']}, d_head "
            f"{conf['d_model'] // conf['n_heads']}, MLPs of width {conf['d_mlp']} (gelu_new), n_ctx "
            f"{conf['n_ctx']}, vocabulary {conf['d_vocab']} words (word-level, a `PreTrainedTokenizerFast`), "
            f"LayerNorm, learned positions, {'tied' if conf.get('tie_embeddings', True) else 'separate'} "
            "embedding and unembedding, no dropout.",
        ]
    else:
        head = [
            "# sae-circuits-organism", "",
            "A small attention-only transformer (TransformerLens native) trained from scratch on the",
            "four built-in tasks plus filler, shipped with causally derived ground-truth circuits.", "",
            "## Architecture and training", "",
            f"- {conf['n_layers']} layers x {conf['n_heads']} heads, d_model {conf['d_model']}, d_head "
            f"{conf['d_model'] // conf['n_heads']}, n_ctx {conf['n_ctx']}, vocabulary {conf['d_vocab']} words "
            "(word-level), LayerNorm, learned positions, no MLPs.",
        ]
    lines = [
        *head,
        *training_lines(conf.get("train", {})), "",
        "## Ground-truth definition", "", result["definition"], "",
    ]
    table = circuits_table(result)
    if len(table) > 2:
        lines += ["## The two ground truths", "",
                  "Heads (count) and faithfulness of each task's circuit under each definition, with the",
                  "Jaccard index of the two. `Task.ground_truth` is the mean_ablation circuit;",
                  "`Task.ground_truths` maps both names to their heads (`Task.edge_ground_truths`: edges).", "",
                  *table, ""]
    lines += [
        "## Numbers (as printed by the ground-truth script)", "", "```", printed.rstrip(), "```", "",
        "Full evidence (per-head mean and resample ablation effects, search traces, path-patching",
        "matrices) is in circuits.json.", "",
    ]
    kept = hand_written_sections(previous or "")
    if kept:
        lines += [kept, ""]
    return "\n".join(lines)


def overall_lines(result: dict) -> str:
    j = result["jaccard"]
    text = "Jaccard " + " ".join(f"{k}={v:.2f}" for k, v in j.items()) + \
        f"\nP4 max Jaccard among ioi/greater_than/docstring = {result['jaccard_max_ioi_gt_doc']:.2f}"
    if "jaccard_patching" in result:
        text += "\nJaccard of the patching circuits " + " ".join(f"{k}={v:.2f}" for k, v in result["jaccard_patching"].items())
    return text


P5_SCORES = ("layer_index", "layer_index_reverse", "random_mean")
"""The trivial scores property 5 passes or fails on."""
REPORTED_SCORES = ("output_diff_norm_mean", "output_diff_norm_last")
"""The trivial scores the checklist reports without passing or failing them."""


def property_checks(result: dict) -> list[tuple[str, bool, str]]:
    """(property, holds, evidence) for properties 1-5 of the organism's specification.

    1. held-out top-1 >= 0.95 (greater-than: probability above the start year >= 0.9);
    2. the corruption removes the behaviour: the negatives' mean metric is at most 10% of
       the positives' (chance levels are printed with the behaviour lines above);
    3. each circuit holds 10%-40% of the heads, spans >= 2 layers and composes;
    4. pairwise Jaccard of the IOI, greater-than and docstring circuits <= 0.5;
    5. the layer index in either order and random scores have ROC AUC <= 0.8 against
       every circuit.

    The output-difference norm (at the mean and at the last position) is not one of them:
    at this size it tracks the mean-ablation effect that defines the circuits, so it is
    reported beside every method (:func:`reported_lines`) instead of passed or failed.
    """
    tasks = result["tasks"]
    out = []
    for name, e in tasks.items():
        pos = e["behaviour"]["positives"]
        acc = pos["prob_above_start_year"] if name == "greater_than" else pos["top1"]
        need = 0.9 if name == "greater_than" else 0.95
        out.append((f"P1 {name}", acc >= need, f"{acc:.3f} (needs >= {need})"))
    for name, e in tasks.items():
        pos, neg = e["behaviour"]["positives"]["logit_diff"], e["behaviour"]["negatives"]["logit_diff"]
        out.append((f"P2 {name}", neg <= 0.1 * pos, f"metric negatives {neg:.2f} vs positives {pos:.2f}"))
    for name, e in tasks.items():
        p = e["properties"]
        ok = 0.1 <= p["fraction_of_heads"] <= 0.4 and p["n_layers_spanned"] >= 2 and p["composition"]
        out.append((f"P3 {name}", ok, f"{p['fraction_of_heads']:.0%} of heads, layers {p['layers']}, "
                                      f"composition path {p['composition_fraction']:.2f}"))
    j = result["jaccard_max_ioi_gt_doc"]
    out.append(("P4", j <= 0.5, f"max Jaccard {j:.2f} (needs <= 0.5)"))
    for name, e in tasks.items():
        worst = max(P5_SCORES, key=lambda k: e["trivial_auc"][k])
        v = e["trivial_auc"][worst]
        out.append((f"P5 {name}", v <= 0.8, f"highest trivial AUC {v:.3f} ({worst})"))
    return out


def reported_lines(result: dict) -> list[str]:
    """The output-difference norm's highest AUC per task: a baseline the organism reports,
    not a property it must pass."""
    out = []
    for name, e in result["tasks"].items():
        best = max(REPORTED_SCORES, key=lambda k: e["trivial_auc"][k])
        out.append(f"NOTE  output-difference norm {name}: AUC {e['trivial_auc'][best]:.3f} ({best}); "
                   "reported beside every method, not pass/fail")
    return out


def checklist_lines(result: dict) -> str:
    checks = [f"{'PASS' if ok else 'FAIL'}  {what}: {why}" for what, ok, why in property_checks(result)]
    return "\n".join(checks + reported_lines(result))


def printed_text(result: dict) -> str:
    """What the script prints for ``result`` (the card's numbers section)."""
    return "\n".join([summary_lines(name, e) for name, e in result["tasks"].items()]
                     + [overall_lines(result), checklist_lines(result)])


def write_card(directory: Path, result: dict) -> None:
    """Write ``directory``'s MODEL_CARD.md for ``result``, keeping its hand-written sections."""
    card = directory / "MODEL_CARD.md"
    previous = card.read_text() if card.exists() else None
    card.write_text(model_card(directory, result, printed_text(result), previous))

/**
 * CircuitExplorer: the prompt panel, head grid and code inspector bound to one session.
 *
 * The explorer's own traits are the settings, the run status and what tells the user
 * whether to believe the circuit: whether the model solves the prompts (a summary line
 * above the grid; per prompt in the panel), the agreement of the SAE ranking with EAP,
 * the faithfulness of the top-k heads with a k control and its curve over k, and the
 * strongest head -> head edges as a small layered graph whose edges open their code
 * pairs. The three parts are separate widget models (references "IPY_MODEL_<id>") drawn
 * here by their own render functions, so each part also works on its own.
 *
 * Layout: prompts on the left, grid + inspector on the right when the explorer is at
 * least 1000 px wide (a CSS container query), stacked below that.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./styles.css";
import { renderCodeInspector, type CodeInspectorModel } from "./code_inspector";
import { renderHeadGrid, type HeadGridModel } from "./head_grid";
import { addStyle, clear, h } from "./lib/dom";
import { curveChart, edgeGraph, type EdgeRow } from "./lib/svg";
import { renderPromptPanel, type PromptPanelModel } from "./prompt_panel";

/** Synced traits of `CircuitExplorer` (mirror of sae_circuits_widget/widgets/circuit_explorer.py). */
export interface CircuitExplorerModel {
  /** The prompt panel's model reference ("IPY_MODEL_<id>"). */
  panel: string;
  /** The head grid's model reference. */
  grid: string;
  /** The code inspector's model reference. */
  inspector: string;
  /** Task preset whose pairs fill the panel ("custom" once the user edits them). */
  task: string;
  /** Presets offered in the settings bar. */
  task_names: string[];
  /** Seed of the SAE fit. */
  seed: number;
  /** `{setting: [lowest, highest]}` of the numeric settings (settings.LIMITS); out-of-range values are not sent. */
  limits: Record<string, [number, number]>;
  /** Number of SAE features (codes). */
  n_features: number;
  /** L1 weight of the SAE fit. */
  l1: number;
  /** Which token's head output is used: mean over positions or the last token. */
  position: "mean" | "last";
  /** What the grid shows: SAE node scores, 1 - code overlap, EAP, output-difference norm, or pooled edge scores. */
  score_kind: ScoreKind;
  /** True while a computation runs. */
  busy: boolean;
  /** One line about the last run (time taken, prompts recomputed). */
  status: string;
  /** Why the last run failed, or why a setting was refused ("" = neither); the last good result stays on screen. */
  error: string;
  /** The newest run failed and the grid shows a result of other prompts or settings: drawn dimmed under a banner. */
  stale: boolean;
  /** While stale: what the result on screen was computed from (e.g. "n_features=200, the previous prompts"). */
  shown_for: string;
  /** Seconds the last finished run took. */
  seconds: number;
  /** False while the grid shows a preview (the previous SAE's codes) and the SAE is refitted. */
  is_final: boolean;
  /** Number of the newest request; results of older requests are dropped. */
  generation: number;
  /** Whether the model does the task on the prompts on screen, one line ("11/12 positives solved; ..."). */
  behaviour_summary: string;
  /** The task check's warnings (the model fails positives, still solves negatives, ...). */
  task_warnings: string[];
  /** Agreement of the SAE ranking with EAP: `{spearman, top_k_overlap}` (top-k with `k`); `{}` when not computed. */
  agreement: { spearman?: number; top_k_overlap?: number };
  /** Why there is no agreement (e.g. EAP needs answers), "" otherwise. */
  agreement_note: string;
  /** Size of the circuit: the top-k heads of the ranking on screen. */
  k: number;
  /** Largest k (the number of heads). */
  k_max: number;
  /** Share of the clean logit difference kept with only the top-k heads (others mean-ablated); null if unknown. */
  faithfulness_kept: number | null;
  /** The faithfulness curve: `{ks: [...], values: [...]}` ({} until computed). */
  faithfulness_curve: { ks?: number[]; values?: number[] };
  /** Why there is no faithfulness (no answers, no metric), "" otherwise. */
  faithfulness_note: string;
  /** Strongest head -> head edges of the result on screen, best first. */
  edges: EdgeRow[];
  /** Index into `edges` whose code pairs are shown, -1 for none (written by the front end). */
  selected_edge: number;
  /** The (sender code, receiver code) pairs behind the selected edge, with counts on each side. */
  edge_pairs: CodePair[];
  /** Why there are no edges to draw ("" when there are). */
  edge_note: string;
  /** True while behaviour, EAP and faithfulness of the result on screen are computed. */
  checking: boolean;
}

/** The score kinds offered in the settings bar, with their labels. */
export type ScoreKind = "sae" | "overlap" | "eap" | "output_diff_norm" | "edge";
export const SCORE_KINDS: [ScoreKind, string][] = [
  ["sae", "SAE node score"],
  ["overlap", "1 − code overlap"],
  ["eap", "EAP (per head)"],
  ["output_diff_norm", "output-difference norm"],
  ["edge", "SAE edges (per head)"],
];

/** One (sender code, receiver code) pair behind an edge. */
export interface CodePair {
  sender_code: number;
  receiver_code: number;
  positives: number;
  negatives: number;
}

/** "SAE vs EAP: Spearman 0.42 · top-5 overlap 0.60 (3/5 heads shared)" ("" when empty). */
export function agreementText(a: CircuitExplorerModel["agreement"], k: number): string {
  if (a == null || a.spearman === undefined || a.top_k_overlap === undefined) return "";
  k = Math.max(1, k);
  return `SAE vs EAP: Spearman ${a.spearman.toFixed(2)} · top-${k} overlap ${a.top_k_overlap.toFixed(2)} (${Math.round(a.top_k_overlap * k)}/${k} heads shared)`;
}

/** "keeps 87% of the logit difference" (or why not). */
export function faithfulnessText(kept: number | null | undefined, k: number): string {
  if (kept === null || kept === undefined || !Number.isFinite(kept)) return "";
  return `top ${k} head(s) keep ${(kept * 100).toFixed(0)}% of the logit difference (others mean-ablated)`;
}

type Refs = { panel: AnyModel<PromptPanelModel>; grid: AnyModel<HeadGridModel>; inspector: AnyModel<CodeInspectorModel> };

async function resolve(model: AnyModel<CircuitExplorerModel>, key: "panel" | "grid" | "inspector") {
  const ref = model.get(key) || "";
  const id = ref.startsWith("IPY_MODEL_") ? ref.slice("IPY_MODEL_".length) : ref;
  return model.widget_manager.get_model(id);
}

type NumberKey = "seed" | "n_features" | "l1";

/** Why `text` is not a valid value of `key` within `[low, high]` ("" when it is). */
export function settingProblem(key: NumberKey, text: string, low: number, high: number): string {
  const v = Number(text);
  const whole = key !== "l1";
  const hi = whole ? Math.min(high, Number.MAX_SAFE_INTEGER) : high;
  if (text.trim() === "" || !Number.isFinite(v)) return `${key} must be a number`;
  if (whole && !Number.isInteger(v)) return `${key} must be a whole number`;
  if (v < low || v > hi) return `${key} must be between ${low} and ${hi}, got ${text.trim()}`;
  return "";
}

/** Listeners a settings control added to the model, removed when the explorer is cleaned up. */
type Offs = (() => void)[];

function numberInput(model: AnyModel<CircuitExplorerModel>, key: NumberKey, label: string, step: string, min: number, note: HTMLElement, offs: Offs) {
  const bounds = (): [number, number] => (model.get("limits") || {})[key] ?? [min, Infinity];
  const input = h("input", `scw-set-${key}`, { type: "number", step, min: bounds()[0], "aria-label": label });
  const setMax = () => {
    const [low, high] = bounds();
    input.min = String(low);
    if (Number.isFinite(high)) input.max = String(Math.min(high, Number.MAX_SAFE_INTEGER));
  };
  setMax();
  input.value = String(model.get(key));
  input.addEventListener("change", () => {
    const [low, high] = bounds();
    const problem = settingProblem(key, input.value, low, high);
    input.setCustomValidity(problem);
    input.classList.toggle("scw-invalid", problem !== "");
    note.textContent = problem ? `${problem}; ${key} stays ${model.get(key)} (not sent)` : "";
    note.style.display = problem ? "block" : "none";
    if (problem) return; // keep the text, do not send it
    model.set(key, Number(input.value));
    model.save_changes();
  });
  const onValue = () => {
    if (document.activeElement !== input) input.value = String(model.get(key));
  };
  model.on(`change:${key}`, onValue);
  model.on("change:limits", setMax);
  offs.push(() => (model.off(`change:${key}`, onValue), model.off("change:limits", setMax)));
  return h("label", "", {}, [label, input]);
}

function selectInput<K extends "task" | "position" | "score_kind">(
  model: AnyModel<CircuitExplorerModel>, key: K, label: string, options: () => string[], offs: Offs, labels: Record<string, string> = {},
) {
  const sel = h("select", `scw-set-${key}`, { "aria-label": label });
  const fill = () => {
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    const opts = options();
    const cur = String(model.get(key));
    if (!opts.includes(cur)) opts.push(cur);
    for (const o of opts) sel.append(h("option", "", { value: o }, labels[o] ?? o));
    sel.value = cur;
  };
  fill();
  sel.addEventListener("change", () => {
    model.set(key, sel.value as CircuitExplorerModel[K]);
    model.save_changes();
  });
  model.on(`change:${key}`, fill);
  if (key === "task") model.on("change:task_names", fill);
  offs.push(() => (model.off(`change:${key}`, fill), model.off("change:task_names", fill)));
  return h("label", "", {}, [label, sel]);
}

/** The k control: a slider and a number box, bounded by `k_max`; writes `k` back. */
function kControl(model: AnyModel<CircuitExplorerModel>) {
  const range = h("input", "scw-k-range", { type: "range", min: 0, step: 1, "aria-label": "circuit size k" });
  const box = h("input", "scw-k-number", { type: "number", min: 0, step: 1, "aria-label": "k" });
  const sync = () => {
    const max = Math.max(0, model.get("k_max") || 0);
    range.max = box.max = String(max);
    if (document.activeElement !== box) box.value = String(model.get("k"));
    range.value = String(model.get("k"));
  };
  const send = (v: number) => {
    const max = Math.max(0, model.get("k_max") || 0);
    if (!Number.isInteger(v) || v < 0 || v > max) {
      box.classList.add("scw-invalid");
      box.title = `k must be a whole number from 0 to ${max}`;
      return; // keep the text, do not send it
    }
    box.classList.remove("scw-invalid");
    box.title = "";
    if (v === model.get("k")) return;
    model.set("k", v);
    model.save_changes();
  };
  range.addEventListener("input", () => {
    box.value = range.value;
    send(Number(range.value));
  });
  box.addEventListener("change", () => send(Number(box.value)));
  model.on("change:k", sync);
  model.on("change:k_max", sync);
  sync();
  const el = h("label", "scw-k", {}, ["circuit = top ", box, " heads ", range]);
  return { el, cleanup: () => (model.off("change:k", sync), model.off("change:k_max", sync)) };
}

export async function renderCircuitExplorer(model: AnyModel<CircuitExplorerModel>, el: HTMLElement, refs?: Refs) {
  const root = h("div", "scw scw-explorer");
  addStyle(root, css);
  el.append(root);

  const settingNote = h("div", "scw-error scw-setting-error", { role: "alert" });
  settingNote.style.display = "none";
  const offs: Offs = [];
  const settings = h("div", "scw-settings", {}, [
    selectInput(model, "task", "task", () => [...(model.get("task_names") || []), "custom"], offs),
    numberInput(model, "seed", "seed", "1", 0, settingNote, offs),
    numberInput(model, "n_features", "SAE features", "1", 2, settingNote, offs),
    numberInput(model, "l1", "L1", "0.005", 0, settingNote, offs),
    selectInput(model, "position", "position", () => ["mean", "last"], offs),
    selectInput(model, "score_kind", "scores", () => SCORE_KINDS.map(([k]) => k), offs, Object.fromEntries(SCORE_KINDS)),
  ]);
  const status = h("div", "scw-status", { "aria-live": "polite" });
  const error = h("div", "scw-error scw-run-error", { role: "alert" });
  const panelBox = h("div", "scw-section scw-panel-box");
  const summary = h("div", "scw-behaviour-summary", { "aria-live": "polite" });
  const gridBox = h("div", "scw-section scw-grid-box");
  const badge = h("div", "scw-preview-badge", {}, "preview: previous SAE, not final");
  const staleBanner = h("div", "scw-stale-banner", { role: "status" });
  gridBox.append(badge, staleBanner, summary);
  const gridHost = h("div", "scw-grid-host");
  const edgeBox = h("div", "scw-edge-box");
  const agreement = h("div", "scw-agreement");
  const k = kControl(model);
  const faithValue = h("div", "scw-faithfulness-value", { "aria-live": "polite" });
  const curve = h("div", "scw-faithfulness-curve");
  const trust = h("div", "scw-trust", {}, [agreement, h("div", "scw-faithfulness", {}, [k.el, faithValue, curve])]);
  gridBox.append(h("div", "scw-grid-row-box", {}, [gridHost, edgeBox]), trust);
  const inspectorBox = h("div", "scw-section scw-inspector-box");
  const right = h("div", "scw-right", {}, [gridBox, inspectorBox]);
  root.append(settings, settingNote, status, error, h("div", "scw-main", {}, [panelBox, right]));

  const paintStatus = () => {
    const busy = model.get("busy");
    const final = model.get("is_final") !== false;
    status.classList.toggle("scw-busy", busy);
    status.classList.toggle("scw-preview", !final);
    gridBox.classList.toggle("scw-preview", !final);
    badge.style.display = final ? "none" : "block";
    // a preview keeps its own line ("preview with the previous SAE; refitting…") while busy
    status.textContent = busy && final ? "computing…" : model.get("status") || "";
    const err = model.get("error") || "";
    const stale = model.get("stale") === true;
    const shown = final ? "showing the last good result" : "showing a preview with the previous SAE, not final";
    error.textContent = err ? `${err}\n(${shown})` : "";
    error.style.display = err ? "block" : "none";
    // a failed run never leaves an old result looking current: dimmed, under a banner
    gridBox.classList.toggle("scw-stale", stale);
    inspectorBox.classList.toggle("scw-stale", stale);
    const shownFor = model.get("shown_for") || "earlier prompts and settings";
    staleBanner.textContent = stale ? `stale: the last run failed; showing the result for ${shownFor}` : "";
    staleBanner.style.display = stale ? "block" : "none";
  };

  const paintTrust = () => {
    // does the model do the task? one line above the grid, the warnings under it
    const text = model.get("behaviour_summary") || "";
    const warnings = model.get("task_warnings") || [];
    clear(summary);
    summary.classList.toggle("scw-flag", warnings.length > 0);
    if (text) summary.append(h("div", "scw-summary-line", {}, `model check: ${text}`));
    for (const w of warnings) summary.append(h("div", "scw-summary-warning", {}, w));
    summary.style.display = text || warnings.length ? "block" : "none";
    const checking = model.get("checking") === true;
    trust.classList.toggle("scw-checking", checking);
    const agree = agreementText(model.get("agreement"), model.get("k"));
    agreement.textContent = agree || model.get("agreement_note") || (checking ? "comparing with EAP…" : "");
    agreement.classList.toggle("scw-muted", !agree);
    const kept = model.get("faithfulness_kept");
    const kk = model.get("k");
    faithValue.textContent = faithfulnessText(kept, kk) || model.get("faithfulness_note") || (checking ? "measuring faithfulness…" : "");
    faithValue.classList.toggle("scw-muted", !faithfulnessText(kept, kk));
    clear(curve);
    const c = model.get("faithfulness_curve") || {};
    if (c.ks && c.values && c.ks.length) curve.append(curveChart(c.ks, c.values, kk));
  };

  let dims: () => [number, number] = () => [0, 0];
  const paintEdges = () => {
    clear(edgeBox);
    const edges = model.get("edges") || [];
    const note = model.get("edge_note") || "";
    edgeBox.append(h("div", "scw-title", {}, "strongest edges"));
    if (!edges.length) {
      edgeBox.append(h("div", "scw-muted scw-edge-note", {}, note || "no edge scored above 0"));
      return;
    }
    const [L, H] = dims();
    const sel = model.get("selected_edge");
    edgeBox.append(edgeGraph(L, H, edges, sel, (i) => {
      model.set("selected_edge", i === model.get("selected_edge") ? -1 : i);
      model.save_changes();
    }));
    const pairs = model.get("edge_pairs") || [];
    if (sel >= 0 && sel < edges.length) {
      const e = edges[sel];
      edgeBox.append(h("div", "scw-edge-title", {}, `L${e.sender[0]}.H${e.sender[1]} → L${e.receiver[0]}.H${e.receiver[1]} (score ${e.score.toPrecision(3)}): code pairs`));
      if (pairs.length) {
        const table = h("table", "scw-meanings scw-edge-pairs");
        table.append(h("tr", "", {}, [h("th", "", {}, "sender"), h("th", "", {}, "receiver"), h("th", "", {}, "pos"), h("th", "", {}, "neg")]));
        for (const p of pairs) {
          table.append(h("tr", p.negatives === 0 ? "scw-pair-posonly" : "", {}, [
            h("td", "", {}, p.sender_code < 0 ? "none" : `#${p.sender_code}`),
            h("td", "", {}, p.receiver_code < 0 ? "none" : `#${p.receiver_code}`),
            h("td", "", {}, String(p.positives)),
            h("td", "", {}, String(p.negatives)),
          ]));
        }
        edgeBox.append(table);
      } else edgeBox.append(h("div", "scw-muted", {}, "no code pairs"));
    } else edgeBox.append(h("div", "scw-muted scw-edge-hint", {}, "click an edge for its code pairs"));
  };

  const statusEvents = ["change:busy", "change:status", "change:error", "change:is_final", "change:stale", "change:shown_for"];
  const trustEvents = [
    "change:behaviour_summary", "change:task_warnings", "change:agreement", "change:agreement_note", "change:faithfulness_kept",
    "change:faithfulness_curve", "change:faithfulness_note", "change:k", "change:checking",
  ];
  const edgeEvents = ["change:edges", "change:selected_edge", "change:edge_pairs", "change:edge_note"];
  statusEvents.forEach((ev) => model.on(ev, paintStatus));
  trustEvents.forEach((ev) => model.on(ev, paintTrust));
  edgeEvents.forEach((ev) => model.on(ev, paintEdges));
  paintStatus();
  paintTrust();

  const r = refs ?? {
    panel: (await resolve(model, "panel")) as AnyModel<PromptPanelModel>,
    grid: (await resolve(model, "grid")) as AnyModel<HeadGridModel>,
    inspector: (await resolve(model, "inspector")) as AnyModel<CodeInspectorModel>,
  };
  dims = () => [r.grid.get("n_layers") || 0, r.grid.get("n_heads") || 0];
  r.grid.on("change:n_heads", paintEdges);
  r.grid.on("change:n_layers", paintEdges);
  paintEdges();
  const cleanups = [
    renderPromptPanel(r.panel, panelBox),
    renderHeadGrid(r.grid, gridHost),
    renderCodeInspector(r.inspector, inspectorBox),
    k.cleanup,
    ...offs,
  ];
  return () => {
    cleanups.forEach((c) => c());
    statusEvents.forEach((ev) => model.off(ev, paintStatus));
    trustEvents.forEach((ev) => model.off(ev, paintTrust));
    edgeEvents.forEach((ev) => model.off(ev, paintEdges));
    r.grid.off("change:n_heads", paintEdges);
    r.grid.off("change:n_layers", paintEdges);
    root.remove();
  };
}

function render({ model, el }: RenderProps<CircuitExplorerModel>) {
  return renderCircuitExplorer(model, el);
}

export default { render };

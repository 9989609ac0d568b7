/**
 * CircuitExplorer: the prompt panel, head grid and code inspector bound to one session.
 *
 * The explorer's own traits are the settings and the run status; the three parts are
 * separate widget models (references "IPY_MODEL_<id>") drawn here by their own render
 * functions, so each part also works on its own.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./styles.css";
import { renderCodeInspector, type CodeInspectorModel } from "./code_inspector";
import { renderHeadGrid, type HeadGridModel } from "./head_grid";
import { addStyle, h } from "./lib/dom";
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
  /** Show node (per head) or edge (per head pair) scores. */
  score_kind: "node" | "edge";
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

function numberInput(model: AnyModel<CircuitExplorerModel>, key: NumberKey, label: string, step: string, min: number, note: HTMLElement) {
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
  model.on(`change:${key}`, () => {
    if (document.activeElement !== input) input.value = String(model.get(key));
  });
  model.on("change:limits", setMax);
  return h("label", "", {}, [label, input]);
}

function selectInput<K extends "task" | "position" | "score_kind">(model: AnyModel<CircuitExplorerModel>, key: K, label: string, options: () => string[]) {
  const sel = h("select", `scw-set-${key}`, { "aria-label": label });
  const fill = () => {
    while (sel.firstChild) sel.removeChild(sel.firstChild);
    const opts = options();
    const cur = String(model.get(key));
    if (!opts.includes(cur)) opts.push(cur);
    for (const o of opts) sel.append(h("option", "", { value: o }, o));
    sel.value = cur;
  };
  fill();
  sel.addEventListener("change", () => {
    model.set(key, sel.value as CircuitExplorerModel[K]);
    model.save_changes();
  });
  model.on(`change:${key}`, fill);
  if (key === "task") model.on("change:task_names", fill);
  return h("label", "", {}, [label, sel]);
}

export async function renderCircuitExplorer(model: AnyModel<CircuitExplorerModel>, el: HTMLElement, refs?: Refs) {
  const root = h("div", "scw scw-explorer");
  addStyle(root, css);
  el.append(root);

  const settingNote = h("div", "scw-error scw-setting-error", { role: "alert" });
  settingNote.style.display = "none";
  const settings = h("div", "scw-settings", {}, [
    selectInput(model, "task", "task", () => [...(model.get("task_names") || []), "custom"]),
    numberInput(model, "seed", "seed", "1", 0, settingNote),
    numberInput(model, "n_features", "SAE features", "1", 2, settingNote),
    numberInput(model, "l1", "L1", "0.005", 0, settingNote),
    selectInput(model, "position", "position", () => ["mean", "last"]),
    selectInput(model, "score_kind", "scores", () => ["node", "edge"]),
  ]);
  const status = h("div", "scw-status", { "aria-live": "polite" });
  const error = h("div", "scw-error scw-run-error", { role: "alert" });
  const panelBox = h("div", "scw-section scw-panel-box");
  const gridBox = h("div", "scw-section scw-grid-box");
  const badge = h("div", "scw-preview-badge", {}, "preview: previous SAE, not final");
  const staleBanner = h("div", "scw-stale-banner", { role: "status" });
  gridBox.append(badge, staleBanner);
  const inspectorBox = h("div", "scw-section scw-inspector-box");
  root.append(settings, settingNote, status, error, h("div", "scw-main", {}, [gridBox, panelBox]), inspectorBox);

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
  const statusEvents = ["change:busy", "change:status", "change:error", "change:is_final", "change:stale", "change:shown_for"];
  statusEvents.forEach((ev) => model.on(ev, paintStatus));
  paintStatus();

  const r = refs ?? {
    panel: (await resolve(model, "panel")) as AnyModel<PromptPanelModel>,
    grid: (await resolve(model, "grid")) as AnyModel<HeadGridModel>,
    inspector: (await resolve(model, "inspector")) as AnyModel<CodeInspectorModel>,
  };
  const cleanups = [
    renderPromptPanel(r.panel, panelBox),
    renderHeadGrid(r.grid, gridBox),
    renderCodeInspector(r.inspector, inspectorBox),
  ];
  return () => {
    cleanups.forEach((c) => c());
    statusEvents.forEach((ev) => model.off(ev, paintStatus));
    root.remove();
  };
}

function render({ model, el }: RenderProps<CircuitExplorerModel>) {
  return renderCircuitExplorer(model, el);
}

export default { render };

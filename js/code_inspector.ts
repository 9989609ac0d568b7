/**
 * CodeInspector: what the discrete SAE says about one head.
 *
 * Every prompt gets one code per head (the index of its active SAE feature, -1 = none).
 * Positives and negatives are listed in two columns; codes that occur only on positives
 * (the evidence that the head carries task information) are highlighted. Below: what each
 * code means (the tokens its feature writes most strongly through the unembedding), the
 * prompts that share it, and the head's attention from the final token of one prompt.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./styles.css";
import { toFloat32, toInt32, type Binary } from "./lib/arrays";
import { colorAt, textColorAt } from "./lib/colors";
import { addStyle, clear, h } from "./lib/dom";

/** What one code means (sent by Python for the codes of the selected head). */
export interface CodeMeaning {
  /** The code (SAE feature index). */
  code: number;
  /** Tokens the feature writes most strongly through the unembedding, best first. */
  top_tokens: string[];
}

/** One edge of the selected head (edge scores mode). */
export interface EdgeInfo {
  sender: string;
  receiver: string;
  score: number;
}

/** Synced traits of `CodeInspector` (mirror of sae_circuits_widget/widgets/code_inspector.py). */
export interface CodeInspectorModel {
  /** Selected head as a flat index (`layer * n_heads + head`), -1 for none. */
  head: number;
  /** The head's name for display, e.g. "L1.H2". */
  head_label: string;
  /** Prompt texts, aligned with `codes` and `is_positive`. */
  prompts: string[];
  /** True for positive prompts. */
  is_positive: boolean[];
  /** int32 little-endian code of each prompt at this head (-1 = no code). */
  codes: Binary;
  /** Codes seen only on positives at this head. */
  positive_only: number[];
  /** Meaning of each code present at this head. */
  meanings: CodeMeaning[];
  /** Index into `prompts` whose attention pattern is shown (written by the front end). */
  attention_prompt: number;
  /** Tokens of that prompt. */
  attention_tokens: string[];
  /** float32 attention weights from the final token to each token. */
  attention_weights: Binary;
  /** Strongest edges of this head (edge scores mode), else empty. */
  edges: EdgeInfo[];
  /** A note (e.g. "select a head in the grid"). */
  message: string;
}

export function renderCodeInspector(model: AnyModel<CodeInspectorModel>, el: HTMLElement): () => void {
  const root = h("div", "scw scw-inspector");
  addStyle(root, css);
  el.append(root);

  function codeBadge(code: number, posOnly: Set<number>) {
    const cls = code < 0 ? "scw-code scw-nocode" : posOnly.has(code) ? "scw-code scw-posonly" : "scw-code";
    const title = code < 0 ? "no active feature" : posOnly.has(code) ? "occurs only on positives" : "";
    return h("span", cls, { title, "data-code": code }, code < 0 ? "none" : `#${code}`);
  }

  function draw() {
    clear(root);
    addStyle(root, css);
    const head = model.get("head");
    const label = model.get("head_label") || "";
    root.append(h("div", "scw-title", {}, head >= 0 ? `Head ${label}` : "Code inspector"));
    const msg = model.get("message");
    if (msg) root.append(h("div", "scw-muted scw-inspector-message", {}, msg));
    if (head < 0) return;

    const prompts = model.get("prompts") || [];
    const isPos = model.get("is_positive") || [];
    const codes = toInt32(model.get("codes"));
    const posOnly = new Set(model.get("positive_only") || []);
    const attnPrompt = model.get("attention_prompt");

    const colPos = h("div", "scw-col scw-col-pos", {}, [h("div", "scw-title", {}, "positives")]);
    const colNeg = h("div", "scw-col scw-col-neg", {}, [h("div", "scw-title", {}, "negatives")]);
    prompts.forEach((text, i) => {
      const row = h("div", i === attnPrompt ? "scw-code-row scw-active" : "scw-code-row", { "data-prompt": i, title: "show this prompt's attention" }, [
        codeBadge(codes[i] ?? -1, posOnly),
        h("span", "scw-prompt-text", {}, text),
      ]);
      row.addEventListener("click", () => {
        model.set("attention_prompt", i);
        model.save_changes();
      });
      (isPos[i] ? colPos : colNeg).append(row);
    });
    const key = h("div", "scw-muted scw-inspector-key", {}, [
      h("span", "scw-code scw-posonly", {}, "#n"),
      ` occurs only on positives: ${posOnly.size} such code(s), the head's node score. `,
      h("span", "scw-code scw-nocode", {}, "none"),
      " no SAE feature fired. Click a prompt to see its attention.",
    ]);
    root.append(key, h("div", "scw-columns", {}, [colPos, colNeg]));

    // What each code means, and who shares it.
    const meanings = model.get("meanings") || [];
    if (meanings.length) {
      const table = h("table", "scw-meanings");
      table.append(h("tr", "", {}, [h("th", "", {}, "code"), h("th", "", {}, "writes (top tokens via W_U)"), h("th", "", {}, "positives"), h("th", "", {}, "negatives"), h("th", "", {}, "prompts sharing it")]));
      for (const m of meanings) {
        const members = prompts.map((_, i) => i).filter((i) => codes[i] === m.code);
        const nPos = members.filter((i) => isPos[i]).length;
        const shared = h("td", "scw-shared");
        members.slice(0, 6).forEach((i, k) => {
          if (k) shared.append(h("br"));
          shared.append(h("span", "scw-prompt-text", {}, prompts[i]));
        });
        if (members.length > 6) shared.append(h("br"), h("span", "scw-muted", {}, `… ${members.length - 6} more`));
        table.append(h("tr", "scw-meaning", { "data-code": m.code }, [
          h("td", "", {}, [codeBadge(m.code, posOnly)]),
          h("td", "scw-top-tokens", {}, m.top_tokens.map((t) => JSON.stringify(t)).join("  ")),
          h("td", "", {}, String(nPos)),
          h("td", "", {}, String(members.length - nPos)),
          shared,
        ]));
      }
      root.append(h("div", "scw-title", {}, "What the codes mean"), table);
    }

    const tokens = model.get("attention_tokens") || [];
    const weights = toFloat32(model.get("attention_weights"));
    if (tokens.length && attnPrompt >= 0) {
      const attn = h("div", "scw-attn", { "aria-label": "attention from the final token" });
      let max = 0;
      weights.forEach((w) => (max = Math.max(max, w)));
      tokens.forEach((t, i) => {
        const w = weights[i] ?? 0;
        const x = max > 0 ? w / max : 0;
        const span = h("span", "scw-attn-token", { title: `attention ${w.toFixed(3)}`, "data-weight": w }, t);
        span.style.background = colorAt(x, "cividis");
        span.style.color = textColorAt(x, "cividis");
        attn.append(span);
      });
      root.append(h("div", "scw-title", {}, `Attention from the final token (prompt ${attnPrompt + 1})`), attn);
    }

    const edges = model.get("edges") || [];
    if (edges.length) {
      const list = h("ul", "scw-edges");
      for (const e of edges) list.append(h("li", "", {}, `${e.sender} → ${e.receiver}: ${e.score.toPrecision(3)}`));
      root.append(h("div", "scw-title", {}, "Strongest edges"), list);
    }
  }

  const events = ["head", "head_label", "prompts", "is_positive", "codes", "positive_only", "meanings", "attention_prompt", "attention_tokens", "attention_weights", "edges", "message"].map((k) => `change:${k}`);
  // Several traits change together; draw once per batch.
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      draw();
    });
  };
  events.forEach((ev) => model.on(ev, schedule));
  draw();
  return () => {
    events.forEach((ev) => model.off(ev, schedule));
    root.remove();
  };
}

function render({ model, el }: RenderProps<CodeInspectorModel>) {
  return renderCodeInspector(model, el);
}

export default { render };

/**
 * PromptPanel: editable positive/negative prompt pairs.
 *
 * Each row is one pair. Typing edits the local text at once and sends the lists to
 * Python after a short pause (debounced), so a half-typed word does not trigger a run.
 * Python answers with the tokens of each prompt and any problems (unknown words, too
 * long); those are shown under the prompt, and the user's text is never replaced.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./styles.css";
import { addStyle, clear, debounce, h } from "./lib/dom";

/** One token as the model's tokenizer splits a prompt. */
export interface TokenInfo {
  /** The token's text. */
  t: string;
  /** True when the tokenizer does not know the word (mapped to its unknown token). */
  u: boolean;
}

/** Synced traits of `PromptPanel` (mirror of sae_circuits_widget/widgets/prompt_panel.py). */
export interface PromptPanelModel {
  /** Positive prompts (written by the front end on edit). */
  positives: string[];
  /** Negative prompts, aligned with `positives`. */
  negatives: string[];
  /** Tokens of each positive, from Python. */
  positive_tokens: TokenInfo[][];
  /** Tokens of each negative, from Python. */
  negative_tokens: TokenInfo[][];
  /** Problem with each positive ("" = none), from Python. */
  positive_issues: string[];
  /** Problem with each negative ("" = none), from Python. */
  negative_issues: string[];
  /** A problem with the set as a whole (e.g. the last run failed), shown above the rows. */
  error: string;
  /** Whether "more like these" can draw pairs from a task generator. */
  can_generate: boolean;
  /** Milliseconds to wait after the last keystroke before sending an edit. */
  debounce_ms: number;
}

/** Split pasted text into pairs: one pair per line, "positive | negative" or tab-separated. */
export function parsePairs(text: string): { pairs: [string, string][]; bad: string[] } {
  const pairs: [string, string][] = [];
  const bad: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim()) continue;
    const parts = raw.includes("\t") ? raw.split("\t") : raw.split(" | ");
    if (parts.length === 2 && parts[0].trim() && parts[1].trim()) pairs.push([parts[0].trim(), parts[1].trim()]);
    else bad.push(raw);
  }
  return { pairs, bad };
}

export function renderPromptPanel(model: AnyModel<PromptPanelModel>, el: HTMLElement): () => void {
  const root = h("div", "scw scw-panel");
  addStyle(root, css);
  el.append(root);

  const errorBox = h("div", "scw-error", { role: "alert" });
  errorBox.style.display = "none";
  const heads = h("div", "scw-col-heads", {}, [h("span"), h("span", "", {}, "positive"), h("span", "", {}, "negative"), h("span")]);
  const rows = h("div", "scw-rows");
  const addBtn = h("button", "scw-add", { type: "button", title: "add an empty pair" }, "+ pair");
  const moreBtn = h("button", "scw-more", { type: "button", title: "draw new pairs from the task generator" }, "more like these");
  const pasteBtn = h("button", "scw-paste-toggle", { type: "button", title: "paste many pairs at once" }, "paste lines…");
  const toolbar = h("div", "scw-toolbar", {}, [addBtn, moreBtn, pasteBtn]);
  const pasteArea = h("textarea", "scw-paste", { placeholder: "one pair per line: positive | negative  (or a tab between them)", "aria-label": "paste pairs" });
  const pasteAdd = h("button", "scw-paste-add", { type: "button" }, "add these pairs");
  const pasteMsg = h("div", "scw-issue scw-paste-message");
  const pasteBox = h("div", "scw-paste-box", {}, [pasteArea, pasteAdd, pasteMsg]);
  pasteBox.style.display = "none";
  root.append(errorBox, heads, rows, toolbar, pasteBox);

  // Local copy of the text: the source of truth for what the inputs show.
  let pos: string[] = [...(model.get("positives") || [])];
  let neg: string[] = [...(model.get("negatives") || [])];
  const inputs: { pos: HTMLInputElement; neg: HTMLInputElement; posBox: HTMLElement; negBox: HTMLElement }[] = [];

  let sending = false;
  const send = () => {
    sending = true;
    try {
      model.set("positives", [...pos]);
      model.set("negatives", [...neg]);
    } finally {
      sending = false;
    }
    model.save_changes();
  };
  const sendLater = debounce(send, model.get("debounce_ms") ?? 250);
  const sendNow = () => {
    sendLater.cancel();
    send();
  };

  function promptBox(side: "positive" | "negative", i: number) {
    const box = h("div", `scw-prompt scw-${side}`);
    const input = h("input", "scw-input", { type: "text", "aria-label": `${side} prompt ${i + 1}`, spellcheck: "false" });
    input.value = (side === "positive" ? pos : neg)[i] ?? "";
    if (i >= (side === "positive" ? pos : neg).length) input.placeholder = "(none)";
    input.addEventListener("input", () => {
      const arr = side === "positive" ? pos : neg;
      while (arr.length < i) arr.push(""); // unequal lists: never leave holes
      arr[i] = input.value;
      sendLater();
    });
    input.addEventListener("change", () => sendLater.flush());
    box.append(input, h("div", "scw-tokens"), h("div", "scw-issue"));
    return { box, input };
  }

  function build() {
    clear(rows);
    inputs.length = 0;
    const n = Math.max(pos.length, neg.length);
    for (let i = 0; i < n; i++) {
      const p = promptBox("positive", i);
      const q = promptBox("negative", i);
      const dup = h("button", "scw-dup", { type: "button", title: "duplicate this pair", "aria-label": `duplicate pair ${i + 1}` }, "dup");
      const del = h("button", "scw-del", { type: "button", title: "remove this pair", "aria-label": `remove pair ${i + 1}` }, "✕");
      dup.addEventListener("click", () => {
        pos.splice(i + 1, 0, pos[i] ?? "");
        neg.splice(i + 1, 0, neg[i] ?? "");
        build();
        sendNow();
      });
      del.addEventListener("click", () => {
        pos.splice(i, 1);
        neg.splice(i, 1);
        build();
        sendNow();
      });
      const row = h("div", "scw-row", { "data-row": i }, [h("span", "scw-row-index", {}, String(i + 1)), p.box, q.box, h("div", "scw-row-actions", {}, [dup, del])]);
      rows.append(row);
      inputs.push({ pos: p.input, neg: q.input, posBox: p.box, negBox: q.box });
    }
    annotate();
  }

  function annotateOne(box: HTMLElement, tokens: TokenInfo[] | undefined, issue: string | undefined) {
    const tokEl = box.querySelector(".scw-tokens") as HTMLElement;
    const issueEl = box.querySelector(".scw-issue") as HTMLElement;
    clear(tokEl);
    for (const tok of tokens || []) {
      tokEl.append(h("span", tok.u ? "scw-token scw-unknown" : "scw-token", tok.u ? { title: "the model's tokenizer does not know this word" } : {}, tok.t));
    }
    issueEl.textContent = issue || "";
    box.classList.toggle("scw-invalid", !!issue);
  }

  function annotate() {
    const pt = model.get("positive_tokens") || [];
    const nt = model.get("negative_tokens") || [];
    const pi = model.get("positive_issues") || [];
    const ni = model.get("negative_issues") || [];
    inputs.forEach((row, i) => {
      annotateOne(row.posBox, pt[i], pi[i]);
      annotateOne(row.negBox, nt[i], ni[i]);
    });
    const err = model.get("error") || "";
    errorBox.textContent = err;
    errorBox.style.display = err ? "block" : "none";
    moreBtn.disabled = !model.get("can_generate");
  }

  // Python changed the lists (a preset, "more like these"): adopt them unless they are
  // what we already show; never overwrite the text of the input being typed in.
  function onLists() {
    if (sending) return; // our own edit coming back
    const np = model.get("positives") || [];
    const nn = model.get("negatives") || [];
    if (np.length !== nn.length) return; // wait for the other list of the same update
    const focused = document.activeElement;
    if (np.length === inputs.length && nn.length === inputs.length) {
      inputs.forEach((row, i) => {
        if (row.pos !== focused && row.pos.value !== np[i]) row.pos.value = np[i];
        if (row.neg !== focused && row.neg.value !== nn[i]) row.neg.value = nn[i];
        if (row.pos !== focused) pos[i] = np[i];
        if (row.neg !== focused) neg[i] = nn[i];
      });
      pos.length = np.length;
      neg.length = nn.length;
    } else {
      pos = [...np];
      neg = [...nn];
      build();
    }
  }

  addBtn.addEventListener("click", () => {
    pos.push("");
    neg.push("");
    build();
    sendNow();
    inputs[inputs.length - 1]?.pos.focus();
  });
  moreBtn.addEventListener("click", () => {
    sendLater.flush();
    model.send({ kind: "more", n: 4 });
  });
  pasteBtn.addEventListener("click", () => {
    pasteBox.style.display = pasteBox.style.display === "none" ? "block" : "none";
  });
  pasteAdd.addEventListener("click", () => {
    const { pairs, bad } = parsePairs(pasteArea.value);
    for (const [p, n] of pairs) {
      pos.push(p);
      neg.push(n);
    }
    // Lines that could not be read stay in the box for the user to fix.
    pasteArea.value = bad.join("\n");
    pasteMsg.textContent = bad.length
      ? `${bad.length} line(s) not added: write "positive | negative" or put a tab between them.`
      : "";
    if (pairs.length) {
      build();
      sendNow();
    }
  });

  const annotateEvents = ["change:positive_tokens", "change:negative_tokens", "change:positive_issues", "change:negative_issues", "change:error", "change:can_generate"];
  annotateEvents.forEach((ev) => model.on(ev, annotate));
  model.on("change:positives", onLists);
  model.on("change:negatives", onLists);
  build();
  return () => {
    sendLater.flush();
    annotateEvents.forEach((ev) => model.off(ev, annotate));
    model.off("change:positives", onLists);
    model.off("change:negatives", onLists);
    root.remove();
  };
}

function render({ model, el }: RenderProps<PromptPanelModel>) {
  return renderPromptPanel(model, el);
}

export default { render };

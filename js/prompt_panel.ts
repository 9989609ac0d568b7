/**
 * PromptPanel: editable positive/negative prompt pairs.
 *
 * Each row is one pair. Typing edits the local text at once and sends the lists to
 * Python after a short pause (debounced), so a half-typed word does not trigger a run.
 * Python answers with the tokens of each prompt and any problems (unknown words, too
 * long); those are shown under the prompt, and the user's text is never replaced.
 *
 * Prompts are edited in text areas that grow with their text (several lines, nothing
 * cut off). The token chips show only for the row being edited and for a prompt with a
 * problem, or for every row behind the "tokens" toggle, so twelve pairs fit on a screen.
 * Under each prompt, what the model does on it (from the explorer's task check): its
 * top-1 next token, the probability of the answer and the logit difference, with a mark
 * that flags a positive the model fails and a negative it still solves.
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
  /** What the model does on each positive (set by the explorer; `{}` = not known). */
  positive_behaviour: PromptBehaviour[];
  /** What the model does on each negative. */
  negative_behaviour: PromptBehaviour[];
  /** Show every prompt's tokens (otherwise only the edited row's and those with a problem). */
  show_tokens: boolean;
  /** Per positive, the next token the model should predict ("" = none; written by the front end). */
  answers: string[];
  /** Per positive, what is wrong with its answer ("" = nothing), from Python. */
  answer_issues: string[];
}

/** What the model does on one prompt (one row of the engine's task check). */
export interface PromptBehaviour {
  /** The prompt the row describes (a row for other text is an older result: shown as pending). */
  prompt?: string;
  /** "positive" or "negative". */
  side?: string;
  /** The model's top-1 next token. */
  top_token?: string;
  /** Probability of the answer token(s), or null without answers. */
  p_answer?: number | null;
  /** Logit difference (answer vs the wrong answer, or top-1 vs runner-up without answers). */
  logit_diff?: number;
  /** Whether the model solves the prompt; null when nothing says what it should predict. */
  solved?: boolean | null;
}

/** The mark of one prompt: text, a class ("ok", "flag", "plain", "pending") and a tooltip. */
export function behaviourMark(side: "positive" | "negative", b: PromptBehaviour | undefined, text: string): { mark: string; kind: string; detail: string; title: string } {
  if (!b || b.prompt === undefined) return { mark: "", kind: "none", detail: "", title: "" };
  if (b.prompt !== text) return { mark: "…", kind: "pending", detail: "model check pending", title: "the model's behaviour on this text is being computed" };
  const bits: string[] = [];
  if (b.top_token !== undefined) bits.push(`top ${JSON.stringify(b.top_token)}`);
  if (b.p_answer !== null && b.p_answer !== undefined) bits.push(`p(answer) ${b.p_answer.toFixed(2)}`);
  if (b.logit_diff !== undefined && Number.isFinite(b.logit_diff)) bits.push(`Δlogit ${b.logit_diff >= 0 ? "+" : ""}${b.logit_diff.toFixed(2)}`);
  const detail = bits.join(" · ");
  if (b.solved === null || b.solved === undefined) {
    return { mark: "?", kind: "plain", detail, title: "no answer given: top-1 token and its margin over the runner-up" };
  }
  if (side === "positive") {
    return b.solved
      ? { mark: "✓ solved", kind: "ok", detail, title: "the model solves this positive" }
      : { mark: "✗ fails", kind: "flag", detail, title: "the model fails this positive: a circuit for a behaviour it does not have is noise" };
  }
  return b.solved
    ? { mark: "⚠ still solved", kind: "flag", detail, title: "the model still solves this negative: it does not remove what the task needs" }
    : { mark: "✓ not solved", kind: "ok", detail, title: "as intended, the model does not solve this negative" };
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

/** Grow a text area to its content (no inner scroll bar, nothing cut off). */
export function fitHeight(area: HTMLTextAreaElement): void {
  area.style.height = "auto";
  if (area.scrollHeight > 0) area.style.height = `${area.scrollHeight + 2}px`;
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
  const tokensBtn = h("button", "scw-tokens-toggle", { type: "button", title: "show how the tokenizer splits every prompt", "aria-pressed": "false" }, "tokens");
  const toolbar = h("div", "scw-toolbar", {}, [addBtn, moreBtn, pasteBtn, tokensBtn]);
  const pasteArea = h("textarea", "scw-paste", { placeholder: "one pair per line: positive | negative  (or a tab between them)", "aria-label": "paste pairs" });
  const pasteAdd = h("button", "scw-paste-add", { type: "button" }, "add these pairs");
  const pasteMsg = h("div", "scw-issue scw-paste-message");
  const pasteBox = h("div", "scw-paste-box", {}, [pasteArea, pasteAdd, pasteMsg]);
  pasteBox.style.display = "none";
  root.append(errorBox, heads, rows, toolbar, pasteBox);

  // Local copy of the text: the source of truth for what the inputs show.
  let pos: string[] = [...(model.get("positives") || [])];
  let neg: string[] = [...(model.get("negatives") || [])];
  let ans: string[] = [...(model.get("answers") || [])];
  const inputs: { pos: HTMLTextAreaElement; neg: HTMLTextAreaElement; answer: HTMLInputElement; posBox: HTMLElement; negBox: HTMLElement }[] = [];
  let activeRow = -1; // the row being edited: its tokens show

  let sending = false;
  const send = () => {
    sending = true;
    try {
      model.set("positives", [...pos]);
      model.set("negatives", [...neg]);
      model.set("answers", pos.map((_, i) => ans[i] ?? ""));
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
    const input = h("textarea", "scw-input", { rows: 1, "aria-label": `${side} prompt ${i + 1}`, spellcheck: "false" });
    input.value = (side === "positive" ? pos : neg)[i] ?? "";
    if (i >= (side === "positive" ? pos : neg).length) input.placeholder = "(none)";
    input.addEventListener("input", () => {
      const arr = side === "positive" ? pos : neg;
      while (arr.length < i) arr.push(""); // unequal lists: never leave holes
      arr[i] = input.value;
      fitHeight(input);
      paintBehaviour(); // the shown behaviour is of the old text: mark it pending
      sendLater();
    });
    input.addEventListener("change", () => sendLater.flush());
    input.addEventListener("focus", () => {
      if (activeRow !== i) {
        activeRow = i;
        annotate();
      }
    });
    box.append(input);
    let answer: HTMLInputElement | undefined;
    if (side === "positive") {
      // the next token the model should predict: what "solved" and the logit difference are measured on
      answer = h("input", "scw-answer-input", { type: "text", placeholder: "(none)", spellcheck: "false", "aria-label": `answer of positive ${i + 1}`, title: "the next token the model should predict, e.g. \" Mary\" (with its leading space)" });
      answer.value = ans[i] ?? "";
      const a = answer;
      a.addEventListener("input", () => {
        while (ans.length < i) ans.push("");
        ans[i] = a.value;
        sendLater();
      });
      a.addEventListener("change", () => sendLater.flush());
      box.append(h("label", "scw-answer", {}, ["answer ", a]), h("div", "scw-answer-issue"));
    }
    box.append(h("div", "scw-behaviour"), h("div", "scw-tokens"), h("div", "scw-issue"));
    return { box, input, answer };
  }

  function build() {
    clear(rows);
    inputs.length = 0;
    const n = Math.max(pos.length, neg.length);
    if (activeRow >= n) activeRow = -1;
    for (let i = 0; i < n; i++) {
      const p = promptBox("positive", i);
      const q = promptBox("negative", i);
      const dup = h("button", "scw-dup", { type: "button", title: "duplicate this pair", "aria-label": `duplicate pair ${i + 1}` }, "dup");
      const del = h("button", "scw-del", { type: "button", title: "remove this pair", "aria-label": `remove pair ${i + 1}` }, "✕");
      dup.addEventListener("click", () => {
        pos.splice(i + 1, 0, pos[i] ?? "");
        neg.splice(i + 1, 0, neg[i] ?? "");
        ans.splice(i + 1, 0, ans[i] ?? "");
        build();
        sendNow();
      });
      del.addEventListener("click", () => {
        pos.splice(i, 1);
        neg.splice(i, 1);
        ans.splice(i, 1);
        build();
        sendNow();
      });
      const row = h("div", "scw-row", { "data-row": i }, [h("span", "scw-row-index", {}, String(i + 1)), p.box, q.box, h("div", "scw-row-actions", {}, [dup, del])]);
      rows.append(row);
      inputs.push({ pos: p.input, neg: q.input, answer: p.answer!, posBox: p.box, negBox: q.box });
    }
    annotate();
    fitAll();
  }

  // Heights need layout: measure once the rows are in the page (and again on resize).
  const fitAll = () => inputs.forEach((row) => (fitHeight(row.pos), fitHeight(row.neg)));
  const resize = typeof ResizeObserver === "undefined" ? undefined : new ResizeObserver(() => fitAll());
  resize?.observe(rows);

  function annotateOne(box: HTMLElement, tokens: TokenInfo[] | undefined, issue: string | undefined, showTokens: boolean) {
    const tokEl = box.querySelector(".scw-tokens") as HTMLElement;
    const issueEl = box.querySelector(".scw-issue") as HTMLElement;
    clear(tokEl);
    const shown = showTokens || !!issue;
    tokEl.style.display = shown ? "" : "none";
    if (shown) {
      for (const tok of tokens || []) {
        tokEl.append(h("span", tok.u ? "scw-token scw-unknown" : "scw-token", tok.u ? { title: "the model's tokenizer does not know this word" } : {}, tok.t));
      }
    }
    issueEl.textContent = issue || "";
    box.classList.toggle("scw-invalid", !!issue);
  }

  function paintOneBehaviour(box: HTMLElement, side: "positive" | "negative", b: PromptBehaviour | undefined, text: string) {
    const line = box.querySelector(".scw-behaviour") as HTMLElement;
    clear(line);
    const m = behaviourMark(side, b, text);
    line.dataset.kind = m.kind;
    box.classList.toggle("scw-flagged", m.kind === "flag");
    if (m.kind === "none") return;
    line.title = m.title;
    line.append(h("span", `scw-mark scw-mark-${m.kind}`, {}, m.mark));
    if (m.detail) line.append(h("span", "scw-muted", {}, ` ${m.detail}`));
  }

  function paintBehaviour() {
    const pb = model.get("positive_behaviour") || [];
    const nb = model.get("negative_behaviour") || [];
    inputs.forEach((row, i) => {
      paintOneBehaviour(row.posBox, "positive", pb[i], pos[i] ?? "");
      paintOneBehaviour(row.negBox, "negative", nb[i], neg[i] ?? "");
    });
  }

  function annotate() {
    const pt = model.get("positive_tokens") || [];
    const nt = model.get("negative_tokens") || [];
    const pi = model.get("positive_issues") || [];
    const ni = model.get("negative_issues") || [];
    const ai = model.get("answer_issues") || [];
    const all = model.get("show_tokens") === true;
    inputs.forEach((row, i) => {
      annotateOne(row.posBox, pt[i], pi[i], all || i === activeRow);
      annotateOne(row.negBox, nt[i], ni[i], all || i === activeRow);
      const issue = ai[i] || "";
      (row.posBox.querySelector(".scw-answer-issue") as HTMLElement).textContent = issue;
      row.answer.classList.toggle("scw-invalid", issue !== "" && (ans[i] ?? "") !== "");
    });
    tokensBtn.setAttribute("aria-pressed", all ? "true" : "false");
    tokensBtn.classList.toggle("scw-on", all);
    const err = model.get("error") || "";
    errorBox.textContent = err;
    errorBox.style.display = err ? "block" : "none";
    moreBtn.disabled = !model.get("can_generate");
    paintBehaviour();
  }

  // Python changed the lists (a preset, "more like these"): adopt them unless they are
  // what we already show; never overwrite the text of the input being typed in.
  function onLists() {
    if (sending) return; // our own edit coming back
    const np = model.get("positives") || [];
    const nn = model.get("negatives") || [];
    if (np.length !== nn.length) return; // wait for the other list of the same update
    const na = model.get("answers") || [];
    const focused = document.activeElement;
    if (np.length === inputs.length && nn.length === inputs.length) {
      inputs.forEach((row, i) => {
        if (row.pos !== focused && row.pos.value !== np[i]) row.pos.value = np[i];
        if (row.neg !== focused && row.neg.value !== nn[i]) row.neg.value = nn[i];
        if (row.answer !== focused && row.answer.value !== (na[i] ?? "")) row.answer.value = na[i] ?? "";
        if (row.pos !== focused) pos[i] = np[i];
        if (row.neg !== focused) neg[i] = nn[i];
        if (row.answer !== focused) ans[i] = na[i] ?? "";
      });
      pos.length = np.length;
      neg.length = nn.length;
      ans.length = np.length;
      fitAll();
      paintBehaviour();
    } else {
      pos = [...np];
      neg = [...nn];
      ans = np.map((_, i) => na[i] ?? "");
      build();
    }
  }

  addBtn.addEventListener("click", () => {
    ans.length = pos.length;
    pos.push("");
    neg.push("");
    ans.push("");
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
  tokensBtn.addEventListener("click", () => {
    model.set("show_tokens", !model.get("show_tokens"));
    model.save_changes();
  });
  pasteAdd.addEventListener("click", () => {
    const { pairs, bad } = parsePairs(pasteArea.value);
    ans.length = pos.length;
    for (const [p, n] of pairs) {
      pos.push(p);
      neg.push(n);
      ans.push("");
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

  const annotateEvents = [
    "change:positive_tokens", "change:negative_tokens", "change:positive_issues", "change:negative_issues", "change:error",
    "change:can_generate", "change:show_tokens", "change:answer_issues",
  ];
  const behaviourEvents = ["change:positive_behaviour", "change:negative_behaviour"];
  annotateEvents.forEach((ev) => model.on(ev, annotate));
  behaviourEvents.forEach((ev) => model.on(ev, paintBehaviour));
  model.on("change:positives", onLists);
  model.on("change:negatives", onLists);
  model.on("change:answers", onLists);
  build();
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(fitAll);
  return () => {
    sendLater.flush();
    resize?.disconnect();
    annotateEvents.forEach((ev) => model.off(ev, annotate));
    behaviourEvents.forEach((ev) => model.off(ev, paintBehaviour));
    model.off("change:positives", onLists);
    model.off("change:negatives", onLists);
    model.off("change:answers", onLists);
    root.remove();
  };
}

function render({ model, el }: RenderProps<PromptPanelModel>) {
  return renderPromptPanel(model, el);
}

export default { render };

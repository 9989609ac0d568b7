import { describe, expect, it } from "vitest";
import { renderCodeInspector, type CodeInspectorModel } from "../code_inspector";
import { FakeModel, f32, i32 } from "./fake_model";

function setup(extra: Partial<CodeInspectorModel> = {}) {
  const model = new FakeModel<CodeInspectorModel>({
    head: 5,
    head_label: "L1.H1",
    prompts: ["p one", "p two", "n one", "n two"],
    is_positive: [true, true, false, false],
    codes: i32([3, 7, 7, -1]),
    positive_only: [3],
    meanings: [
      { code: 3, top_tokens: [" Mary", " John"] },
      { code: 7, top_tokens: [" the"] },
    ],
    attention_prompt: 0,
    attention_tokens: ["<bos>", "p", " one"],
    attention_weights: f32([0.1, 0.2, 0.7]),
    edges: [],
    message: "",
    ...extra,
  });
  const el = document.createElement("div");
  document.body.append(el);
  renderCodeInspector(model.asModel(), el);
  return { model, el };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("CodeInspector", () => {
  it("puts positives and negatives in two columns with their codes", () => {
    const { el } = setup();
    const pos = el.querySelectorAll(".scw-col-pos .scw-code-row");
    const neg = el.querySelectorAll(".scw-col-neg .scw-code-row");
    expect(pos).toHaveLength(2);
    expect(neg).toHaveLength(2);
    expect(pos[0].textContent).toContain("#3");
    expect(neg[1].textContent).toContain("none");
  });

  it("highlights codes seen only on positives", () => {
    const { el } = setup();
    const hl = Array.from(el.querySelectorAll(".scw-columns .scw-code.scw-posonly, .scw-meanings .scw-code.scw-posonly")).map((e) => e.textContent);
    expect(el.querySelector(".scw-inspector-key")?.textContent).toContain("1 such code(s)");
    expect(hl.length).toBeGreaterThan(0);
    expect(new Set(hl)).toEqual(new Set(["#3"]));
  });

  it("shows what each code means and who shares it", () => {
    const { el } = setup();
    const rows = el.querySelectorAll(".scw-meaning");
    expect(rows).toHaveLength(2);
    expect(rows[0].querySelector(".scw-top-tokens")?.textContent).toContain("Mary");
    expect(rows[1].querySelector(".scw-shared")?.textContent).toContain("p two");
    expect(rows[1].querySelector(".scw-shared")?.textContent).toContain("n one");
  });

  it("shows the attention from the final token and asks for another prompt's on click", async () => {
    const { el, model } = setup();
    const toks = el.querySelectorAll(".scw-attn-token");
    expect(toks).toHaveLength(3);
    expect(Number((toks[2] as HTMLElement).dataset.weight)).toBeCloseTo(0.7);
    (el.querySelectorAll(".scw-code-row")[2] as HTMLElement).click();
    expect(model.get("attention_prompt")).toBe(2);
    expect(model.saved.at(-1)?.attention_prompt).toBe(2);
    await tick();
    expect(el.querySelectorAll(".scw-code-row")[2].classList.contains("scw-active")).toBe(true);
  });

  it("redraws once when Python changes several traits", async () => {
    const { el, model } = setup();
    model.pySet("head_label", "L0.H0");
    model.pySet("codes", i32([1, 1, 1, 1]));
    model.pySet("positive_only", []);
    await tick();
    expect(el.querySelector(".scw-title")?.textContent).toBe("Head L0.H0");
    expect(el.querySelectorAll(".scw-columns .scw-posonly")).toHaveLength(0);
    expect(el.querySelector(".scw-inspector-key")?.textContent).toContain("0 such code(s)");
  });

  it("asks for a head when none is selected", () => {
    const { el } = setup({ head: -1, message: "Click a head in the grid." });
    expect(el.querySelectorAll(".scw-code-row")).toHaveLength(0);
    expect(el.textContent).toContain("Click a head");
  });

  it("renders prompt text and token text as text", () => {
    const evil = "<b>bold</b><script>x()</script>";
    const { el } = setup({ prompts: [evil, "a", "b", "c"], attention_tokens: [evil, "a", "b"] });
    expect(el.querySelector("b")).toBeNull();
    expect(el.querySelector(".scw-inspector script")).toBeNull();
    expect(el.querySelector(".scw-prompt-text")?.textContent).toBe(evil);
  });
});

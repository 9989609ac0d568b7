var k=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
.scw { font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif); font-size: 13px; color: var(--jp-ui-font-color1, #1b1b1b); line-height: 1.35; }
.scw * { box-sizing: border-box; }
.scw button { font: inherit; color: inherit; padding: 2px 8px; border: 1px solid var(--jp-border-color1, #888); border-radius: 4px; background: var(--jp-layout-color2, #f6f6f6); cursor: pointer; }
.scw button:hover { background: var(--jp-layout-color3, #e8e8e8); }
.scw button:focus-visible, .scw input:focus-visible, .scw select:focus-visible, .scw textarea:focus-visible { outline: 2px solid #0057b8; outline-offset: 1px; }
.scw-title { font-weight: 600; margin: 4px 0; }
.scw-muted { color: var(--jp-ui-font-color2, #555); }
.scw-error { color: #a00000; background: #fff0f0; border-left: 3px solid #a00000; padding: 4px 8px; margin: 4px 0; white-space: pre-wrap; }
.scw-warning { color: #6b4e00; background: #fff8e0; border-left: 3px solid #b58900; padding: 4px 8px; margin: 4px 0; white-space: pre-wrap; }

/* HeadGrid */
.scw-grid-wrap { display: inline-block; position: relative; }
.scw-grid { display: grid; gap: 2px; outline: none; padding: 3px; }
.scw-grid:focus-visible { outline: 2px solid #0057b8; }
.scw-grid-row { display: contents; }
.scw-grid-head { font-size: 11px; color: var(--jp-ui-font-color2, #444); text-align: center; align-self: end; }
.scw-grid-rowhead { font-size: 11px; color: var(--jp-ui-font-color2, #444); text-align: right; padding-right: 4px; align-self: center; }
.scw-cell { width: 38px; height: 30px; border-radius: 2px; display: flex; align-items: center; justify-content: center; font-size: 10px; cursor: pointer; position: relative; }
.scw-cell.scw-gt { box-shadow: inset 0 0 0 2px #fff, 0 0 0 2px #000; }
.scw-cell.scw-gt::after { content: ""; position: absolute; top: 2px; right: 2px; width: 5px; height: 5px; border-radius: 50%; background: #fff; border: 1px solid #000; }
.scw-cell.scw-selected { outline: 3px dashed #d55e00; outline-offset: 2px; z-index: 1; }
.scw-stab { position: absolute; left: 0; bottom: 0; height: 4px; background: #fff; border-top: 1px solid #000; border-right: 1px solid #000; box-sizing: border-box; pointer-events: none; }
.scw-stab-swatch { background: linear-gradient(to top, #fff 0 4px, transparent 4px); border-bottom: 1px solid #000; }
.scw-tooltip { position: absolute; pointer-events: none; background: #222; color: #fff; padding: 2px 6px; border-radius: 3px; font-size: 11px; white-space: nowrap; z-index: 5; }
.scw-legend { display: flex; align-items: center; gap: 8px; margin-top: 6px; font-size: 11px; flex-wrap: wrap; }
.scw-legend-bar { width: 120px; height: 10px; border: 1px solid #777; }
.scw-legend-swatch { display: inline-block; width: 14px; height: 12px; vertical-align: middle; margin-right: 3px; background: #bbb; }
.scw-legend-swatch.scw-gt { box-shadow: inset 0 0 0 2px #fff, 0 0 0 2px #000; }
.scw-legend-swatch.scw-selected { outline: 2px dashed #d55e00; }
.scw-legend-levels { display: inline-flex; align-items: center; gap: 2px; flex-wrap: wrap; }
.scw-legend-level { display: inline-block; min-width: 20px; padding: 0 4px; text-align: center; border: 1px solid #777; border-radius: 2px; font-size: 10px; }
.scw-legend-count { margin-right: 6px; color: var(--jp-ui-font-color2, #555); }
.scw-grid-unavailable { max-width: 420px; }

/* PromptPanel */
.scw-panel { display: flex; flex-direction: column; gap: 4px; min-width: 360px; }
.scw-rows { display: flex; flex-direction: column; gap: 6px; }
.scw-row { display: grid; grid-template-columns: 24px 1fr 1fr auto; gap: 6px; align-items: start; }
.scw-row-index { font-size: 11px; color: #555; padding-top: 4px; text-align: right; }
.scw-prompt { display: flex; flex-direction: column; gap: 2px; }
.scw-prompt { min-width: 0; }
.scw-prompt textarea.scw-input { display: block; width: 100%; min-height: 1.9em; font: inherit; color: inherit; background: var(--jp-layout-color0, #fff); padding: 3px 5px; border: 1px solid var(--jp-border-color1, #999); border-radius: 3px; resize: vertical; overflow: hidden; overflow-wrap: anywhere; white-space: pre-wrap; field-sizing: content; }
.scw-prompt.scw-invalid textarea.scw-input { border-color: #a00000; background: #fff6f6; }
.scw-prompt.scw-flagged textarea.scw-input { border-color: #b58900; box-shadow: inset 3px 0 0 #b58900; }
.scw-behaviour { font-size: 11px; min-height: 0; }
.scw-answer { display: flex; gap: 4px; align-items: center; font-size: 11px; color: var(--jp-ui-font-color2, #555); }
.scw-answer-input { width: 96px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; padding: 0 3px; border: 1px solid var(--jp-border-color2, #bbb); border-radius: 2px; background: var(--jp-layout-color0, #fff); color: inherit; }
.scw-answer-input.scw-invalid { border-color: #a00000; background: #fff6f6; }
.scw-answer-issue { color: #6b4e00; font-size: 11px; }
.scw-answer-issue:empty, .scw-issue:empty, .scw-behaviour:empty { display: none; }
.scw-mark { font-weight: 600; }
.scw-mark-ok { color: #1a6b32; }
.scw-mark-flag { color: #a00000; }
.scw-mark-pending, .scw-mark-plain { color: var(--jp-ui-font-color2, #555); }
.scw-tokens-toggle.scw-on { background: #dbe8fb; border-color: #0057b8; }
.scw-tokens { display: flex; flex-wrap: wrap; gap: 2px; }
.scw-token { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 10.5px; background: #eef1f5; border: 1px solid #d0d6de; border-radius: 2px; padding: 0 3px; white-space: pre; }
.scw-token.scw-unknown { background: #ffe3e3; border-color: #a00000; text-decoration: underline wavy #a00000; }
.scw-issue { color: #a00000; font-size: 11px; }
.scw-row-actions { display: flex; gap: 2px; }
.scw-row-actions button { padding: 1px 5px; }
.scw-col-heads { display: grid; grid-template-columns: 24px 1fr 1fr auto; gap: 6px; font-weight: 600; font-size: 12px; }
.scw-toolbar { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.scw-paste { width: 100%; min-height: 70px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }

/* CodeInspector */
.scw-inspector { display: flex; flex-direction: column; gap: 6px; }
.scw-columns { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.scw-code-row { display: flex; gap: 6px; align-items: baseline; padding: 1px 3px; border-radius: 2px; cursor: pointer; }
.scw-code-row.scw-active { background: var(--jp-layout-color3, #e6eefc); outline: 1px solid #0057b8; }
.scw-code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; padding: 0 4px; border: 1px solid #999; border-radius: 3px; min-width: 34px; text-align: center; }
.scw-code.scw-posonly { background: #ffd58a; border: 2px solid #8a5a00; font-weight: 700; }
.scw-code.scw-nocode { color: #777; border-style: dotted; }
.scw-prompt-text { white-space: pre-wrap; word-break: break-word; }
.scw-meanings { border-collapse: collapse; font-size: 12px; }
.scw-meanings th, .scw-meanings td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
.scw-attn { display: flex; flex-wrap: wrap; gap: 2px; }
.scw-attn-token { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; padding: 1px 3px; border: 1px solid #ccc; white-space: pre; }

/* CircuitExplorer: prompts left, grid + inspector right from 1000 px (container query) */
.scw-explorer { display: flex; flex-direction: column; gap: 8px; container-type: inline-size; container-name: scw-explorer; }
.scw-settings { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; padding: 4px 6px; background: var(--jp-layout-color2, #f4f4f4); border-radius: 4px; }
.scw-settings label { display: flex; gap: 4px; align-items: center; font-size: 12px; }
.scw-settings input[type=number] { width: 70px; }
.scw-status { font-size: 12px; }
.scw-status.scw-busy::before { content: "\u27F3 "; }
.scw-status.scw-preview { color: #6b4e00; font-style: italic; }
.scw-grid-box.scw-preview { border: 2px dashed #b58900; }
.scw-preview-badge { display: none; font-size: 11px; font-weight: 600; color: #6b4e00; background: #fff8e0; border: 1px solid #b58900; border-radius: 3px; padding: 0 5px; margin-bottom: 4px; width: fit-content; }
.scw-stale-banner { display: none; font-size: 11px; font-weight: 600; color: #a00000; background: #fff0f0; border: 1px solid #a00000; border-radius: 3px; padding: 0 5px; margin-bottom: 4px; max-width: 420px; }
.scw-grid-box.scw-stale, .scw-inspector-box.scw-stale { border: 2px dashed #a00000; }
.scw-grid-box.scw-stale .scw-headgrid, .scw-inspector-box.scw-stale .scw-inspector { opacity: 0.45; filter: grayscale(0.6); }
.scw-settings input.scw-invalid { outline: 2px solid #a00000; }
.scw-main { display: flex; flex-direction: column; gap: 12px; }
.scw-right { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
.scw-panel-box { min-width: 0; }
@container scw-explorer (min-width: 1000px) {
  .scw-main { display: grid; grid-template-columns: minmax(380px, 1fr) minmax(0, 1.15fr); align-items: start; }
}
.scw-grid-row-box { display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-start; }
/* the grid's own width sets the host's; its legend and notes wrap inside it (width 0, min-width 100%) */
.scw-grid-host { flex: 0 1 auto; width: fit-content; min-width: 240px; max-width: 100%; }
.scw-grid-host .scw-legend, .scw-grid-host .scw-grid-message { width: 0; min-width: 100%; }
.scw-grid-host .scw-grid-unavailable { max-width: 400px; }
.scw-behaviour-summary { display: none; font-size: 12px; font-weight: 600; padding: 2px 6px; margin-bottom: 4px; border-left: 3px solid #1a6b32; background: #effaf1; }
.scw-behaviour-summary.scw-flag { border-left-color: #b58900; background: #fff8e0; color: #6b4e00; }
.scw-summary-warning { font-weight: 400; font-size: 11px; }
.scw-trust { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; font-size: 12px; }
.scw-trust.scw-checking { opacity: 0.7; }
.scw-faithfulness { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.scw-k { display: flex; gap: 4px; align-items: center; }
.scw-k-number { width: 52px; }
.scw-k-range { width: 120px; }
.scw-k-number.scw-invalid { outline: 2px solid #a00000; }
.scw-edge-box { font-size: 11px; max-width: 260px; }
.scw-edge-axis { font-size: 9px; fill: var(--jp-ui-font-color2, #555); }
.scw-edge { stroke: #0057b8; stroke-opacity: 0.65; stroke-linecap: round; }
.scw-edge-selected { stroke: #d55e00; stroke-opacity: 1; }
.scw-edge-hit { stroke: transparent; cursor: pointer; pointer-events: stroke; }
.scw-edge-hit:focus-visible { stroke: #0057b8; stroke-opacity: 0.25; outline: none; }
.scw-edge-node { fill: #bbb; }
.scw-edge-node-used { fill: #222; }
.scw-edge-title { font-weight: 600; margin-top: 4px; }
.scw-pair-posonly td { background: #fff1d6; }
.scw-curve-line { fill: none; stroke: #0057b8; stroke-width: 1.5; }
.scw-curve-ref { stroke: #999; stroke-dasharray: 2 2; }
.scw-curve-mark { fill: #d55e00; }
.scw-grid-box.scw-stale .scw-trust, .scw-grid-box.scw-stale .scw-edge-box, .scw-grid-box.scw-stale .scw-behaviour-summary { opacity: 0.45; filter: grayscale(0.6); }
.scw-section { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 6px 8px; }
`;function B(e){if(e instanceof ArrayBuffer)return{buf:e,off:0,len:e.byteLength};let n=e;return{buf:n.buffer,off:n.byteOffset,len:n.byteLength}}function N(e){if(e==null)return new Float32Array(0);if(Array.isArray(e))return Float32Array.from(e);let{buf:n,off:o,len:i}=B(e),r=Math.floor(i/4),p=new DataView(n,o,i),c=new Float32Array(r);for(let d=0;d<r;d++)c[d]=p.getFloat32(d*4,!0);return c}function T(e){if(e==null)return new Int32Array(0);if(Array.isArray(e))return Int32Array.from(e);let{buf:n,off:o,len:i}=B(e),r=Math.floor(i/4),p=new DataView(n,o,i),c=new Int32Array(r);for(let d=0;d<r;d++)c[d]=p.getInt32(d*4,!0);return c}var H={viridis:[[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[181,222,43],[253,231,37]],cividis:[[0,34,78],[18,53,112],[59,73,108],[87,93,109],[112,113,115],[138,134,120],[165,156,116],[194,179,105],[225,204,85],[254,232,56]]};function F(e,n="viridis"){if(!Number.isFinite(e))return[190,190,190];let o=H[n],i=Math.min(1,Math.max(0,e))*(o.length-1),r=Math.min(o.length-2,Math.floor(i)),p=i-r,c=o[r],d=o[r+1];return[0,1,2].map(s=>Math.round(c[s]+(d[s]-c[s])*p))}function $(e,n="viridis"){let[o,i,r]=F(e,n);return`rgb(${o}, ${i}, ${r})`}function L(e,n="viridis"){let[o,i,r]=F(e,n);return .2126*o+.7152*i+.0722*r>140?"#000":"#fff"}function t(e,n,o,i){let r=document.createElement(e);if(n&&(r.className=n),o)for(let[p,c]of Object.entries(o))c===void 0||c===!1||r.setAttribute(p,c===!0?"":String(c));if(typeof i=="string")r.textContent=i;else if(i)for(let p of i)r.append(typeof p=="string"?document.createTextNode(p):p);return r}function P(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function A(e,n){let o=document.createElement("style");o.textContent=n,e.append(o)}function R(e,n){let o=t("div","scw scw-inspector");A(o,k),n.append(o);function i(s,m){let b=s<0?"scw-code scw-nocode":m.has(s)?"scw-code scw-posonly":"scw-code",x=s<0?"no active feature":m.has(s)?"occurs only on positives":"";return t("span",b,{title:x,"data-code":s},s<0?"none":`#${s}`)}function r(){P(o),A(o,k);let s=e.get("head"),m=e.get("head_label")||"";o.append(t("div","scw-title",{},s>=0?`Head ${m}`:"Code inspector"));let b=e.get("message");if(b&&o.append(t("div","scw-muted scw-inspector-message",{},b)),s<0)return;let x=e.get("prompts")||[],z=e.get("is_positive")||[],M=T(e.get("codes")),y=new Set(e.get("positive_only")||[]),v=e.get("attention_prompt"),_=t("div","scw-col scw-col-pos",{},[t("div","scw-title",{},"positives")]),j=t("div","scw-col scw-col-neg",{},[t("div","scw-title",{},"negatives")]);x.forEach((f,a)=>{let l=t("div",a===v?"scw-code-row scw-active":"scw-code-row",{"data-prompt":a,title:"show this prompt's attention"},[i(M[a]??-1,y),t("span","scw-prompt-text",{},f)]);l.addEventListener("click",()=>{e.set("attention_prompt",a),e.save_changes()}),(z[a]?_:j).append(l)});let V=t("div","scw-muted scw-inspector-key",{},[t("span","scw-code scw-posonly",{},"#n"),` occurs only on positives: ${y.size} such code(s), the head's node score. `,t("span","scw-code scw-nocode",{},"none")," no SAE feature fired. Click a prompt to see its attention."]);o.append(V,t("div","scw-columns",{},[_,j]));let C=e.get("meanings")||[];if(C.length){let f=t("table","scw-meanings");f.append(t("tr","",{},[t("th","",{},"code"),t("th","",{},"writes (top tokens via W_U)"),t("th","",{},"positives"),t("th","",{},"negatives"),t("th","",{},"prompts sharing it")]));for(let a of C){let l=x.map((w,u)=>u).filter(w=>M[w]===a.code),h=l.filter(w=>z[w]).length,g=t("td","scw-shared");l.slice(0,6).forEach((w,u)=>{u&&g.append(t("br")),g.append(t("span","scw-prompt-text",{},x[w]))}),l.length>6&&g.append(t("br"),t("span","scw-muted",{},`\u2026 ${l.length-6} more`)),f.append(t("tr","scw-meaning",{"data-code":a.code},[t("td","",{},[i(a.code,y)]),t("td","scw-top-tokens",{},a.top_tokens.map(w=>JSON.stringify(w)).join("  ")),t("td","",{},String(h)),t("td","",{},String(l.length-h)),g]))}o.append(t("div","scw-title",{},"What the codes mean"),f)}let I=e.get("attention_tokens")||[],E=N(e.get("attention_weights"));if(I.length&&v>=0){let f=t("div","scw-attn",{"aria-label":"attention from the final token"}),a=0;E.forEach(l=>a=Math.max(a,l)),I.forEach((l,h)=>{let g=E[h]??0,w=a>0?g/a:0,u=t("span","scw-attn-token",{title:`attention ${g.toFixed(3)}`,"data-weight":g},l);u.style.background=$(w,"cividis"),u.style.color=L(w,"cividis"),f.append(u)}),o.append(t("div","scw-title",{},`Attention from the final token (prompt ${v+1})`),f)}let S=e.get("edges")||[];if(S.length){let f=t("ul","scw-edges");for(let a of S)f.append(t("li","",{},`${a.sender} \u2192 ${a.receiver}: ${a.score.toPrecision(3)}`));o.append(t("div","scw-title",{},"Strongest edges"),f)}}let p=["head","head_label","prompts","is_positive","codes","positive_only","meanings","attention_prompt","attention_tokens","attention_weights","edges","message"].map(s=>`change:${s}`),c=!1,d=()=>{c||(c=!0,queueMicrotask(()=>{c=!1,r()}))};return p.forEach(s=>e.on(s,d)),r(),()=>{p.forEach(s=>e.off(s,d)),o.remove()}}function O({model:e,el:n}){return R(e,n)}var Y={render:O};export{Y as default,R as renderCodeInspector};

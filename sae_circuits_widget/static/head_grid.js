var R=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
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
`;function Y(e){if(e instanceof ArrayBuffer)return{buf:e,off:0,len:e.byteLength};let t=e;return{buf:t.buffer,off:t.byteOffset,len:t.byteLength}}function C(e){if(e==null)return new Float32Array(0);if(Array.isArray(e))return Float32Array.from(e);let{buf:t,off:r,len:o}=Y(e),n=Math.floor(o/4),l=new DataView(t,r,o),a=new Float32Array(n);for(let m=0;m<n;m++)a[m]=l.getFloat32(m*4,!0);return a}var Z={viridis:[[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[181,222,43],[253,231,37]],cividis:[[0,34,78],[18,53,112],[59,73,108],[87,93,109],[112,113,115],[138,134,120],[165,156,116],[194,179,105],[225,204,85],[254,232,56]]};function K(e,t="viridis"){if(!Number.isFinite(e))return[190,190,190];let r=Z[t],o=Math.min(1,Math.max(0,e))*(r.length-1),n=Math.min(r.length-2,Math.floor(o)),l=o-n,a=r[n],m=r[n+1];return[0,1,2].map(k=>Math.round(a[k]+(m[k]-a[k])*l))}function N(e,t="viridis"){let[r,o,n]=K(e,t);return`rgb(${r}, ${o}, ${n})`}function F(e,t="viridis"){let[r,o,n]=K(e,t);return .2126*r+.7152*o+.0722*n>140?"#000":"#fff"}function P(e){let t=1/0,r=-1/0;for(let o=0;o<e.length;o++){let n=e[o];Number.isFinite(n)&&(n<t&&(t=n),n>r&&(r=n))}return t===1/0?[0,1]:r-t<1e-12?[t-.5,r+.5]:[t,r]}function v(e){if(!Number.isFinite(e))return"\u2013";if(e===0)return"0";if(Number.isInteger(e)&&Math.abs(e)<1e3)return String(e);let t=Math.abs(e);return t>=100||t<.01?e.toExponential(1):e.toPrecision(2)}function i(e,t,r,o){let n=document.createElement(e);if(t&&(n.className=t),r)for(let[l,a]of Object.entries(r))a===void 0||a===!1||n.setAttribute(l,a===!0?"":String(a));if(typeof o=="string")n.textContent=o;else if(o)for(let l of o)n.append(typeof l=="string"?document.createTextNode(l):l);return n}function B(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function G(e,t){let r=document.createElement("style");r.textContent=t,e.append(r)}function ee(e,t=10){let r=new Set;for(let o=0;o<e.length;o++){let n=e[o];if(Number.isFinite(n)&&(!Number.isInteger(n)||(r.add(n),r.size>t)))return null}return r.size?[...r].sort((o,n)=>o-n):null}function te(e){let[t,r]=P(e),o=!1,n=1/0,l=-1/0;for(let a=0;a<e.length;a++)Number.isFinite(e[a])&&(o=!0,n=Math.min(n,e[a]),l=Math.max(l,e[a]));return o&&n>=0&&(t=0,r=l>0?l:1),[t,r]}function O(e,t,r){return!(t>1)||!Number.isFinite(e)?"":`in the top ${r} of ${Math.round(e*t)}/${t} SAEs`}function fe(e,t){return`L${Math.floor(e/t)}.H${e%t}`}function ne(e,t){let r=i("div","scw scw-headgrid");G(r,R),t.append(r);let o=i("div","scw-grid-wrap"),n=i("div","scw-grid",{role:"grid",tabindex:0,"aria-label":"attention heads by layer"}),l=i("div","scw-tooltip");l.style.display="none";let a=i("div","scw-legend"),m=i("div","scw-muted scw-grid-message"),k=i("div","scw-warning scw-grid-unavailable",{role:"status"});o.append(n,l),r.append(k,o,a,m);let $=[],A=new Float32Array(0),z=new Float32Array(0),L=()=>[e.get("n_layers")||0,e.get("n_heads")||0];function H(s){let[c,p]=L();s<0||s>=c*p||(e.set("selected",s),e.save_changes(),E())}function E(){let s=e.get("selected");$.forEach((c,p)=>{let d=p===s;c.classList.toggle("scw-selected",d),c.setAttribute("aria-selected",d?"true":"false")})}function U(){let[s,c]=L();B(n),$=[],n.style.gridTemplateColumns=`auto repeat(${c}, 38px)`;let p=i("div","scw-grid-row",{role:"row"},[i("div","scw-grid-head",{role:"columnheader"},"")]);for(let d=0;d<c;d++)p.append(i("div","scw-grid-head",{role:"columnheader"},`H${d}`));n.append(p);for(let d=0;d<s;d++){let g=i("div","scw-grid-row",{role:"row"},[i("div","scw-grid-rowhead",{role:"rowheader"},`L${d}`)]);for(let w=0;w<c;w++){let b=d*c+w,h=i("div","scw-cell",{role:"gridcell","data-index":b,"data-layer":d,"data-head":w});h.addEventListener("click",()=>{H(b),n.focus()}),h.addEventListener("mouseenter",()=>q(b,h)),h.addEventListener("mouseleave",()=>l.style.display="none"),$.push(h),g.append(h)}n.append(g)}}function q(s,c){let[,p]=L(),d=new Set(e.get("ground_truth")||[]),g=O(z[s],e.get("n_saes")||0,e.get("top_k")||0);l.textContent=`${Math.floor(s/p)}.${s%p}: ${v(A[s])}${d.has(s)?" (known circuit)":""}${g?`; ${g}`:""}`,l.style.display="block",l.style.left=`${c.offsetLeft+c.offsetWidth+4}px`,l.style.top=`${c.offsetTop}px`}function S(){let[s,c]=L();$.length!==s*c&&U(),A=C(e.get("scores"));let p=e.get("n_saes")||0,d=e.get("top_k")||0;z=C(e.get("stability")||new DataView(new ArrayBuffer(0)));let g=p>1&&z.length===s*c,w=e.get("scale")||"viridis",b=A.length===s*c,[h,j]=te(b?A:[]),_=e.get("unavailable")||"";k.textContent=_,k.style.display=_?"block":"none",o.style.display=_?"none":"",a.style.display=_?"none":"";let T=new Set(e.get("ground_truth")||[]),J=e.get("show_values")!==!1;$.forEach((f,x)=>{let u=b?A[x]:NaN,M=(u-h)/(j-h);f.style.background=N(M,w),f.style.color=F(M,w),f.textContent=J&&b?v(u):"",f.dataset.value=b?String(u):"",f.classList.toggle("scw-gt",T.has(x));let y=g?O(z[x],p,d):"";if(g){let V=i("span","scw-stab");V.style.width=`${Math.round(Math.max(0,Math.min(1,z[x]))*100)}%`,f.append(V),f.dataset.stability=String(z[x])}else delete f.dataset.stability;let Q=`layer ${Math.floor(x/c)} head ${x%c}: ${b?v(u):"no score"}${T.has(x)?", in the known circuit":""}${y?`, ${y}`:""}`;f.setAttribute("aria-label",Q),f.title=`${Math.floor(x/c)}.${x%c} = ${b?v(u):"no score"}${y?`
${y}`:""}`}),B(a);let D=b?ee(A):null;if(D){let f=new Map;A.forEach(u=>f.set(u,(f.get(u)??0)+1));let x=i("span","scw-legend-levels");for(let u of D){let M=(u-h)/(j-h),y=i("span","scw-legend-level",{"data-level":u,title:`${f.get(u)} head(s) score ${u}`},v(u));y.style.background=N(M,w),y.style.color=F(M,w),x.append(y,i("span","scw-legend-count",{},`\xD7${f.get(u)}`))}a.append(x,i("span","scw-muted scw-legend-label",{},e.get("label")||"score"))}else{let f=i("div","scw-legend-bar"),x=Array.from({length:11},(u,M)=>N(M/10,w)).join(", ");f.style.background=`linear-gradient(to right, ${x})`,a.append(i("span","scw-legend-lo",{},b?v(h):""),f,i("span","scw-legend-hi",{},b?v(j):""),i("span","scw-muted scw-legend-label",{},e.get("label")||"score"))}T.size&&a.append(i("span","",{},[i("span","scw-legend-swatch scw-gt"),"known circuit"])),a.append(i("span","",{},[i("span","scw-legend-swatch scw-selected"),"selected"])),g&&a.append(i("span","scw-legend-stab",{},[i("span","scw-legend-swatch scw-stab-swatch"),`bar: share of the ${p} SAEs with the head in their top ${d}`])),m.textContent=e.get("message")||(b?"":"No scores yet."),E()}let W=s=>{let[c,p]=L();if(!c||!p)return;let d=e.get("selected");d<0&&(d=0);let g=Math.floor(d/p),w=d%p;if(s.key==="ArrowLeft")w=Math.max(0,w-1);else if(s.key==="ArrowRight")w=Math.min(p-1,w+1);else if(s.key==="ArrowUp")g=Math.max(0,g-1);else if(s.key==="ArrowDown")g=Math.min(c-1,g+1);else if(s.key!=="Enter"&&s.key!==" ")return;s.preventDefault(),H(g*p+w)};n.addEventListener("keydown",W);let I=["change:scores","change:n_layers","change:n_heads","change:ground_truth","change:label","change:scale","change:message","change:show_values","change:stability","change:n_saes","change:top_k","change:unavailable"];return I.forEach(s=>e.on(s,S)),e.on("change:selected",E),S(),()=>{I.forEach(s=>e.off(s,S)),e.off("change:selected",E),r.remove()}}function re({model:e,el:t}){return ne(e,t)}var we={render:re};export{te as colourDomain,we as default,ee as discreteLevels,fe as headName,ne as renderHeadGrid,O as stabilityText};

var C=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
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
.scw-tooltip { position: absolute; pointer-events: none; background: #222; color: #fff; padding: 2px 6px; border-radius: 3px; font-size: 11px; white-space: nowrap; z-index: 5; }
.scw-legend { display: flex; align-items: center; gap: 8px; margin-top: 6px; font-size: 11px; flex-wrap: wrap; }
.scw-legend-bar { width: 120px; height: 10px; border: 1px solid #777; }
.scw-legend-swatch { display: inline-block; width: 14px; height: 12px; vertical-align: middle; margin-right: 3px; background: #bbb; }
.scw-legend-swatch.scw-gt { box-shadow: inset 0 0 0 2px #fff, 0 0 0 2px #000; }
.scw-legend-swatch.scw-selected { outline: 2px dashed #d55e00; }

/* PromptPanel */
.scw-panel { display: flex; flex-direction: column; gap: 4px; min-width: 360px; }
.scw-rows { display: flex; flex-direction: column; gap: 6px; }
.scw-row { display: grid; grid-template-columns: 24px 1fr 1fr auto; gap: 6px; align-items: start; }
.scw-row-index { font-size: 11px; color: #555; padding-top: 4px; text-align: right; }
.scw-prompt { display: flex; flex-direction: column; gap: 2px; }
.scw-prompt input { width: 100%; font: inherit; color: inherit; background: var(--jp-layout-color0, #fff); padding: 3px 5px; border: 1px solid var(--jp-border-color1, #999); border-radius: 3px; }
.scw-prompt.scw-invalid input { border-color: #a00000; background: #fff6f6; }
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

/* CircuitExplorer */
.scw-explorer { display: flex; flex-direction: column; gap: 8px; }
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
.scw-main { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.scw-main > .scw-panel-box { flex: 1 1 520px; min-width: 0; }
.scw-main > .scw-grid-box { flex: 0 0 auto; }
.scw-section { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 6px 8px; }
`;function K(e){if(e instanceof ArrayBuffer)return{buf:e,off:0,len:e.byteLength};let t=e;return{buf:t.buffer,off:t.byteOffset,len:t.byteLength}}function H(e){if(e==null)return new Float32Array(0);if(Array.isArray(e))return Float32Array.from(e);let{buf:t,off:o,len:a}=K(e),n=Math.floor(a/4),d=new DataView(t,o,a),p=new Float32Array(n);for(let w=0;w<n;w++)p[w]=d.getFloat32(w*4,!0);return p}var O={viridis:[[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[181,222,43],[253,231,37]],cividis:[[0,34,78],[18,53,112],[59,73,108],[87,93,109],[112,113,115],[138,134,120],[165,156,116],[194,179,105],[225,204,85],[254,232,56]]};function _(e,t="viridis"){if(!Number.isFinite(e))return[190,190,190];let o=O[t],a=Math.min(1,Math.max(0,e))*(o.length-1),n=Math.min(o.length-2,Math.floor(a)),d=a-n,p=o[n],w=o[n+1];return[0,1,2].map(g=>Math.round(p[g]+(w[g]-p[g])*d))}function z(e,t="viridis"){let[o,a,n]=_(e,t);return`rgb(${o}, ${a}, ${n})`}function j(e,t="viridis"){let[o,a,n]=_(e,t);return .2126*o+.7152*a+.0722*n>140?"#000":"#fff"}function B(e){let t=1/0,o=-1/0;for(let a=0;a<e.length;a++){let n=e[a];Number.isFinite(n)&&(n<t&&(t=n),n>o&&(o=n))}return t===1/0?[0,1]:o-t<1e-12?[t-.5,o+.5]:[t,o]}function y(e){if(!Number.isFinite(e))return"\u2013";if(e===0)return"0";let t=Math.abs(e);return t>=100||t<.01?e.toExponential(1):e.toPrecision(2)}function c(e,t,o,a){let n=document.createElement(e);if(t&&(n.className=t),o)for(let[d,p]of Object.entries(o))p===void 0||p===!1||n.setAttribute(d,p===!0?"":String(p));if(typeof a=="string")n.textContent=a;else if(a)for(let d of a)n.append(typeof d=="string"?document.createTextNode(d):d);return n}function E(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function F(e,t){let o=document.createElement("style");o.textContent=t,e.append(o)}function ne(e,t){return`L${Math.floor(e/t)}.H${e%t}`}function U(e,t){let o=c("div","scw scw-headgrid");F(o,C),t.append(o);let a=c("div","scw-grid-wrap"),n=c("div","scw-grid",{role:"grid",tabindex:0,"aria-label":"attention heads by layer"}),d=c("div","scw-tooltip");d.style.display="none";let p=c("div","scw-legend"),w=c("div","scw-muted scw-grid-message");a.append(n,d),o.append(a,p,w);let g=[],v=new Float32Array(0),A=()=>[e.get("n_layers")||0,e.get("n_heads")||0];function $(s){let[i,l]=A();s<0||s>=i*l||(e.set("selected",s),e.save_changes(),M())}function M(){let s=e.get("selected");g.forEach((i,l)=>{let r=l===s;i.classList.toggle("scw-selected",r),i.setAttribute("aria-selected",r?"true":"false")})}function I(){let[s,i]=A();E(n),g=[],n.style.gridTemplateColumns=`auto repeat(${i}, 38px)`;let l=c("div","scw-grid-row",{role:"row"},[c("div","scw-grid-head",{role:"columnheader"},"")]);for(let r=0;r<i;r++)l.append(c("div","scw-grid-head",{role:"columnheader"},`H${r}`));n.append(l);for(let r=0;r<s;r++){let u=c("div","scw-grid-row",{role:"row"},[c("div","scw-grid-rowhead",{role:"rowheader"},`L${r}`)]);for(let f=0;f<i;f++){let h=r*i+f,b=c("div","scw-cell",{role:"gridcell","data-index":h,"data-layer":r,"data-head":f});b.addEventListener("click",()=>{$(h),n.focus()}),b.addEventListener("mouseenter",()=>D(h,b)),b.addEventListener("mouseleave",()=>d.style.display="none"),g.push(b),u.append(b)}n.append(u)}}function D(s,i){let[,l]=A(),r=new Set(e.get("ground_truth")||[]);d.textContent=`${Math.floor(s/l)}.${s%l}: ${y(v[s])}${r.has(s)?" (known circuit)":""}`,d.style.display="block",d.style.left=`${i.offsetLeft+i.offsetWidth+4}px`,d.style.top=`${i.offsetTop}px`}function L(){let[s,i]=A();g.length!==s*i&&I(),v=H(e.get("scores"));let l=e.get("scale")||"viridis",r=v.length===s*i,[u,f]=B(r?v:[]),h=new Set(e.get("ground_truth")||[]),b=e.get("show_values")!==!1;g.forEach((m,x)=>{let k=r?v[x]:NaN,S=(k-u)/(f-u);m.style.background=z(S,l),m.style.color=j(S,l),m.textContent=b&&r?y(k):"",m.dataset.value=r?String(k):"",m.classList.toggle("scw-gt",h.has(x));let P=`layer ${Math.floor(x/i)} head ${x%i}: ${r?y(k):"no score"}${h.has(x)?", in the known circuit":""}`;m.setAttribute("aria-label",P),m.title=`${Math.floor(x/i)}.${x%i} = ${r?y(k):"no score"}`}),E(p);let T=c("div","scw-legend-bar"),R=Array.from({length:11},(m,x)=>z(x/10,l)).join(", ");T.style.background=`linear-gradient(to right, ${R})`,p.append(c("span","scw-legend-lo",{},r?y(u):""),T,c("span","scw-legend-hi",{},r?y(f):""),c("span","scw-muted",{},e.get("label")||"score")),h.size&&p.append(c("span","",{},[c("span","scw-legend-swatch scw-gt"),"known circuit"])),p.append(c("span","",{},[c("span","scw-legend-swatch scw-selected"),"selected"])),w.textContent=e.get("message")||(r?"":"No scores yet."),M()}let V=s=>{let[i,l]=A();if(!i||!l)return;let r=e.get("selected");r<0&&(r=0);let u=Math.floor(r/l),f=r%l;if(s.key==="ArrowLeft")f=Math.max(0,f-1);else if(s.key==="ArrowRight")f=Math.min(l-1,f+1);else if(s.key==="ArrowUp")u=Math.max(0,u-1);else if(s.key==="ArrowDown")u=Math.min(i-1,u+1);else if(s.key!=="Enter"&&s.key!==" ")return;s.preventDefault(),$(u*l+f)};n.addEventListener("keydown",V);let N=["change:scores","change:n_layers","change:n_heads","change:ground_truth","change:label","change:scale","change:message","change:show_values"];return N.forEach(s=>e.on(s,L)),e.on("change:selected",M),L(),()=>{N.forEach(s=>e.off(s,L)),e.off("change:selected",M),o.remove()}}function W({model:e,el:t}){return U(e,t)}var re={render:W};export{re as default,ne as headName,U as renderHeadGrid};

var S=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
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
.scw-main { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.scw-main > .scw-panel-box { flex: 1 1 520px; min-width: 0; }
.scw-main > .scw-grid-box { flex: 0 0 auto; }
.scw-section { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 6px 8px; }
`;function K(e){if(e instanceof ArrayBuffer)return{buf:e,off:0,len:e.byteLength};let t=e;return{buf:t.buffer,off:t.byteOffset,len:t.byteLength}}function C(e){if(e==null)return new Float32Array(0);if(Array.isArray(e))return Float32Array.from(e);let{buf:t,off:r,len:c}=K(e),n=Math.floor(c/4),p=new DataView(t,r,c),d=new Float32Array(n);for(let g=0;g<n;g++)d[g]=p.getFloat32(g*4,!0);return d}var O={viridis:[[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[181,222,43],[253,231,37]],cividis:[[0,34,78],[18,53,112],[59,73,108],[87,93,109],[112,113,115],[138,134,120],[165,156,116],[194,179,105],[225,204,85],[254,232,56]]};function H(e,t="viridis"){if(!Number.isFinite(e))return[190,190,190];let r=O[t],c=Math.min(1,Math.max(0,e))*(r.length-1),n=Math.min(r.length-2,Math.floor(c)),p=c-n,d=r[n],g=r[n+1];return[0,1,2].map(w=>Math.round(d[w]+(g[w]-d[w])*p))}function L(e,t="viridis"){let[r,c,n]=H(e,t);return`rgb(${r}, ${c}, ${n})`}function _(e,t="viridis"){let[r,c,n]=H(e,t);return .2126*r+.7152*c+.0722*n>140?"#000":"#fff"}function j(e){let t=1/0,r=-1/0;for(let c=0;c<e.length;c++){let n=e[c];Number.isFinite(n)&&(n<t&&(t=n),n>r&&(r=n))}return t===1/0?[0,1]:r-t<1e-12?[t-.5,r+.5]:[t,r]}function m(e){if(!Number.isFinite(e))return"\u2013";if(e===0)return"0";let t=Math.abs(e);return t>=100||t<.01?e.toExponential(1):e.toPrecision(2)}function l(e,t,r,c){let n=document.createElement(e);if(t&&(n.className=t),r)for(let[p,d]of Object.entries(r))d===void 0||d===!1||n.setAttribute(p,d===!0?"":String(d));if(typeof c=="string")n.textContent=c;else if(c)for(let p of c)n.append(typeof p=="string"?document.createTextNode(p):p);return n}function E(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function B(e,t){let r=document.createElement("style");r.textContent=t,e.append(r)}function ne(e,t){return`L${Math.floor(e/t)}.H${e%t}`}function U(e,t){let r=l("div","scw scw-headgrid");B(r,S),t.append(r);let c=l("div","scw-grid-wrap"),n=l("div","scw-grid",{role:"grid",tabindex:0,"aria-label":"attention heads by layer"}),p=l("div","scw-tooltip");p.style.display="none";let d=l("div","scw-legend"),g=l("div","scw-muted scw-grid-message");c.append(n,p),r.append(c,d,g);let w=[],h=new Float32Array(0),y=()=>[e.get("n_layers")||0,e.get("n_heads")||0];function $(o){let[a,i]=y();o<0||o>=a*i||(e.set("selected",o),e.save_changes(),A())}function A(){let o=e.get("selected");w.forEach((a,i)=>{let s=i===o;a.classList.toggle("scw-selected",s),a.setAttribute("aria-selected",s?"true":"false")})}function F(){let[o,a]=y();E(n),w=[],n.style.gridTemplateColumns=`auto repeat(${a}, 38px)`,n.append(l("div","scw-grid-head",{},""));for(let i=0;i<a;i++)n.append(l("div","scw-grid-head",{},`H${i}`));for(let i=0;i<o;i++){n.append(l("div","scw-grid-rowhead",{},`L${i}`));for(let s=0;s<a;s++){let u=i*a+s,f=l("div","scw-cell",{role:"gridcell","data-index":u,"data-layer":i,"data-head":s});f.addEventListener("click",()=>{$(u),n.focus()}),f.addEventListener("mouseenter",()=>I(u,f)),f.addEventListener("mouseleave",()=>p.style.display="none"),w.push(f),n.append(f)}}}function I(o,a){let[,i]=y(),s=new Set(e.get("ground_truth")||[]);p.textContent=`${Math.floor(o/i)}.${o%i}: ${m(h[o])}${s.has(o)?" (known circuit)":""}`,p.style.display="block",p.style.left=`${a.offsetLeft+a.offsetWidth+4}px`,p.style.top=`${a.offsetTop}px`}function k(){let[o,a]=y();w.length!==o*a&&F(),h=C(e.get("scores"));let i=e.get("scale")||"viridis",s=h.length===o*a,[u,f]=j(s?h:[]),M=new Set(e.get("ground_truth")||[]),V=e.get("show_values")!==!1;w.forEach((b,x)=>{let v=s?h[x]:NaN,T=(v-u)/(f-u);b.style.background=L(T,i),b.style.color=_(T,i),b.textContent=V&&s?m(v):"",b.dataset.value=s?String(v):"",b.classList.toggle("scw-gt",M.has(x));let P=`layer ${Math.floor(x/a)} head ${x%a}: ${s?m(v):"no score"}${M.has(x)?", in the known circuit":""}`;b.setAttribute("aria-label",P),b.title=`${Math.floor(x/a)}.${x%a} = ${s?m(v):"no score"}`}),E(d);let N=l("div","scw-legend-bar"),R=Array.from({length:11},(b,x)=>L(x/10,i)).join(", ");N.style.background=`linear-gradient(to right, ${R})`,d.append(l("span","scw-legend-lo",{},s?m(u):""),N,l("span","scw-legend-hi",{},s?m(f):""),l("span","scw-muted",{},e.get("label")||"score")),M.size&&d.append(l("span","",{},[l("span","scw-legend-swatch scw-gt"),"known circuit"])),d.append(l("span","",{},[l("span","scw-legend-swatch scw-selected"),"selected"])),g.textContent=e.get("message")||(s?"":"No scores yet."),A()}let D=o=>{let[a,i]=y();if(!a||!i)return;let s=e.get("selected");s<0&&(s=0);let u=Math.floor(s/i),f=s%i;if(o.key==="ArrowLeft")f=Math.max(0,f-1);else if(o.key==="ArrowRight")f=Math.min(i-1,f+1);else if(o.key==="ArrowUp")u=Math.max(0,u-1);else if(o.key==="ArrowDown")u=Math.min(a-1,u+1);else if(o.key!=="Enter"&&o.key!==" ")return;o.preventDefault(),$(u*i+f)};n.addEventListener("keydown",D);let z=["change:scores","change:n_layers","change:n_heads","change:ground_truth","change:label","change:scale","change:message","change:show_values"];return z.forEach(o=>e.on(o,k)),e.on("change:selected",A),k(),()=>{z.forEach(o=>e.off(o,k)),e.off("change:selected",A),r.remove()}}function W({model:e,el:t}){return U(e,t)}var re={render:W};export{re as default,ne as headName,U as renderHeadGrid};

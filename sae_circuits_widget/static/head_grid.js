var I=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
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
`;function X(e){if(e instanceof ArrayBuffer)return{buf:e,off:0,len:e.byteLength};let t=e;return{buf:t.buffer,off:t.byteOffset,len:t.byteLength}}function z(e){if(e==null)return new Float32Array(0);if(Array.isArray(e))return Float32Array.from(e);let{buf:t,off:r,len:c}=X(e),n=Math.floor(c/4),d=new DataView(t,r,c),p=new Float32Array(n);for(let h=0;h<n;h++)p[h]=d.getFloat32(h*4,!0);return p}var Y={viridis:[[68,1,84],[72,40,120],[62,74,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[181,222,43],[253,231,37]],cividis:[[0,34,78],[18,53,112],[59,73,108],[87,93,109],[112,113,115],[138,134,120],[165,156,116],[194,179,105],[225,204,85],[254,232,56]]};function D(e,t="viridis"){if(!Number.isFinite(e))return[190,190,190];let r=Y[t],c=Math.min(1,Math.max(0,e))*(r.length-1),n=Math.min(r.length-2,Math.floor(c)),d=c-n,p=r[n],h=r[n+1];return[0,1,2].map(m=>Math.round(p[m]+(h[m]-p[m])*d))}function S(e,t="viridis"){let[r,c,n]=D(e,t);return`rgb(${r}, ${c}, ${n})`}function V(e,t="viridis"){let[r,c,n]=D(e,t);return .2126*r+.7152*c+.0722*n>140?"#000":"#fff"}function R(e){let t=1/0,r=-1/0;for(let c=0;c<e.length;c++){let n=e[c];Number.isFinite(n)&&(n<t&&(t=n),n>r&&(r=n))}return t===1/0?[0,1]:r-t<1e-12?[t-.5,r+.5]:[t,r]}function y(e){if(!Number.isFinite(e))return"\u2013";if(e===0)return"0";let t=Math.abs(e);return t>=100||t<.01?e.toExponential(1):e.toPrecision(2)}function i(e,t,r,c){let n=document.createElement(e);if(t&&(n.className=t),r)for(let[d,p]of Object.entries(r))p===void 0||p===!1||n.setAttribute(d,p===!0?"":String(p));if(typeof c=="string")n.textContent=c;else if(c)for(let d of c)n.append(typeof d=="string"?document.createTextNode(d):d);return n}function N(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function K(e,t){let r=document.createElement("style");r.textContent=t,e.append(r)}function P(e,t,r){return!(t>1)||!Number.isFinite(e)?"":`in the top ${r} of ${Math.round(e*t)}/${t} SAEs`}function le(e,t){return`L${Math.floor(e/t)}.H${e%t}`}function Z(e,t){let r=i("div","scw scw-headgrid");K(r,I),t.append(r);let c=i("div","scw-grid-wrap"),n=i("div","scw-grid",{role:"grid",tabindex:0,"aria-label":"attention heads by layer"}),d=i("div","scw-tooltip");d.style.display="none";let p=i("div","scw-legend"),h=i("div","scw-muted scw-grid-message");c.append(n,d),r.append(c,p,h);let m=[],A=new Float32Array(0),v=new Float32Array(0),k=()=>[e.get("n_layers")||0,e.get("n_heads")||0];function T(o){let[s,l]=k();o<0||o>=s*l||(e.set("selected",o),e.save_changes(),$())}function $(){let o=e.get("selected");m.forEach((s,l)=>{let a=l===o;s.classList.toggle("scw-selected",a),s.setAttribute("aria-selected",a?"true":"false")})}function G(){let[o,s]=k();N(n),m=[],n.style.gridTemplateColumns=`auto repeat(${s}, 38px)`;let l=i("div","scw-grid-row",{role:"row"},[i("div","scw-grid-head",{role:"columnheader"},"")]);for(let a=0;a<s;a++)l.append(i("div","scw-grid-head",{role:"columnheader"},`H${a}`));n.append(l);for(let a=0;a<o;a++){let f=i("div","scw-grid-row",{role:"row"},[i("div","scw-grid-rowhead",{role:"rowheader"},`L${a}`)]);for(let u=0;u<s;u++){let g=a*s+u,b=i("div","scw-cell",{role:"gridcell","data-index":g,"data-layer":a,"data-head":u});b.addEventListener("click",()=>{T(g),n.focus()}),b.addEventListener("mouseenter",()=>O(g,b)),b.addEventListener("mouseleave",()=>d.style.display="none"),m.push(b),f.append(b)}n.append(f)}}function O(o,s){let[,l]=k(),a=new Set(e.get("ground_truth")||[]),f=P(v[o],e.get("n_saes")||0,e.get("top_k")||0);d.textContent=`${Math.floor(o/l)}.${o%l}: ${y(A[o])}${a.has(o)?" (known circuit)":""}${f?`; ${f}`:""}`,d.style.display="block",d.style.left=`${s.offsetLeft+s.offsetWidth+4}px`,d.style.top=`${s.offsetTop}px`}function _(){let[o,s]=k();m.length!==o*s&&G(),A=z(e.get("scores"));let l=e.get("n_saes")||0,a=e.get("top_k")||0;v=z(e.get("stability")||new DataView(new ArrayBuffer(0)));let f=l>1&&v.length===o*s,u=e.get("scale")||"viridis",g=A.length===o*s,[b,C]=R(g?A:[]),E=new Set(e.get("ground_truth")||[]),W=e.get("show_values")!==!1;m.forEach((x,w)=>{let M=g?A[w]:NaN,H=(M-b)/(C-b);x.style.background=S(H,u),x.style.color=V(H,u),x.textContent=W&&g?y(M):"",x.dataset.value=g?String(M):"",x.classList.toggle("scw-gt",E.has(w));let L=f?P(v[w],l,a):"";if(f){let j=i("span","scw-stab");j.style.width=`${Math.round(Math.max(0,Math.min(1,v[w]))*100)}%`,x.append(j),x.dataset.stability=String(v[w])}else delete x.dataset.stability;let J=`layer ${Math.floor(w/s)} head ${w%s}: ${g?y(M):"no score"}${E.has(w)?", in the known circuit":""}${L?`, ${L}`:""}`;x.setAttribute("aria-label",J),x.title=`${Math.floor(w/s)}.${w%s} = ${g?y(M):"no score"}${L?`
${L}`:""}`}),N(p);let F=i("div","scw-legend-bar"),q=Array.from({length:11},(x,w)=>S(w/10,u)).join(", ");F.style.background=`linear-gradient(to right, ${q})`,p.append(i("span","scw-legend-lo",{},g?y(b):""),F,i("span","scw-legend-hi",{},g?y(C):""),i("span","scw-muted",{},e.get("label")||"score")),E.size&&p.append(i("span","",{},[i("span","scw-legend-swatch scw-gt"),"known circuit"])),p.append(i("span","",{},[i("span","scw-legend-swatch scw-selected"),"selected"])),f&&p.append(i("span","scw-legend-stab",{},[i("span","scw-legend-swatch scw-stab-swatch"),`bar: share of the ${l} SAEs with the head in their top ${a}`])),h.textContent=e.get("message")||(g?"":"No scores yet."),$()}let U=o=>{let[s,l]=k();if(!s||!l)return;let a=e.get("selected");a<0&&(a=0);let f=Math.floor(a/l),u=a%l;if(o.key==="ArrowLeft")u=Math.max(0,u-1);else if(o.key==="ArrowRight")u=Math.min(l-1,u+1);else if(o.key==="ArrowUp")f=Math.max(0,f-1);else if(o.key==="ArrowDown")f=Math.min(s-1,f+1);else if(o.key!=="Enter"&&o.key!==" ")return;o.preventDefault(),T(f*l+u)};n.addEventListener("keydown",U);let B=["change:scores","change:n_layers","change:n_heads","change:ground_truth","change:label","change:scale","change:message","change:show_values","change:stability","change:n_saes","change:top_k"];return B.forEach(o=>e.on(o,_)),e.on("change:selected",$),_(),()=>{B.forEach(o=>e.off(o,_)),e.off("change:selected",$),r.remove()}}function ee({model:e,el:t}){return Z(e,t)}var de={render:ee};export{de as default,le as headName,Z as renderHeadGrid,P as stabilityText};

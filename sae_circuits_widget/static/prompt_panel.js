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
`;function s(t,d,i,r){let c=document.createElement(t);if(d&&(c.className=d),i)for(let[l,x]of Object.entries(i))x===void 0||x===!1||c.setAttribute(l,x===!0?"":String(x));if(typeof r=="string")c.textContent=r;else if(r)for(let l of r)c.append(typeof l=="string"?document.createTextNode(l):l);return c}function L(t){for(;t.firstChild;)t.removeChild(t.firstChild)}function S(t,d){let i=document.createElement("style");i.textContent=d,t.append(i)}function N(t,d){let i,r,c=()=>{if(i=void 0,r){let x=r;r=void 0,t(...x)}},l=(...x)=>{r=x,i!==void 0&&clearTimeout(i),i=setTimeout(c,d)};return l.flush=()=>{i!==void 0&&clearTimeout(i),c()},l.cancel=()=>{i!==void 0&&clearTimeout(i),i=void 0,r=void 0},l}function q(t){let d=[],i=[];for(let r of t.split(/\r?\n/)){if(!r.trim())continue;let c=r.includes("	")?r.split("	"):r.split(" | ");c.length===2&&c[0].trim()&&c[1].trim()?d.push([c[0].trim(),c[1].trim()]):i.push(r)}return{pairs:d,bad:i}}function K(t,d){let i=s("div","scw scw-panel");S(i,I),d.append(i);let r=s("div","scw-error",{role:"alert"});r.style.display="none";let c=s("div","scw-col-heads",{},[s("span"),s("span","",{},"positive"),s("span","",{},"negative"),s("span")]),l=s("div","scw-rows"),x=s("button","scw-add",{type:"button",title:"add an empty pair"},"+ pair"),E=s("button","scw-more",{type:"button",title:"draw new pairs from the task generator"},"more like these"),_=s("button","scw-paste-toggle",{type:"button",title:"paste many pairs at once"},"paste lines\u2026"),$=s("div","scw-toolbar",{},[x,E,_]),M=s("textarea","scw-paste",{placeholder:"one pair per line: positive | negative  (or a tab between them)","aria-label":"paste pairs"}),j=s("button","scw-paste-add",{type:"button"},"add these pairs"),C=s("div","scw-issue scw-paste-message"),v=s("div","scw-paste-box",{},[M,j,C]);v.style.display="none",i.append(r,c,l,$,v);let g=[...t.get("positives")||[]],f=[...t.get("negatives")||[]],w=[],T=!1,P=()=>{T=!0;try{t.set("positives",[...g]),t.set("negatives",[...f])}finally{T=!1}t.save_changes()},m=N(P,t.get("debounce_ms")??250),y=()=>{m.cancel(),P()};function B(n,e){let p=s("div",`scw-prompt scw-${n}`),o=s("input","scw-input",{type:"text","aria-label":`${n} prompt ${e+1}`,spellcheck:"false"});return o.value=(n==="positive"?g:f)[e]??"",e>=(n==="positive"?g:f).length&&(o.placeholder="(none)"),o.addEventListener("input",()=>{let a=n==="positive"?g:f;for(;a.length<e;)a.push("");a[e]=o.value,m()}),o.addEventListener("change",()=>m.flush()),p.append(o,s("div","scw-tokens"),s("div","scw-issue")),{box:p,input:o}}function b(){L(l),w.length=0;let n=Math.max(g.length,f.length);for(let e=0;e<n;e++){let p=B("positive",e),o=B("negative",e),a=s("button","scw-dup",{type:"button",title:"duplicate this pair","aria-label":`duplicate pair ${e+1}`},"dup"),u=s("button","scw-del",{type:"button",title:"remove this pair","aria-label":`remove pair ${e+1}`},"\u2715");a.addEventListener("click",()=>{g.splice(e+1,0,g[e]??""),f.splice(e+1,0,f[e]??""),b(),y()}),u.addEventListener("click",()=>{g.splice(e,1),f.splice(e,1),b(),y()});let h=s("div","scw-row",{"data-row":e},[s("span","scw-row-index",{},String(e+1)),p.box,o.box,s("div","scw-row-actions",{},[a,u])]);l.append(h),w.push({pos:p.input,neg:o.input,posBox:p.box,negBox:o.box})}z()}function H(n,e,p){let o=n.querySelector(".scw-tokens"),a=n.querySelector(".scw-issue");L(o);for(let u of e||[])o.append(s("span",u.u?"scw-token scw-unknown":"scw-token",u.u?{title:"the model's tokenizer does not know this word"}:{},u.t));a.textContent=p||"",n.classList.toggle("scw-invalid",!!p)}function z(){let n=t.get("positive_tokens")||[],e=t.get("negative_tokens")||[],p=t.get("positive_issues")||[],o=t.get("negative_issues")||[];w.forEach((u,h)=>{H(u.posBox,n[h],p[h]),H(u.negBox,e[h],o[h])});let a=t.get("error")||"";r.textContent=a,r.style.display=a?"block":"none",E.disabled=!t.get("can_generate")}function k(){if(T)return;let n=t.get("positives")||[],e=t.get("negatives")||[];if(n.length!==e.length)return;let p=document.activeElement;n.length===w.length&&e.length===w.length?(w.forEach((o,a)=>{o.pos!==p&&o.pos.value!==n[a]&&(o.pos.value=n[a]),o.neg!==p&&o.neg.value!==e[a]&&(o.neg.value=e[a]),o.pos!==p&&(g[a]=n[a]),o.neg!==p&&(f[a]=e[a])}),g.length=n.length,f.length=e.length):(g=[...n],f=[...e],b())}x.addEventListener("click",()=>{g.push(""),f.push(""),b(),y(),w[w.length-1]?.pos.focus()}),E.addEventListener("click",()=>{m.flush(),t.send({kind:"more",n:4})}),_.addEventListener("click",()=>{v.style.display=v.style.display==="none"?"block":"none"}),j.addEventListener("click",()=>{let{pairs:n,bad:e}=q(M.value);for(let[p,o]of n)g.push(p),f.push(o);M.value=e.join(`
`),C.textContent=e.length?`${e.length} line(s) not added: write "positive | negative" or put a tab between them.`:"",n.length&&(b(),y())});let A=["change:positive_tokens","change:negative_tokens","change:positive_issues","change:negative_issues","change:error","change:can_generate"];return A.forEach(n=>t.on(n,z)),t.on("change:positives",k),t.on("change:negatives",k),b(),()=>{m.flush(),A.forEach(n=>t.off(n,z)),t.off("change:positives",k),t.off("change:negatives",k),i.remove()}}function O({model:t,el:d}){return K(t,d)}var J={render:O};export{J as default,q as parsePairs,K as renderPromptPanel};

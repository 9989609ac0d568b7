var I=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
.scw { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 13px; color: #1b1b1b; line-height: 1.35; }
.scw * { box-sizing: border-box; }
.scw button { font: inherit; padding: 2px 8px; border: 1px solid #888; border-radius: 4px; background: #f6f6f6; cursor: pointer; }
.scw button:hover { background: #e8e8e8; }
.scw button:focus-visible, .scw input:focus-visible, .scw select:focus-visible, .scw textarea:focus-visible { outline: 2px solid #0057b8; outline-offset: 1px; }
.scw-title { font-weight: 600; margin: 4px 0; }
.scw-muted { color: #555; }
.scw-error { color: #a00000; background: #fff0f0; border-left: 3px solid #a00000; padding: 4px 8px; margin: 4px 0; white-space: pre-wrap; }
.scw-warning { color: #6b4e00; background: #fff8e0; border-left: 3px solid #b58900; padding: 4px 8px; margin: 4px 0; white-space: pre-wrap; }

/* HeadGrid */
.scw-grid-wrap { display: inline-block; position: relative; }
.scw-grid { display: grid; gap: 2px; outline: none; padding: 3px; }
.scw-grid:focus-visible { outline: 2px solid #0057b8; }
.scw-grid-head { font-size: 11px; color: #444; text-align: center; align-self: end; }
.scw-grid-rowhead { font-size: 11px; color: #444; text-align: right; padding-right: 4px; align-self: center; }
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
.scw-panel { display: flex; flex-direction: column; gap: 4px; min-width: 420px; }
.scw-rows { display: flex; flex-direction: column; gap: 6px; }
.scw-row { display: grid; grid-template-columns: 24px 1fr 1fr auto; gap: 6px; align-items: start; }
.scw-row-index { font-size: 11px; color: #555; padding-top: 4px; text-align: right; }
.scw-prompt { display: flex; flex-direction: column; gap: 2px; }
.scw-prompt input { width: 100%; font: inherit; padding: 3px 5px; border: 1px solid #999; border-radius: 3px; }
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
.scw-code-row.scw-active { background: #e6eefc; }
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
.scw-settings { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; padding: 4px 6px; background: #f4f4f4; border-radius: 4px; }
.scw-settings label { display: flex; gap: 4px; align-items: center; font-size: 12px; }
.scw-settings input[type=number] { width: 70px; }
.scw-status { font-size: 12px; }
.scw-status.scw-busy::before { content: "\u27F3 "; }
.scw-main { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.scw-section { border: 1px solid #ddd; border-radius: 4px; padding: 6px 8px; }
`;function n(e,d,i,p){let r=document.createElement(e);if(d&&(r.className=d),i)for(let[l,u]of Object.entries(i))u===void 0||u===!1||r.setAttribute(l,u===!0?"":String(u));if(typeof p=="string")r.textContent=p;else if(p)for(let l of p)r.append(typeof l=="string"?document.createTextNode(l):l);return r}function L(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function S(e,d){let i=document.createElement("style");i.textContent=d,e.append(i)}function N(e,d){let i,p,r=()=>{if(i=void 0,p){let u=p;p=void 0,e(...u)}},l=(...u)=>{p=u,i!==void 0&&clearTimeout(i),i=setTimeout(r,d)};return l.flush=()=>{i!==void 0&&clearTimeout(i),r()},l.cancel=()=>{i!==void 0&&clearTimeout(i),i=void 0,p=void 0},l}function j(e){let d=[],i=[];for(let p of e.split(/\r?\n/)){if(!p.trim())continue;let r=p.includes("	")?p.split("	"):p.split(" | ");r.length===2&&r[0].trim()&&r[1].trim()?d.push([r[0].trim(),r[1].trim()]):i.push(p)}return{pairs:d,bad:i}}function q(e,d){let i=n("div","scw scw-panel");S(i,I),d.append(i);let p=n("div","scw-error",{role:"alert"});p.style.display="none";let r=n("div","scw-col-heads",{},[n("span"),n("span","",{},"positive"),n("span","",{},"negative"),n("span")]),l=n("div","scw-rows"),u=n("button","scw-add",{type:"button",title:"add an empty pair"},"+ pair"),E=n("button","scw-more",{type:"button",title:"draw new pairs from the task generator"},"more like these"),z=n("button","scw-paste-toggle",{type:"button",title:"paste many pairs at once"},"paste lines\u2026"),$=n("div","scw-toolbar",{},[u,E,z]),M=n("textarea","scw-paste",{placeholder:"one pair per line: positive | negative  (or a tab between them)","aria-label":"paste pairs"}),_=n("button","scw-paste-add",{type:"button"},"add these pairs"),C=n("div","scw-issue scw-paste-message"),v=n("div","scw-paste-box",{},[M,_,C]);v.style.display="none",i.append(p,r,l,$,v);let g=[...e.get("positives")||[]],f=[...e.get("negatives")||[]],w=[],P=()=>{e.set("positives",[...g]),e.set("negatives",[...f]),e.save_changes()},m=N(P,e.get("debounce_ms")??250),y=()=>{m.cancel(),P()};function B(s,t){let a=n("div",`scw-prompt scw-${s}`),o=n("input","scw-input",{type:"text","aria-label":`${s} prompt ${t+1}`,spellcheck:"false"});return o.value=(s==="positive"?g:f)[t]??"",o.addEventListener("input",()=>{(s==="positive"?g:f)[t]=o.value,m()}),o.addEventListener("change",()=>m.flush()),a.append(o,n("div","scw-tokens"),n("div","scw-issue")),{box:a,input:o}}function b(){L(l),w.length=0;let s=Math.max(g.length,f.length);for(let t=0;t<s;t++){let a=B("positive",t),o=B("negative",t),c=n("button","scw-dup",{type:"button",title:"duplicate this pair","aria-label":`duplicate pair ${t+1}`},"\u29C9"),x=n("button","scw-del",{type:"button",title:"remove this pair","aria-label":`remove pair ${t+1}`},"\u2715");c.addEventListener("click",()=>{g.splice(t+1,0,g[t]??""),f.splice(t+1,0,f[t]??""),b(),y()}),x.addEventListener("click",()=>{g.splice(t,1),f.splice(t,1),b(),y()});let h=n("div","scw-row",{"data-row":t},[n("span","scw-row-index",{},String(t+1)),a.box,o.box,n("div","scw-row-actions",{},[c,x])]);l.append(h),w.push({pos:a.input,neg:o.input,posBox:a.box,negBox:o.box})}T()}function H(s,t,a){let o=s.querySelector(".scw-tokens"),c=s.querySelector(".scw-issue");L(o);for(let x of t||[])o.append(n("span",x.u?"scw-token scw-unknown":"scw-token",x.u?{title:"the model's tokenizer does not know this word"}:{},x.t));c.textContent=a||"",s.classList.toggle("scw-invalid",!!a)}function T(){let s=e.get("positive_tokens")||[],t=e.get("negative_tokens")||[],a=e.get("positive_issues")||[],o=e.get("negative_issues")||[];w.forEach((x,h)=>{H(x.posBox,s[h],a[h]),H(x.negBox,t[h],o[h])});let c=e.get("error")||"";p.textContent=c,p.style.display=c?"block":"none",E.disabled=!e.get("can_generate")}function k(){let s=e.get("positives")||[],t=e.get("negatives")||[],a=document.activeElement;s.length===w.length&&t.length===w.length?(w.forEach((o,c)=>{o.pos!==a&&o.pos.value!==s[c]&&(o.pos.value=s[c]),o.neg!==a&&o.neg.value!==t[c]&&(o.neg.value=t[c]),o.pos!==a&&(g[c]=s[c]),o.neg!==a&&(f[c]=t[c])}),g.length=s.length,f.length=t.length):(g=[...s],f=[...t],b())}u.addEventListener("click",()=>{g.push(""),f.push(""),b(),y(),w[w.length-1]?.pos.focus()}),E.addEventListener("click",()=>{m.flush(),e.send({kind:"more",n:4})}),z.addEventListener("click",()=>{v.style.display=v.style.display==="none"?"block":"none"}),_.addEventListener("click",()=>{let{pairs:s,bad:t}=j(M.value);for(let[a,o]of s)g.push(a),f.push(o);M.value=t.join(`
`),C.textContent=t.length?`${t.length} line(s) not added: write "positive | negative" or put a tab between them.`:"",s.length&&(b(),y())});let A=["change:positive_tokens","change:negative_tokens","change:positive_issues","change:negative_issues","change:error","change:can_generate"];return A.forEach(s=>e.on(s,T)),e.on("change:positives",k),e.on("change:negatives",k),b(),()=>{m.flush(),A.forEach(s=>e.off(s,T)),e.off("change:positives",k),e.off("change:negatives",k),i.remove()}}function K({model:e,el:d}){return q(e,d)}var F={render:K};export{F as default,j as parsePairs,q as renderPromptPanel};

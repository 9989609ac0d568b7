var D=`/* Shared styles of the sae_circuits_widget front end; every class starts with scw-. */
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
`;function o(e,a,l,c){let d=document.createElement(e);if(a&&(d.className=a),l)for(let[w,x]of Object.entries(l))x===void 0||x===!1||d.setAttribute(w,x===!0?"":String(x));if(typeof c=="string")d.textContent=c;else if(c)for(let w of c)d.append(typeof w=="string"?document.createTextNode(w):w);return d}function H(e){for(;e.firstChild;)e.removeChild(e.firstChild)}function Q(e,a){let l=document.createElement("style");l.textContent=a,e.append(l)}function V(e,a){let l,c,d=()=>{if(l=void 0,c){let x=c;c=void 0,e(...x)}},w=(...x)=>{c=x,l!==void 0&&clearTimeout(l),l=setTimeout(d,a)};return w.flush=()=>{l!==void 0&&clearTimeout(l),d()},w.cancel=()=>{l!==void 0&&clearTimeout(l),l=void 0,c=void 0},w}function Y(e,a,l){if(!a||a.prompt===void 0)return{mark:"",kind:"none",detail:"",title:""};if(a.prompt!==l)return{mark:"\u2026",kind:"pending",detail:"model check pending",title:"the model's behaviour on this text is being computed"};let c=[];a.top_token!==void 0&&c.push(`top ${JSON.stringify(a.top_token)}`),a.p_answer!==null&&a.p_answer!==void 0&&c.push(`p(answer) ${a.p_answer.toFixed(2)}`),a.logit_diff!==void 0&&Number.isFinite(a.logit_diff)&&c.push(`\u0394logit ${a.logit_diff>=0?"+":""}${a.logit_diff.toFixed(2)}`);let d=c.join(" \xB7 ");return a.solved===null||a.solved===void 0?{mark:"?",kind:"plain",detail:d,title:"no answer given: top-1 token and its margin over the runner-up"}:e==="positive"?a.solved?{mark:"\u2713 solved",kind:"ok",detail:d,title:"the model solves this positive"}:{mark:"\u2717 fails",kind:"flag",detail:d,title:"the model fails this positive: a circuit for a behaviour it does not have is noise"}:a.solved?{mark:"\u26A0 still solved",kind:"flag",detail:d,title:"the model still solves this negative: it does not remove what the task needs"}:{mark:"\u2713 not solved",kind:"ok",detail:d,title:"as intended, the model does not solve this negative"}}function Z(e){let a=[],l=[];for(let c of e.split(/\r?\n/)){if(!c.trim())continue;let d=c.includes("	")?c.split("	"):c.split(" | ");d.length===2&&d[0].trim()&&d[1].trim()?a.push([d[0].trim(),d[1].trim()]):l.push(c)}return{pairs:a,bad:l}}function $(e){e.style.height="auto",e.scrollHeight>0&&(e.style.height=`${e.scrollHeight+2}px`)}function ee(e,a){let l=o("div","scw scw-panel");Q(l,D),a.append(l);let c=o("div","scw-error",{role:"alert"});c.style.display="none";let d=o("div","scw-col-heads",{},[o("span"),o("span","",{},"positive"),o("span","",{},"negative"),o("span")]),w=o("div","scw-rows"),x=o("button","scw-add",{type:"button",title:"add an empty pair"},"+ pair"),A=o("button","scw-more",{type:"button",title:"draw new pairs from the task generator"},"more like these"),S=o("button","scw-paste-toggle",{type:"button",title:"paste many pairs at once"},"paste lines\u2026"),L=o("button","scw-tokens-toggle",{type:"button",title:"show how the tokenizer splits every prompt","aria-pressed":"false"},"tokens"),W=o("div","scw-toolbar",{},[x,A,S,L]),P=o("textarea","scw-paste",{placeholder:"one pair per line: positive | negative  (or a tab between them)","aria-label":"paste pairs"}),q=o("button","scw-paste-add",{type:"button"},"add these pairs"),I=o("div","scw-issue scw-paste-message"),M=o("div","scw-paste-box",{},[P,q,I]);M.style.display="none",l.append(c,d,w,W,M);let g=[...e.get("positives")||[]],u=[...e.get("negatives")||[]],f=[...e.get("answers")||[]],h=[],y=-1,C=!1,N=()=>{C=!0;try{e.set("positives",[...g]),e.set("negatives",[...u]),e.set("answers",g.map((n,t)=>f[t]??""))}finally{C=!1}e.save_changes()},v=V(N,e.get("debounce_ms")??250),T=()=>{v.cancel(),N()};function R(n,t){let p=o("div",`scw-prompt scw-${n}`),i=o("textarea","scw-input",{rows:1,"aria-label":`${n} prompt ${t+1}`,spellcheck:"false"});i.value=(n==="positive"?g:u)[t]??"",t>=(n==="positive"?g:u).length&&(i.placeholder="(none)"),i.addEventListener("input",()=>{let s=n==="positive"?g:u;for(;s.length<t;)s.push("");s[t]=i.value,$(i),z(),v()}),i.addEventListener("change",()=>v.flush()),i.addEventListener("focus",()=>{y!==t&&(y=t,B())}),p.append(i);let r;if(n==="positive"){r=o("input","scw-answer-input",{type:"text",placeholder:"(none)",spellcheck:"false","aria-label":`answer of positive ${t+1}`,title:'the next token the model should predict, e.g. " Mary" (with its leading space)'}),r.value=f[t]??"";let s=r;s.addEventListener("input",()=>{for(;f.length<t;)f.push("");f[t]=s.value,v()}),s.addEventListener("change",()=>v.flush()),p.append(o("label","scw-answer",{},["answer ",s]),o("div","scw-answer-issue"))}return p.append(o("div","scw-behaviour"),o("div","scw-tokens"),o("div","scw-issue")),{box:p,input:i,answer:r}}function _(){H(w),h.length=0;let n=Math.max(g.length,u.length);y>=n&&(y=-1);for(let t=0;t<n;t++){let p=R("positive",t),i=R("negative",t),r=o("button","scw-dup",{type:"button",title:"duplicate this pair","aria-label":`duplicate pair ${t+1}`},"dup"),s=o("button","scw-del",{type:"button",title:"remove this pair","aria-label":`remove pair ${t+1}`},"\u2715");r.addEventListener("click",()=>{g.splice(t+1,0,g[t]??""),u.splice(t+1,0,u[t]??""),f.splice(t+1,0,f[t]??""),_(),T()}),s.addEventListener("click",()=>{g.splice(t,1),u.splice(t,1),f.splice(t,1),_(),T()});let k=o("div","scw-row",{"data-row":t},[o("span","scw-row-index",{},String(t+1)),p.box,i.box,o("div","scw-row-actions",{},[r,s])]);w.append(k),h.push({pos:p.input,neg:i.input,answer:p.answer,posBox:p.box,negBox:i.box})}B(),j()}let j=()=>h.forEach(n=>($(n.pos),$(n.neg))),O=typeof ResizeObserver>"u"?void 0:new ResizeObserver(()=>j());O?.observe(w);function F(n,t,p,i){let r=n.querySelector(".scw-tokens"),s=n.querySelector(".scw-issue");H(r);let k=i||!!p;if(r.style.display=k?"":"none",k)for(let b of t||[])r.append(o("span",b.u?"scw-token scw-unknown":"scw-token",b.u?{title:"the model's tokenizer does not know this word"}:{},b.t));s.textContent=p||"",n.classList.toggle("scw-invalid",!!p)}function K(n,t,p,i){let r=n.querySelector(".scw-behaviour");H(r);let s=Y(t,p,i);r.dataset.kind=s.kind,n.classList.toggle("scw-flagged",s.kind==="flag"),s.kind!=="none"&&(r.title=s.title,r.append(o("span",`scw-mark scw-mark-${s.kind}`,{},s.mark)),s.detail&&r.append(o("span","scw-muted",{},` ${s.detail}`)))}function z(){let n=e.get("positive_behaviour")||[],t=e.get("negative_behaviour")||[];h.forEach((p,i)=>{K(p.posBox,"positive",n[i],g[i]??""),K(p.negBox,"negative",t[i],u[i]??"")})}function B(){let n=e.get("positive_tokens")||[],t=e.get("negative_tokens")||[],p=e.get("positive_issues")||[],i=e.get("negative_issues")||[],r=e.get("answer_issues")||[],s=e.get("show_tokens")===!0;h.forEach((b,m)=>{F(b.posBox,n[m],p[m],s||m===y),F(b.negBox,t[m],i[m],s||m===y);let U=r[m]||"";b.posBox.querySelector(".scw-answer-issue").textContent=U,b.answer.classList.toggle("scw-invalid",U!==""&&(f[m]??"")!=="")}),L.setAttribute("aria-pressed",s?"true":"false"),L.classList.toggle("scw-on",s);let k=e.get("error")||"";c.textContent=k,c.style.display=k?"block":"none",A.disabled=!e.get("can_generate"),z()}function E(){if(C)return;let n=e.get("positives")||[],t=e.get("negatives")||[];if(n.length!==t.length)return;let p=e.get("answers")||[],i=document.activeElement;n.length===h.length&&t.length===h.length?(h.forEach((r,s)=>{r.pos!==i&&r.pos.value!==n[s]&&(r.pos.value=n[s]),r.neg!==i&&r.neg.value!==t[s]&&(r.neg.value=t[s]),r.answer!==i&&r.answer.value!==(p[s]??"")&&(r.answer.value=p[s]??""),r.pos!==i&&(g[s]=n[s]),r.neg!==i&&(u[s]=t[s]),r.answer!==i&&(f[s]=p[s]??"")}),g.length=n.length,u.length=t.length,f.length=n.length,j(),z()):(g=[...n],u=[...t],f=n.map((r,s)=>p[s]??""),_())}x.addEventListener("click",()=>{f.length=g.length,g.push(""),u.push(""),f.push(""),_(),T(),h[h.length-1]?.pos.focus()}),A.addEventListener("click",()=>{v.flush(),e.send({kind:"more",n:4})}),S.addEventListener("click",()=>{M.style.display=M.style.display==="none"?"block":"none"}),L.addEventListener("click",()=>{e.set("show_tokens",!e.get("show_tokens")),e.save_changes()}),q.addEventListener("click",()=>{let{pairs:n,bad:t}=Z(P.value);f.length=g.length;for(let[p,i]of n)g.push(p),u.push(i),f.push("");P.value=t.join(`
`),I.textContent=t.length?`${t.length} line(s) not added: write "positive | negative" or put a tab between them.`:"",n.length&&(_(),T())});let G=["change:positive_tokens","change:negative_tokens","change:positive_issues","change:negative_issues","change:error","change:can_generate","change:show_tokens","change:answer_issues"],J=["change:positive_behaviour","change:negative_behaviour"];return G.forEach(n=>e.on(n,B)),J.forEach(n=>e.on(n,z)),e.on("change:positives",E),e.on("change:negatives",E),e.on("change:answers",E),_(),typeof requestAnimationFrame=="function"&&requestAnimationFrame(j),()=>{v.flush(),O?.disconnect(),G.forEach(n=>e.off(n,B)),J.forEach(n=>e.off(n,z)),e.off("change:positives",E),e.off("change:negatives",E),e.off("change:answers",E),l.remove()}}function te({model:e,el:a}){return ee(e,a)}var re={render:te};export{Y as behaviourMark,re as default,$ as fitHeight,Z as parsePairs,ee as renderPromptPanel};

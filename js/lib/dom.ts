/**
 * Small DOM helpers. Every piece of user text goes through `textContent`, never
 * `innerHTML`, so a prompt such as `<script>alert(1)</script>` shows as those characters.
 */

export type Attrs = Record<string, string | number | boolean | undefined>;

/** Create an element with a class, attributes and text or child nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  attrs?: Attrs,
  children?: (Node | string)[] | string,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue;
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  if (typeof children === "string") {
    el.textContent = children;
  } else if (children) {
    for (const c of children) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** Remove every child of `el`. */
export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Put the shared stylesheet into `el` once (the widgets carry their own CSS). */
export function addStyle(el: HTMLElement, css: string): void {
  const style = document.createElement("style");
  style.textContent = css;
  el.append(style);
}

/** Call `fn` after `ms` without another call; `.flush()` runs a pending call now. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: A | undefined;
  const run = () => {
    timer = undefined;
    if (pending) {
      const args = pending;
      pending = undefined;
      fn(...args);
    }
  };
  const wrapped = (...args: A) => {
    pending = args;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
  wrapped.flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    run();
  };
  wrapped.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    pending = undefined;
  };
  return wrapped;
}

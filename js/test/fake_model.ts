/** A stand-in for the widget model (get/set/on/off/save_changes/send) used by the unit tests. */
import type { AnyModel } from "@anywidget/types";

type Handler = (...args: unknown[]) => void;

export class FakeModel<T extends Record<string, any>> {
  state: T;
  saved: Partial<T>[] = [];
  sent: unknown[] = [];
  handlers = new Map<string, Set<Handler>>();
  models = new Map<string, unknown>();
  widget_manager = { get_model: async (id: string) => this.models.get(id) as any };

  constructor(state: T) {
    this.state = { ...state };
  }
  get<K extends keyof T>(k: K): T[K] {
    return this.state[k];
  }
  set<K extends keyof T>(k: K, v: T[K]): void {
    this.state[k] = v;
    this.emit(`change:${String(k)}`);
  }
  on(ev: string, fn: Handler): void {
    if (!this.handlers.has(ev)) this.handlers.set(ev, new Set());
    this.handlers.get(ev)!.add(fn);
  }
  off(ev?: string | null, fn?: Handler | null): void {
    if (ev && fn) this.handlers.get(ev)?.delete(fn);
  }
  emit(ev: string, ...args: unknown[]): void {
    this.handlers.get(ev)?.forEach((fn) => fn(...args));
  }
  save_changes(): void {
    this.saved.push({ ...this.state });
  }
  send(content: unknown): void {
    this.sent.push(content);
  }
  /** Simulate Python changing a trait. */
  pySet<K extends keyof T>(k: K, v: T[K]): void {
    this.set(k, v);
  }
  asModel(): AnyModel<T> {
    return this as unknown as AnyModel<T>;
  }
}

export function f32(values: number[]): DataView {
  const dv = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return dv;
}

export function i32(values: number[]): DataView {
  const dv = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => dv.setInt32(i * 4, v, true));
  return dv;
}

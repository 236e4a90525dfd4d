/** A small typed event emitter (the same code runs in browsers and Node.js, so no node:events). */

/** A listener of one event. */
export type Listener<T> = (value: T) => void;

/** Listeners by name; `emit` calls them in the order they were added. */
export class Emitter {
  private readonly listeners = new Map<string, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on(name: string, fn: Listener<never>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => this.off(name, fn);
  }

  /** Removes a listener. */
  off(name: string, fn: Listener<never>): void {
    this.listeners.get(name)?.delete(fn);
  }

  /** True when someone listens for `name`. */
  has(name: string): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  /**
   * Calls every listener of `name`. A listener that throws does not stop the others or the
   * stream: its error is rethrown on its own, outside this call, like an uncaught error.
   */
  emit(name: string, value: unknown): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<unknown>)(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Drops every listener. */
  clear(): void {
    this.listeners.clear();
  }
}

// Round-robin over a fixed endpoint list (a pure object; a new one is built when the list changes).

export class RoundRobin<T> {
  private next = 0;
  constructor(private readonly items: readonly T[]) {}
  pick(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    if (this.next >= n) this.next = 0;
    return this.items[this.next++];
  }
  get size(): number {
    return this.items.length;
  }
}

// Consistent hashing with Maglev (Eisenbud et al., NSDI 2016; weighted as in Envoy). Each endpoint gets a
// permutation of the table from two hashes of its key; endpoints take turns filling their next free preferred
// slot, a heavier endpoint taking proportionally more turns. A request's key (header, cookie or client address,
// extracted by the engine) hashes to a slot. Removing or adding one of n endpoints remaps about 1/n of keys.

import type { Balancer, BalancerEndpoint, PickContext } from "./types.ts";
import { uniqueByKey, weightOf } from "./types.ts";
import { xxhash32 } from "./xxhash32.ts";

/** The default table size, a prime; grown to the next prime >= 100 x endpoints when there are more than 655. */
export const DEFAULT_TABLE_SIZE = 65537;

export interface MaglevOptions {
  /** Table size; must be a prime. Default: the smallest prime >= max(65537, 100 x endpoints). */
  tableSize?: number;
}

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

/** The table slot a request key hashes to (seed distinct from the endpoint permutation seeds). */
const KEY_SEED = 0x6d61676c;

export class MaglevBalancer<E extends BalancerEndpoint> implements Balancer<E> {
  readonly kind = "hash" as const;
  private list: E[] = [];
  /** Endpoints sorted by key: the table is the same whatever order discovery lists them in. */
  private sorted: E[] = [];
  private table: Int32Array = new Int32Array(0);
  private signature = "";

  constructor(endpoints: readonly E[], private readonly random: () => number, private readonly opts: MaglevOptions = {}) {
    if (opts.tableSize !== undefined && !isPrime(opts.tableSize)) throw new RangeError(`maglev table size ${opts.tableSize} is not a prime`);
    this.update(endpoints);
  }

  /** Picks by `ctx.hashKey`; without a key, a random slot (still weighted). */
  pick(ctx?: PickContext): E | undefined {
    const m = this.table.length;
    if (m === 0) return undefined;
    const slot = ctx?.hashKey !== undefined ? xxhash32(ctx.hashKey, KEY_SEED) % m : Math.min(m - 1, Math.floor(this.random() * m));
    return this.sorted[this.table[slot]!];
  }

  onStart(): void {}
  onEnd(): void {}

  update(endpoints: readonly E[]): void {
    this.list = uniqueByKey(endpoints);
    this.sorted = [...this.list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const sig = this.sorted.map((e) => `${e.key}\u0000${weightOf(e)}`).join("\u0001");
    if (sig === this.signature && this.table.length > 0) return;
    this.signature = sig;
    this.table = this.build();
  }

  endpoints(): readonly E[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  get tableSize(): number {
    return this.table.length;
  }

  private build(): Int32Array {
    const n = this.sorted.length;
    if (n === 0) return new Int32Array(0);
    const m = this.opts.tableSize ?? nextPrime(Math.max(DEFAULT_TABLE_SIZE, 100 * n));
    const table = new Int32Array(m).fill(-1);
    const pos = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = this.sorted.map(weightOf);
    const maxW = Math.max(...weight);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const key = this.sorted[i]!.key;
      pos[i] = xxhash32(key, 0) % m;
      skip[i] = (xxhash32(key, 1) % (m - 1)) + 1;
    }
    let filled = 0;
    for (let iter = 1; filled < m; iter++) {
      for (let i = 0; i < n && filled < m; i++) {
        if (iter * weight[i]! < target[i]!) continue;
        target[i]! += maxW;
        let c = pos[i]!;
        while (table[c] !== -1) c = (c + skip[i]!) % m;
        table[c] = i;
        pos[i] = (c + skip[i]!) % m;
        filled++;
      }
    }
    return table;
  }
}

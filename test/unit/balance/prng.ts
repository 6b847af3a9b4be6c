// A seeded PRNG for deterministic balancer tests (mulberry32), uniform in [0, 1).
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Ep {
  key: string;
  weight?: number;
}

export const eps = (n: number, prefix = "10.0.0."): Ep[] => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i + 1}:80` }));

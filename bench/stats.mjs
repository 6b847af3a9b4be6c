// Small helpers shared by the bench report scripts.

/** A numeric TSV cell, or null for empty, FAILED or non-numeric. */
export const num = (v) => (v === "" || v === undefined || v === "FAILED" || Number.isNaN(Number(v)) ? null : Number(v));

/** The median of a list of numbers (null when empty). */
export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : null;
};

/** How much a run was disturbed: the larger of foreign and unattributed CPU, in % of a CPU. */
export const disturbance = (r) => Math.max(num(r.foreign_cpu_pct) ?? 0, num(r.unattributed_cpu_pct) ?? 0);

/**
 * Which runs of a harness results table count. A run is noisy when its disturbance is more than `fmax` above its
 * runtime's baseline (the median disturbance of that runtime's runs, `rtOf` naming a row's runtime; rows without
 * one, or without `rtOf`, against 0), and slow when a speed probe took > 1.2x the run's best. `usable(rows)`
 * keeps the clean runs, else the quiet ones on a slow host, else all of them, saying which in `note`.
 */
export function runQuality(rows, fmax, rtOf = () => "") {
  const minOf = (k) => Math.min(...rows.map((r) => num(r[k])).filter((x) => x > 0));
  const bestLoad = minOf("speed_probe_load_cpu_us");
  const bestProxy = minOf("speed_probe_proxy_cpu_us");
  const baseline = {};
  for (const rt of ["node", "bun", "deno"]) {
    baseline[rt] = median(rows.filter((r) => rtOf(r) === rt && r.rps !== "FAILED").map(disturbance)) ?? 0;
  }
  const noisy = (r) => disturbance(r) - (baseline[rtOf(r)] ?? 0) > fmax;
  const slow = (r) =>
    (num(r.speed_probe_load_cpu_us) ?? 0) > 1.2 * bestLoad || (num(r.speed_probe_proxy_cpu_us) ?? 0) > 1.2 * bestProxy;
  const usable = (all) => {
    const rs = all.filter((r) => r.rps !== "FAILED");
    const clean = rs.filter((r) => !noisy(r) && !slow(r));
    if (clean.length) return { rs: clean, note: clean.length < rs.length ? `${rs.length - clean.length} dropped` : "" };
    const quiet = rs.filter((r) => !noisy(r));
    if (quiet.length) return { rs: quiet, note: "slow host" };
    return { rs, note: rs.length ? "all noisy" : "" };
  };
  return { baseline, noisy, slow, usable };
}

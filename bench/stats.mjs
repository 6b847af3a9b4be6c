// Small helpers shared by the bench report scripts.

/** A numeric TSV cell, or null for empty, FAILED or non-numeric. */
export const num = (v) => (v === "" || v === undefined || v === "FAILED" || Number.isNaN(Number(v)) ? null : Number(v));

/** The median of a list of numbers (null when empty). */
export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : null;
};

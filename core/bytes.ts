// Byte helpers shared by the codec and the engine.

/** One new array holding the chunks in order. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (let i = 0; i < chunks.length; i++) n += chunks[i]!.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i]!, o);
    o += chunks[i]!.length;
  }
  return out;
}

// Is a peer address a loopback address? Pure: the admin server asks it before honouring POST /shutdown.
// Accepts what sockets report as a remote host: IPv4 dotted quads and IPv6 text (optionally bracketed,
// optionally with a %zone), including IPv4-mapped forms. Names such as "localhost" are not addresses: false.

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Eight 16-bit groups, or undefined when `s` is not IPv6 text. */
function parseIPv6(s: string): number[] | undefined {
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.includes(".", lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1) + "0"; // placeholder group, dropped below
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const group = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const side = (h: string) => (h === "" ? [] : h.split(":").map(group));
  let head = side(halves[0]!);
  let rest = halves.length === 2 ? side(halves[1]!) : [];
  if (tail.length > 0) {
    if (halves.length === 2 && rest.length > 0) rest = [...rest.slice(0, -1), ...tail];
    else if (halves.length === 2) return undefined;
    else head = [...head.slice(0, -1), ...tail];
  }
  if ([...head, ...rest].some(Number.isNaN)) return undefined;
  const want = 8;
  if (halves.length === 1) return head.length === want ? head : undefined;
  const fill = want - head.length - rest.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...rest];
}

export function isLoopbackAddress(host: string): boolean {
  let h = host.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  const zone = h.indexOf("%");
  if (zone >= 0) h = h.slice(0, zone);
  if (!h.includes(":")) {
    const v4 = parseIPv4(h);
    return v4 !== undefined && v4[0] === 127;
  }
  const g = parseIPv6(h);
  if (g === undefined) return false;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 7) && g[7] === 1) return true; // ::1
  if (zeros(0, 5) && g[5] === 0xffff) return g[6]! >> 8 === 127; // ::ffff:127.x.y.z
  return false;
}

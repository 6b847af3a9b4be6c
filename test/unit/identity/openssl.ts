// Real certificates for the identity tests, made with the openssl CLI in a temp dir, and openssl's own reading
// of them (x509 -text / -dates / -serial / -subject) to cross-check core/identity/certificate-info.ts against.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface OpensslView {
  uriSans: string[];
  dnsSans: string[];
  notBefore: number;
  notAfter: number;
  subjectCommonName?: string;
  isCa: boolean;
  pathLen?: number;
  serialHex: string;
  keyUsage?: string[];
  version: number;
}

const KEY_USAGE_NAMES: Record<string, string> = {
  "Digital Signature": "digitalSignature",
  "Non Repudiation": "contentCommitment",
  "Content Commitment": "contentCommitment",
  "Key Encipherment": "keyEncipherment",
  "Data Encipherment": "dataEncipherment",
  "Key Agreement": "keyAgreement",
  "Certificate Sign": "keyCertSign",
  "CRL Sign": "cRLSign",
  "Encipher Only": "encipherOnly",
  "Decipher Only": "decipherOnly",
};

export class CertFactory {
  readonly dir = mkdtempSync(join(tmpdir(), "meshlet-identity-"));
  private n = 0;

  constructor() {
    // One EC P-256 key for every certificate: key generation is the slow part, and irrelevant here.
    this.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem"]);
  }

  run(args: string[]): string {
    return execFileSync("openssl", args, { cwd: this.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** A self-signed certificate (openssl req -x509); returns the PEM file name. */
  selfSigned(opts: { subj?: string; addext?: string[]; days?: number; serial?: string; utf8?: boolean } = {}): string {
    const out = `c${++this.n}.pem`;
    const args = ["req", "-x509", "-key", "key.pem", "-subj", opts.subj ?? "/CN=x", "-days", String(opts.days ?? 1), "-out", out];
    if (opts.utf8) args.push("-utf8");
    if (opts.serial !== undefined) args.push("-set_serial", opts.serial);
    for (const e of opts.addext ?? []) args.push("-addext", e);
    this.run(args);
    return out;
  }

  /** A certificate signed by `ca` (its key is key.pem too) with the extensions in `ext` (openssl config lines). */
  signed(ca: string, opts: { subj?: string; ext: string[]; days?: number; serial?: string }): string {
    const id = ++this.n;
    const csr = `r${id}.csr`, extFile = `e${id}.cnf`, out = `c${id}.pem`;
    this.run(["req", "-new", "-key", "key.pem", "-subj", opts.subj ?? "/CN=leaf", "-out", csr]);
    writeFileSync(this.path(extFile), `${opts.ext.join("\n")}\n`);
    const args = ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", "key.pem", "-days", String(opts.days ?? 1), "-extfile", extFile, "-out", out];
    args.push(...(opts.serial !== undefined ? ["-set_serial", opts.serial] : ["-CAcreateserial"]));
    this.run(args);
    return out;
  }

  pem(name: string): string {
    return readFileSync(this.path(name), "utf8");
  }

  der(name: string): Uint8Array {
    return new Uint8Array(execFileSync("openssl", ["x509", "-in", name, "-outform", "DER"], { cwd: this.dir }));
  }

  /** Offsets (in the DER) of elements openssl asn1parse reports, e.g. "cont [ 3 ]" at depth 2. */
  asn1Offsets(name: string, depth: number, what: string): number[] {
    const text = this.run(["asn1parse", "-in", name]);
    const out: number[] = [];
    for (const line of text.split("\n")) {
      const m = /^\s*(\d+):d=(\d+)\s+hl=\s*\d+\s+l=\s*\d+\s+(?:cons|prim):\s+(.*?)\s*(?::.*)?$/.exec(line);
      if (m && Number(m[2]) === depth && m[3]!.startsWith(what)) out.push(Number(m[1]));
    }
    return out;
  }

  /** What openssl says about the certificate. */
  view(name: string): OpensslView {
    const text = this.run(["x509", "-in", name, "-noout", "-text"]);
    const dates = this.run(["x509", "-in", name, "-noout", "-dates", "-dateopt", "iso_8601"]);
    const serial = this.run(["x509", "-in", name, "-noout", "-serial"]).trim().replace(/^serial=/, "");
    const subject = this.run(["x509", "-in", name, "-noout", "-subject", "-nameopt", "sep_multiline,utf8,sname,-esc_msb"]);
    const date = (k: string) => Date.parse(new RegExp(`${k}=(\\S+ \\S+)`).exec(dates)![1]!.replace(" ", "T"));
    const lines = text.split("\n");
    const after = (header: string): string | undefined => {
      const i = lines.findIndex((l) => l.trim().startsWith(header));
      return i < 0 ? undefined : lines[i + 1]!.trim();
    };
    const view: OpensslView = {
      uriSans: [],
      dnsSans: [],
      notBefore: date("notBefore"),
      notAfter: date("notAfter"),
      isCa: false,
      serialHex: serial,
      version: Number(/Version: (\d)/.exec(text)![1]),
    };
    const san = after("X509v3 Subject Alternative Name");
    for (const entry of san ? san.split(", ") : []) {
      if (entry.startsWith("URI:")) view.uriSans.push(entry.slice(4));
      else if (entry.startsWith("DNS:")) view.dnsSans.push(entry.slice(4));
    }
    const bc = after("X509v3 Basic Constraints");
    if (bc !== undefined) {
      view.isCa = bc.startsWith("CA:TRUE");
      const pl = /pathlen:(\d+)/.exec(bc);
      if (pl) view.pathLen = Number(pl[1]);
    }
    const ku = after("X509v3 Key Usage");
    if (ku !== undefined) view.keyUsage = ku.split(", ").map((n) => KEY_USAGE_NAMES[n] ?? `?${n}`);
    const cns = subject.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("CN="));
    if (cns.length > 0) view.subjectCommonName = cns[cns.length - 1]!.slice(3);
    return view;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// The identity source: where the proxy's TLS credentials (core/identity/credentials.ts) come from, kept fresh.
//
// Files mode (identity.certFile + keyFile): the certificate, its key and the trust anchors are read from files
// and checked (the leaf is for identity.id, the key is the leaf's, the chain leads to a trust anchor, the leaf is
// valid now). The three files are watched (file-watch.ts): a new valid set replaces the credentials; an invalid
// or half-written one is reported once per distinct content, after a confirming re-read (a certificate written
// just before its key is not reported), and the last good credentials stay. At 70 % of the certificate's life
// the files are read again, and a warning (then an error once expired) says when nothing replaced it.
//
// Issuer mode (identity.issuer, or an issuer passed by a library user): a key is generated in memory, certified
// (the CA files of identity.issuer are read again at every issuance, so a CA rotation is picked up), checked as
// above, optionally written to keyOutFile (mode 0600), and renewed with a new key at 70 % of the certificate's
// life. A failed renewal is retried after 1 s, 2 s, 4 s ... at most 60 s apart, until one succeeds; the current
// credentials stay in force meanwhile (an error is logged once they have expired). The trust anchors file is
// watched: new anchors are taken when the current certificate chains to them (to rotate the CA, add the new CA
// to the anchors first, then change the issuer).
//
// Timers: renewal, retries and the 70 % re-checks run on opts.clock (tests drive them with a fake clock); the
// file watch (debounce, stat poll) runs on the runtime's own timers, as it waits on the file system.

import { chmod, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { IdentityConfig } from "../../core/config/identity-schema.ts";
import type { TlsCredentials } from "../../core/identity/credentials.ts";
import type { CertificateIssuer } from "../../core/identity/issuer.ts";
import { MAX_RENEWAL_DELAY_MS, MIN_RENEWAL_DELAY_MS, RENEW_AT_PERCENT, renewalDelayMs } from "../../core/identity/rotation.ts";
import type { CancelTimer, Clock } from "../../core/ports.ts";
import { CertError, FileIssuer, LocalCa, generateKeyAndCsr, trustAnchorsFromPem, verifyChain } from "./certs.ts";
import { errorText, watchFiles, type FileWatch } from "./file-watch.ts";

export interface IdentitySourceOptions {
  config: IdentityConfig;
  /** Relative file paths resolve against this directory (the config file's). */
  baseDir: string;
  clock: Clock;
  /** Called with the first credentials and every rotation after. */
  onCredentials(c: TlsCredentials): void;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
  /** Library users: certify the generated key with this issuer instead of config.issuer / the files. */
  issuer?: CertificateIssuer;
  /** File watch tuning for tests (debounce, poll). */
  watch?: { debounceMs?: number; pollMs?: number };
}

export interface IdentitySource {
  readonly current: TlsCredentials;
  close(): void;
}

/** The identity settings that name files. */
export type IdentityFileField = "certFile" | "keyFile" | "trustAnchorsFile" | "issuer.certFile" | "issuer.keyFile" | "keyOutFile";

/**
 * Credentials could not be had. The message names the setting and the file at fault ("identity.keyFile
 * /etc/mesh/key.pem: ..."); `field` and `file` say the same for programs (absent when an issuer given in the
 * options refused).
 */
export class IdentitySourceError extends Error {
  readonly field: IdentityFileField | undefined;
  readonly file: string | undefined;
  /** When the files may become acceptable as they are: the leaf's notBefore, for a certificate not valid yet. */
  readonly validFrom: number | undefined;
  constructor(field: IdentityFileField | undefined, file: string | undefined, problem: string, extra: { cause?: unknown; validFrom?: number } = {}) {
    super(field !== undefined ? `identity.${field} ${file}: ${problem}` : `identity: ${problem}`, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = "IdentitySourceError";
    this.field = field;
    this.file = file;
    this.validFrom = extra.validFrom;
  }
}

/** Gets the first credentials (rejecting with an IdentitySourceError when it cannot), then keeps them fresh. */
export async function startIdentitySource(opts: IdentitySourceOptions): Promise<IdentitySource> {
  const source = new Source(opts);
  await (opts.issuer !== undefined || opts.config.issuer !== undefined ? source.startIssued() : source.startFromFiles());
  return source;
}

/** Delay before retry number `attempt` (1, 2, ...) of a failed renewal: 1 s doubling, at most 60 s. */
export function renewalRetryDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempt - 1), 60_000);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What the watched files hold: `key` identifies the content (or the read error), `load` checks it. */
interface Snapshot {
  key: string;
  load(): Promise<TlsCredentials>;
}

class Source implements IdentitySource {
  readonly #opts: IdentitySourceOptions;
  readonly #id: string;
  readonly #anchorsFile: string;
  #current: TlsCredentials | undefined;
  /** Reads the watched files: the three files (files mode) or the trust anchors (issuer mode). */
  #snapshot: (() => Promise<Snapshot>) | undefined;
  #filesMode = false;
  #closed = false;
  #watch: FileWatch | undefined;
  #timer: CancelTimer | undefined;
  /** Tasks that read or replace the credentials run one after another. */
  #queue: Promise<void> = Promise.resolve();
  /** Content of the watched files the current credentials came from; unchanged content is not checked again. */
  #appliedKey: string | undefined;
  /** Rejected content seen once (reported if a confirming re-read sees it again), and the last one reported. */
  #pendingKey: string | undefined;
  #reportedKey: string | undefined;
  /** Files mode: the notBefore of files rejected only for not being valid yet (they are read again then). */
  #validFrom: number | undefined;
  /** Files mode: notices already logged (aging, expiry), by kind and certificate. */
  readonly #noticed = new Set<string>();
  /** Issuer mode: renewals failed in a row. */
  #failures = 0;

  constructor(opts: IdentitySourceOptions) {
    this.#opts = opts;
    this.#id = opts.config.id;
    this.#anchorsFile = this.#path(opts.config.trustAnchorsFile);
  }

  get current(): TlsCredentials {
    if (this.#current === undefined) throw new Error("identity source: no credentials yet");
    return this.#current;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#timer?.();
    this.#timer = undefined;
  }

  // ---- files mode ----------------------------------------------------------------------------------------

  async startFromFiles(): Promise<void> {
    const { certFile, keyFile } = this.#opts.config;
    if (certFile === undefined || keyFile === undefined) {
      throw new IdentitySourceError(undefined, undefined, "needs certFile and keyFile, or an issuer");
    }
    const cert = this.#path(certFile);
    const key = this.#path(keyFile);
    this.#filesMode = true;
    this.#snapshot = () => this.#filesSnapshot(cert, key);
    const first = await this.#snapshot();
    this.#publish(await first.load(), "loaded from files");
    this.#appliedKey = first.key;
    this.#startWatch([cert, key, this.#anchorsFile]);
    this.#scheduleRecheck();
  }

  async #filesSnapshot(certFile: string, keyFile: string): Promise<Snapshot> {
    let texts: [string, string, string];
    try {
      texts = [
        await readText(certFile, "certFile"),
        await readText(keyFile, "keyFile"),
        await readText(this.#anchorsFile, "trustAnchorsFile"),
      ];
    } catch (e) {
      return failedSnapshot(e);
    }
    const [certPem, keyPem, anchorsText] = texts;
    return {
      key: texts.join("\u0000"),
      load: async () => {
        const anchors = this.#anchors(anchorsText);
        let files: FileIssuer;
        try {
          files = new FileIssuer({ certChainPem: certPem, keyPem });
          if (files.identity !== this.#id) {
            const is = files.identity ?? "no single SPIFFE ID (URI SAN)";
            throw new IdentitySourceError("certFile", certFile, `the certificate is for ${is}, but identity.id is ${this.#id}`);
          }
          await files.issue("", this.#id);
        } catch (e) {
          if (!(e instanceof CertError)) throw e;
          const [field, file] = e.part === "key" ? (["keyFile", keyFile] as const) : (["certFile", certFile] as const);
          throw new IdentitySourceError(field, file, e.message, { cause: e });
        }
        return this.#checked(
          { id: this.#id, certChainPem: files.certChainPem, keyPem: files.keyPem, trustAnchorsPem: anchors, notBefore: files.notBefore, notAfter: files.notAfter },
          "certFile",
          certFile,
        );
      },
    };
  }

  /**
   * Files mode: read the files again at 70 % of the certificate's life (and at its expiry), saying so when they
   * still hold the same certificate; and when files rejected as not valid yet become valid.
   */
  #scheduleRecheck(): void {
    const c = this.current;
    const now = this.#opts.clock.wallNow();
    let delay: number | undefined;
    if (now < renewalTarget(c)) delay = renewalDelayMs(c.notBefore, c.notAfter, now);
    else if (now <= c.notAfter) delay = clampDelay(c.notAfter - now + 1000);
    if (this.#validFrom !== undefined) delay = Math.min(delay ?? Infinity, clampDelay(this.#validFrom - now, 1000));
    this.#setTimer(delay, () =>
      this.#serial(async () => {
        await this.#checkFiles();
        if (this.#closed) return;
        this.#noticeAging();
        this.#scheduleRecheck();
      }),
    );
  }

  #noticeAging(): void {
    const c = this.current;
    const now = this.#opts.clock.wallNow();
    const files = { certFile: this.#path(this.#opts.config.certFile ?? ""), notAfter: iso(c.notAfter) };
    if (now > c.notAfter) {
      this.#notice(`expired ${c.certChainPem}`, "error", "identity certificate expired and the files hold no replacement; still presenting it", files);
    } else if (now >= renewalTarget(c)) {
      this.#notice(`aging ${c.certChainPem}`, "warn", `identity certificate is past ${RENEW_AT_PERCENT} % of its lifetime and the files hold no replacement`, files);
    }
  }

  // ---- issuer mode ---------------------------------------------------------------------------------------

  async startIssued(): Promise<void> {
    const anchorsText = await readText(this.#anchorsFile, "trustAnchorsFile");
    const anchors = this.#anchors(anchorsText);
    this.#publish(await this.#issue(anchors), "issued");
    this.#appliedKey = anchorsText;
    this.#snapshot = () => this.#anchorsSnapshot();
    this.#startWatch([this.#anchorsFile]);
    this.#scheduleRenewal(renewalDelayMs(this.current.notBefore, this.current.notAfter, this.#opts.clock.wallNow()));
  }

  /** The current certificate with the trust anchors file's certificates, if it chains to them. */
  async #anchorsSnapshot(): Promise<Snapshot> {
    let text: string;
    try {
      text = await readText(this.#anchorsFile, "trustAnchorsFile");
    } catch (e) {
      return failedSnapshot(e);
    }
    return {
      key: text,
      load: async () => {
        const anchors = this.#anchors(text);
        const c = this.current;
        const chain = await verifyChain(c.certChainPem, anchors);
        if (!chain.ok) {
          throw new IdentitySourceError("trustAnchorsFile", this.#anchorsFile, `the current certificate does not chain to these trust anchors: ${chain.error}`);
        }
        return { ...c, trustAnchorsPem: anchors };
      },
    };
  }

  #scheduleRenewal(delayMs: number): void {
    this.#setTimer(delayMs, () => this.#serial(() => this.#renew()));
  }

  async #renew(): Promise<void> {
    let next: TlsCredentials;
    try {
      next = await this.#issue(this.current.trustAnchorsPem);
    } catch (e) {
      if (this.#closed) return;
      this.#failures++;
      const retryInMs = renewalRetryDelayMs(this.#failures);
      const expired = this.#opts.clock.wallNow() > this.current.notAfter;
      this.#opts.log(expired ? "error" : "warn", "identity renewal failed; the current certificate stays in use", {
        error: errorText(e),
        attempt: this.#failures,
        retryInMs,
        notAfter: iso(this.current.notAfter),
      });
      this.#scheduleRenewal(retryInMs);
      return;
    }
    if (this.#closed) return;
    this.#failures = 0;
    this.#publish(next, "renewed");
    this.#scheduleRenewal(renewalDelayMs(next.notBefore, next.notAfter, this.#opts.clock.wallNow()));
  }

  /** A new key, certified, checked against `anchors`, written to keyOutFile when set. */
  async #issue(anchors: string): Promise<TlsCredentials> {
    const { issuer, field, file } = await this.#issuer();
    const km = await generateKeyAndCsr(this.#id);
    let certChainPem: string;
    try {
      certChainPem = (await issuer.issue(km.csrPem, this.#id)).certChainPem;
    } catch (e) {
      throw new IdentitySourceError(field, file, `the issuer did not certify ${this.#id}: ${errorText(e)}`, { cause: e });
    }
    // What came back is checked like files: for this identity, for the generated key, valid now, chained.
    let got: FileIssuer;
    try {
      got = new FileIssuer({ certChainPem, keyPem: km.privateKeyPem });
      await got.issue("", this.#id);
    } catch (e) {
      throw new IdentitySourceError(field, file, `the issuer returned an unusable certificate: ${errorText(e)}`, { cause: e });
    }
    const creds = await this.#checked(
      { id: this.#id, certChainPem: got.certChainPem, keyPem: got.keyPem, trustAnchorsPem: anchors, notBefore: got.notBefore, notAfter: got.notAfter },
      field,
      file,
    );
    const keyOut = this.#opts.config.keyOutFile;
    if (keyOut !== undefined) await writePrivateFile(this.#path(keyOut), creds.keyPem);
    return creds;
  }

  /** The issuer to ask: the options' one, or a CA read now from identity.issuer's files. */
  async #issuer(): Promise<{ issuer: CertificateIssuer; field: IdentityFileField | undefined; file: string | undefined }> {
    if (this.#opts.issuer !== undefined) return { issuer: this.#opts.issuer, field: undefined, file: undefined };
    const ca = this.#opts.config.issuer;
    if (ca === undefined) throw new IdentitySourceError(undefined, undefined, "needs an issuer");
    const certFile = this.#path(ca.certFile);
    const keyFile = this.#path(ca.keyFile);
    const certPem = await readText(certFile, "issuer.certFile");
    const keyPem = await readText(keyFile, "issuer.keyFile");
    try {
      const issuer = await LocalCa.fromPem(certPem, keyPem, { lifetimeMs: ca.lifetimeMs, now: () => this.#opts.clock.wallNow() });
      return { issuer, field: "issuer.certFile", file: certFile };
    } catch (e) {
      if (!(e instanceof CertError)) throw e;
      if (e.part === "key") throw new IdentitySourceError("issuer.keyFile", keyFile, e.message, { cause: e });
      throw new IdentitySourceError("issuer.certFile", certFile, e.message, { cause: e });
    }
  }

  // ---- shared --------------------------------------------------------------------------------------------

  /** Credentials whose leaf is valid now and chains to their trust anchors; else an error blaming `field`. */
  async #checked(c: TlsCredentials, field: IdentityFileField | undefined, file: string | undefined): Promise<TlsCredentials> {
    const now = this.#opts.clock.wallNow();
    if (now > c.notAfter) throw new IdentitySourceError(field, file, `the certificate expired at ${iso(c.notAfter)} (now ${iso(now)})`);
    if (now < c.notBefore) {
      throw new IdentitySourceError(field, file, `the certificate is not valid before ${iso(c.notBefore)} (now ${iso(now)})`, { validFrom: c.notBefore });
    }
    const chain = await verifyChain(c.certChainPem, c.trustAnchorsPem);
    if (!chain.ok) {
      throw new IdentitySourceError(field, file, `the certificate does not chain to the trust anchors of ${this.#anchorsFile}: ${chain.error}`);
    }
    return c;
  }

  #anchors(text: string): string {
    try {
      return trustAnchorsFromPem(text);
    } catch (e) {
      throw new IdentitySourceError("trustAnchorsFile", this.#anchorsFile, errorText(e), { cause: e });
    }
  }

  #startWatch(files: string[]): void {
    this.#watch = watchFiles(files, () => this.#serial(() => this.#checkFiles()), {
      debounceMs: this.#opts.watch?.debounceMs,
      pollMs: this.#opts.watch?.pollMs,
      persistent: false,
      log: (line) => this.#opts.log("warn", `identity watch: ${line}`),
    });
  }

  /** The watched files changed (or may have): take a valid new set, report a rejected one once. */
  async #checkFiles(): Promise<void> {
    const snap = await this.#snapshot!();
    if (this.#closed || snap.key === this.#appliedKey) return;
    let next: TlsCredentials;
    try {
      next = await snap.load();
    } catch (e) {
      if (this.#closed) return;
      if (!(e instanceof IdentitySourceError)) throw e;
      if (this.#filesMode && e.validFrom !== this.#validFrom) {
        this.#validFrom = e.validFrom;
        this.#scheduleRecheck();
      }
      if (snap.key === this.#reportedKey) return;
      if (snap.key !== this.#pendingKey) {
        // Confirm with a second read, so a set caught half-written is not reported.
        this.#pendingKey = snap.key;
        this.#watch?.schedule();
        return;
      }
      this.#pendingKey = undefined;
      this.#reportedKey = snap.key;
      this.#opts.log("warn", "identity files rejected; keeping the current credentials", { error: e.message, notAfter: iso(this.current.notAfter) });
      return;
    }
    if (this.#closed) return;
    this.#appliedKey = snap.key;
    this.#pendingKey = this.#reportedKey = this.#validFrom = undefined;
    this.#publish(next, "rotated");
    if (this.#filesMode) this.#scheduleRecheck();
  }

  #publish(c: TlsCredentials, how: string): void {
    const old = this.#current;
    if (old !== undefined && old.certChainPem === c.certChainPem && old.keyPem === c.keyPem && old.trustAnchorsPem === c.trustAnchorsPem) return;
    this.#current = c;
    this.#opts.log("info", `identity credentials ${how}`, { id: c.id, notBefore: iso(c.notBefore), notAfter: iso(c.notAfter) });
    this.#opts.onCredentials(c);
  }

  #notice(key: string, level: "warn" | "error", msg: string, fields: Record<string, unknown>): void {
    if (this.#noticed.has(key)) return;
    this.#noticed.add(key);
    this.#opts.log(level, msg, fields);
  }

  #setTimer(delayMs: number | undefined, fn: () => unknown): void {
    this.#timer?.();
    this.#timer = undefined;
    if (delayMs === undefined || this.#closed) return;
    this.#timer = this.#opts.clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      void fn();
    });
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task).catch((e: unknown) => {
      if (!this.#closed) this.#opts.log("error", "identity source: unexpected error", { error: errorText(e) });
    });
    this.#queue = run;
    return run;
  }

  #path(p: string): string {
    return resolve(this.#opts.baseDir, p);
  }
}

/** notBefore + 70 % of the lifetime: when the certificate should be replaced. */
function renewalTarget(c: TlsCredentials): number {
  return c.notBefore + ((c.notAfter - c.notBefore) * RENEW_AT_PERCENT) / 100;
}

function clampDelay(ms: number, min = MIN_RENEWAL_DELAY_MS): number {
  return Math.min(Math.max(Math.ceil(ms), min), MAX_RENEWAL_DELAY_MS);
}

function failedSnapshot(e: unknown): Snapshot {
  return {
    key: `error ${errorText(e)}`,
    load: () => Promise.reject(e),
  };
}

async function readText(file: string, field: IdentityFileField): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new IdentitySourceError(field, file, `cannot read it: ${errorText(e)}`, { cause: e });
  }
}

/** Writes a private key readable by the owner only (0600), replacing the file at once (a new file renamed over). */
async function writePrivateFile(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${crypto.randomUUID()}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600); // the umask filters writeFile's mode: make it exactly 0600
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new IdentitySourceError("keyOutFile", file, `cannot write the key: ${errorText(e)}`, { cause: e });
  }
}

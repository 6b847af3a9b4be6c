// The DER/X.509 reader against real certificates made with openssl (every field cross-checked with openssl's
// own -text/-dates/-serial/-subject), hand-made malformed DER, truncation at every byte, byte mutations,
// PEM decoding, and the peer's SPIFFE ID per the X.509-SVID rules.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  DerError,
  PemError,
  base64Decode,
  parseCertificate,
  peerSpiffeId,
  pemToDer,
  type CertificateInfo,
} from "../../../core/identity/certificate-info.ts";
import { readTime, readTlv } from "../../../core/identity/der.ts";
import { mulberry32 } from "../../support/prng.ts";
import { CertFactory, hasOpenssl, type OpensslView } from "./openssl.ts";
import * as d from "./der-builder.ts";

const SPIFFE = "spiffe://example.org/ns/default/sa/web";
const LEAF_EXT = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
  "extendedKeyUsage=serverAuth,clientAuth",
  `subjectAltName=URI:${SPIFFE},DNS:web,DNS:web.default.svc.cluster.local`,
];

function sameAsOpenssl(info: CertificateInfo, view: OpensslView): void {
  assert.deepEqual(info.uriSans, view.uriSans, "URI SANs");
  assert.deepEqual(info.dnsSans, view.dnsSans, "DNS SANs");
  assert.equal(info.notBefore, view.notBefore, "notBefore");
  assert.equal(info.notAfter, view.notAfter, "notAfter");
  assert.equal(info.subjectCommonName, view.subjectCommonName, "subject CN");
  assert.equal(info.isCa, view.isCa, "cA");
  assert.equal(info.pathLen, view.pathLen, "pathLen");
  assert.equal(info.serialHex, view.serialHex, "serial");
  assert.deepEqual(info.keyUsage, view.keyUsage, "key usage");
  assert.equal(info.version, view.version, "version");
}

const openssl = hasOpenssl();

describe("parseCertificate with openssl certificates", { skip: openssl ? false : "openssl is not installed" }, () => {
  let f: CertFactory;
  /** name -> PEM file */
  const certs: Record<string, string> = {};

  before(() => {
    f = new CertFactory();
    certs.ca = f.selfSigned({
      subj: "/O=Example/CN=Example Root CA",
      addext: ["keyUsage=critical,keyCertSign,cRLSign", "basicConstraints=critical,CA:TRUE,pathlen:0", "subjectAltName=URI:spiffe://example.org"],
      days: 3650,
      serial: "0x00ff",
    });
    certs.leaf = f.signed(certs.ca, { subj: "/O=acme/CN=web", ext: LEAF_EXT });
    // The brief's one-liner: a self-signed certificate (openssl marks it CA:TRUE by default).
    certs.brief = f.selfSigned({ addext: [`subjectAltName=URI:${SPIFFE},DNS:web`] });
    // notAfter past 2049 is a GeneralizedTime (RFC 5280 §4.1.2.5).
    certs.longLived = f.selfSigned({ subj: "/CN=long", addext: ["basicConstraints=critical,CA:FALSE", `subjectAltName=URI:${SPIFFE}`], days: 36500 });
    certs.noSubject = f.selfSigned({ subj: "/", addext: ["basicConstraints=critical,CA:FALSE", `subjectAltName=critical,URI:${SPIFFE}`] });
    certs.utf8Cn = f.selfSigned({ subj: "/O=acme/CN=Grüße, Welt/CN=zweite", utf8: true, addext: ["subjectAltName=DNS:a.example,DNS:b.example"] });
    certs.noSan = f.selfSigned({ subj: "/CN=plain", addext: ["basicConstraints=critical,CA:FALSE"] });
    certs.twoUris = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", `subjectAltName=URI:${SPIFFE},URI:https://web.example`] });
    certs.twoSpiffe = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", `subjectAltName=URI:${SPIFFE},URI:spiffe://example.org/ns/x/sa/y`] });
    certs.httpsUri = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", "subjectAltName=URI:https://web.example,DNS:web"] });
    certs.dnsOnly = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", "subjectAltName=DNS:web"] });
    certs.badSpiffe = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", "subjectAltName=URI:spiffe://Example.org/ns/a/sa/b"] });
    certs.trailingSlash = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", "subjectAltName=URI:spiffe://example.org/ns/a/"] });
    certs.signingKeyUsage = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature,keyCertSign", `subjectAltName=URI:${SPIFFE}`] });
    certs.noBasicConstraints = f.signed(certs.ca, { ext: [`subjectAltName=URI:${SPIFFE}`], serial: "1" });
    certs.bigSerial = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE"], serial: "0x7fffffffffffffffffffffffffffffffffffffff" });
    certs.highBitSerial = f.signed(certs.ca, { ext: ["basicConstraints=CA:FALSE"], serial: "0x80" });
  });

  after(() => f?.cleanup());

  it("reads every field as openssl does, for each certificate", () => {
    for (const [label, file] of Object.entries(certs)) {
      const der = f.der(file);
      const info = parseCertificate(der);
      sameAsOpenssl(info, f.view(file));
      // The PEM file decodes to exactly openssl's DER.
      assert.deepEqual(pemToDer(f.pem(file)), [der], label);
    }
  });

  it("the leaf: SANs, validity, CN, not a CA, key usage", () => {
    const info = parseCertificate(f.der(certs.leaf!));
    assert.deepEqual(info.uriSans, [SPIFFE]);
    assert.deepEqual(info.dnsSans, ["web", "web.default.svc.cluster.local"]);
    assert.equal(info.subjectCommonName, "web");
    assert.equal(info.isCa, false);
    assert.deepEqual(info.keyUsage, ["digitalSignature", "keyEncipherment"]);
    assert.equal(info.version, 3);
    assert.equal(info.notAfter - info.notBefore, 24 * 3600 * 1000);
    assert.deepEqual(info.criticalExtensions.sort(), ["2.5.29.15", "2.5.29.19"]);
  });

  it("the CA: cA true with pathLen 0, keyCertSign and cRLSign, serial FF", () => {
    const info = parseCertificate(f.der(certs.ca!));
    assert.equal(info.isCa, true);
    assert.equal(info.pathLen, 0);
    assert.deepEqual(info.keyUsage, ["keyCertSign", "cRLSign"]);
    assert.equal(info.serialHex, "FF");
    assert.equal(info.subjectCommonName, "Example Root CA");
  });

  it("UTCTime notBefore and GeneralizedTime notAfter (a 100-year certificate)", () => {
    const der = f.der(certs.longLived!);
    // The validity's times: UTCTIME then GENERALIZEDTIME, per openssl asn1parse.
    assert.equal(f.asn1Offsets(certs.longLived!, 3, "UTCTIME").length, 1);
    assert.equal(f.asn1Offsets(certs.longLived!, 3, "GENERALIZEDTIME").length, 1);
    const info = parseCertificate(der);
    assert.ok(new Date(info.notAfter).getUTCFullYear() >= 2100);
  });

  it("no subject, a UTF-8 CN with several CNs (the last wins), no SANs, serials", () => {
    assert.equal(parseCertificate(f.der(certs.noSubject!)).subjectCommonName, undefined);
    assert.equal(parseCertificate(f.der(certs.utf8Cn!)).subjectCommonName, "zweite");
    const noSan = parseCertificate(f.der(certs.noSan!));
    assert.deepEqual([noSan.uriSans, noSan.dnsSans], [[], []]);
    assert.equal(parseCertificate(f.der(certs.bigSerial!)).serialHex, "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    assert.equal(parseCertificate(f.der(certs.highBitSerial!)).serialHex, "80");
    assert.equal(parseCertificate(f.der(certs.noBasicConstraints!)).isCa, false);
  });

  it("peerSpiffeId: the leaf's one SPIFFE ID", () => {
    const r = peerSpiffeId(f.der(certs.leaf!));
    assert.ok(r.ok, r.ok ? "" : r.error);
    assert.equal(r.id.toString(), SPIFFE);
    assert.equal(r.id.trustDomain, "example.org");
    assert.equal(r.id.path, "/ns/default/sa/web");
    for (const ok of ["longLived", "noSubject", "noBasicConstraints"]) assert.ok(peerSpiffeId(f.der(certs[ok]!)).ok, ok);
  });

  it("peerSpiffeId: none, several, invalid, not a leaf, malformed — each says why", () => {
    const cases: [string, string, RegExp][] = [
      ["noSan", "none", /no URI SAN/],
      ["dnsOnly", "none", /no URI SAN/],
      ["utf8Cn", "none", /no URI SAN/],
      ["httpsUri", "none", /no spiffe:\/\/ URI SAN \(its URI SAN is "https:\/\/web.example"\)/],
      ["twoUris", "several", /2 URI SANs \("spiffe:\/\/example.org\/ns\/default\/sa\/web", "https:\/\/web.example"\)/],
      ["twoSpiffe", "several", /2 URI SANs/],
      ["badSpiffe", "invalid", /"spiffe:\/\/Example.org\/ns\/a\/sa\/b" is not a valid SPIFFE ID: the trust domain must be lower-case/],
      ["trailingSlash", "invalid", /may not end with "\/"/],
      ["ca", "invalid", /has no path/],
      ["brief", "not-leaf", /CA certificate/],
      ["signingKeyUsage", "not-leaf", /keyCertSign/],
    ];
    for (const [label, problem, error] of cases) {
      const r = peerSpiffeId(f.der(certs[label]!));
      assert.equal(r.ok, false, label);
      if (r.ok) continue;
      assert.equal(r.problem, problem, label);
      assert.match(r.error, error, label);
    }
    const r = peerSpiffeId(new Uint8Array([0x30, 0x03, 0x02, 0x01]));
    assert.ok(!r.ok && r.problem === "malformed" && /malformed certificate: .*runs past the end/.test(r.error));
  });

  it("truncated at every byte: always a DerError", () => {
    for (const label of ["leaf", "ca", "longLived"]) {
      const der = f.der(certs[label]!);
      for (let i = 0; i < der.length; i++) {
        assert.throws(() => parseCertificate(der.subarray(0, i)), DerError, `${label} cut at ${i}`);
      }
      // And with a byte too many.
      assert.throws(() => parseCertificate(d.cat(der, [0])), /unexpected bytes at the end/);
    }
  });

  it("the TBSCertificate truncated at every byte, outer lengths fixed up: a DerError, or a valid prefix", () => {
    const der = f.der(certs.leaf!);
    const cert = readTlv(der, 0, der.length);
    const tbs = readTlv(der, cert.contentStart, cert.end);
    const rest = der.subarray(tbs.end, cert.end); // signatureAlgorithm and signatureValue
    // The only element boundary after which a TBSCertificate may validly stop: before the optional extensions.
    const [extStart] = f.asn1Offsets(certs.leaf!, 2, "cont [ 3 ]");
    assert.ok(extStart !== undefined);
    for (let i = 0; i < tbs.end - tbs.contentStart; i++) {
      const cut = d.seq(d.seq(der.subarray(tbs.contentStart, tbs.contentStart + i)), rest);
      if (tbs.contentStart + i === extStart) {
        const info = parseCertificate(cut);
        assert.deepEqual([info.uriSans, info.dnsSans, info.isCa, info.keyUsage], [[], [], false, undefined]);
        continue;
      }
      assert.throws(() => parseCertificate(cut), DerError, `TBSCertificate cut at ${i}`);
    }
  });

  it("byte mutations never throw anything but DerError, never hang, never return a malformed shape", () => {
    const der = f.der(certs.leaf!);
    const check = (bytes: Uint8Array, what: string) => {
      let info: CertificateInfo;
      try {
        info = parseCertificate(bytes);
      } catch (e) {
        assert.ok(e instanceof DerError, `${what}: ${(e as Error)?.stack}`);
        return;
      }
      assert.ok(info.uriSans.every((s) => typeof s === "string") && info.dnsSans.every((s) => typeof s === "string"), what);
      assert.ok(Number.isFinite(info.notBefore) && Number.isFinite(info.notAfter), what);
      assert.match(info.serialHex, /^-?([0-9A-F]{2})+$/, what);
      peerSpiffeId(bytes); // must not throw either
    };
    for (let p = 0; p < der.length; p++) {
      for (const v of [0x00, 0xff, 0x80, 0x81, 0x84, 0x7f, der[p]! ^ 0x01, der[p]! ^ 0x20]) {
        const m = der.slice();
        m[p] = v;
        check(m, `byte ${p} = 0x${v.toString(16)}`);
      }
    }
    const rnd = mulberry32(1234);
    for (let k = 0; k < 3000; k++) {
      const m = der.slice();
      const n = 1 + Math.floor(rnd() * 4);
      for (let j = 0; j < n; j++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      check(m, `random mutation ${k}`);
    }
  });

  it("pemToDer: a chain with a key and text in between, CRLF line ends", () => {
    const chain = `subject=leaf\n${f.pem(certs.leaf!)}\n${f.pem("key.pem")}junk text\n${f.pem(certs.ca!)}`;
    assert.deepEqual(pemToDer(chain), [f.der(certs.leaf!), f.der(certs.ca!)]);
    assert.deepEqual(pemToDer(chain.replace(/\n/g, "\r\n")), [f.der(certs.leaf!), f.der(certs.ca!)]);
    assert.deepEqual(pemToDer(f.pem("key.pem")), []);
  });
});

describe("parseCertificate with hand-made DER", () => {
  it("reads the hand-made baseline", () => {
    const info = parseCertificate(d.certificate());
    assert.deepEqual(info.uriSans, ["spiffe://example.org/ns/a/sa/b"]);
    assert.deepEqual(info.dnsSans, ["b.a"]);
    assert.equal(info.subjectCommonName, "leaf");
    assert.equal(info.notBefore, Date.UTC(2024, 0, 1));
    assert.equal(info.notAfter, Date.UTC(2050, 0, 1));
    assert.equal(info.serialHex, "0102");
    assert.equal(info.isCa, false);
    assert.equal(info.keyUsage, undefined);
    assert.equal(peerSpiffeId(d.certificate()).ok, true);
  });

  const broken: [string, Uint8Array, RegExp][] = [
    ["empty input", new Uint8Array(0), /expected a Certificate .*end of the data/],
    ["not a SEQUENCE", d.set(), /expected a Certificate \(SEQUENCE\), found SET/],
    ["indefinite length", (() => { const c = d.certificate(); const m = d.cat([0x30, 0x80], c.subarray(4), [0, 0]); return m; })(), /indefinite length/],
    ["length past the end", d.cat([0x30, 0x82, 0xff, 0xff], [1, 2, 3]), /length 65535 runs past the end \(3 bytes left\)/],
    ["long form for a short length", d.cat([0x30, 0x81, 0x05], d.int(1), d.int(2), []).subarray(0, 3 + 5), /not minimally encoded \(long form/],
    ["a length with a leading zero byte", d.cat([0x30, 0x82, 0x00, 0x03], d.int(1)), /leading zero/],
    ["a 5-byte length", d.cat([0x30, 0x85, 1, 0, 0, 0, 0]), /too large/],
    ["reserved length 0xff", d.cat([0x30, 0xff]), /reserved length/],
    ["trailing bytes", d.cat(d.certificate(), [0x05, 0x00]), /2 unexpected bytes at the end/],
    ["a SET for the TBSCertificate", d.seq(d.set(), d.seq(), d.bits(0)), /expected the TBSCertificate \(SEQUENCE\), found SET/],
    ["a missing signature", d.seq(d.seq(), d.seq()), /expected the signatureValue .*end of the data/],
    ["an extra element after the signature", d.seq(d.seq(), d.seq(), d.bits(0), d.int(1)), /unexpected bytes at the end of the Certificate/],
    ["a non-minimal serial", d.certificate({ serial: d.int(0x00, 0x05) }), /INTEGER is not minimally encoded/],
    ["an empty serial", d.certificate({ serial: d.tlv(0x02) }), /INTEGER has no content/],
    ["version 4", d.certificate({ version: d.tlv(0xa0, d.int(3)) }), /unknown certificate version 4/],
    ["extensions in a v1 certificate", d.certificate({ version: null }), /extensions in a certificate older than version 3/],
    ["a boolean that is not 0x00 or 0xff", d.certificate({ extensions: [d.seq(d.oid("2.5.29.19"), d.tlv(0x01, [1]), d.octets(d.seq()))] }), /BOOLEAN is 0x00 or 0xff/],
    ["a duplicate extension", d.certificate({ extensions: [d.ext("2.5.29.19", d.seq()), d.ext("2.5.29.19", d.seq())] }), /extension 2\.5\.29\.19 appears twice/],
    ["an empty SAN", d.certificate({ extensions: [d.ext("2.5.29.17", d.seq())] }), /empty subjectAltName/],
    ["a SAN with trailing bytes", d.certificate({ extensions: [d.ext("2.5.29.17", d.cat(d.san([0x82, "a"]), [0]))] }), /unexpected bytes at the end of the subjectAltName/],
    ["a non-ASCII URI SAN", d.certificate({ extensions: [d.ext("2.5.29.17", d.seq(d.tlv(0x86, [0x73, 0xc3, 0xbc])))] }), /invalid character 0xc3 in a URI SAN/],
    ["a constructed URI SAN", d.certificate({ extensions: [d.ext("2.5.29.17", d.seq(d.tlv(0xa6, d.ia5(0x16, "x"))))] }), /must be primitive/],
    ["a universal tag as a GeneralName", d.certificate({ extensions: [d.ext("2.5.29.17", d.seq(d.ia5(0x16, "x")))] }), /context-specific/],
    ["a bad UTF8String CN", d.certificate({ subject: d.name(["2.5.4.3", d.tlv(0x0c, [0xff])]) }), /not valid UTF-8/],
    ["a PrintableString with '*'", d.certificate({ subject: d.name(["2.5.4.3", d.printable("a*b")]) }), /invalid character 0x2a in a PrintableString/],
    ["an empty RDN", d.certificate({ subject: d.seq(d.set()) }), /empty relative distinguished name/],
    ["basicConstraints with trailing bytes", d.certificate({ extensions: [d.ext("2.5.29.19", d.seq(d.bool(true), d.int(0), d.int(1)))] }), /unexpected bytes at the end of the BasicConstraints/],
    ["key usage with dirty unused bits", d.certificate({ extensions: [d.ext("2.5.29.15", d.bits(7, 0x81))] }), /unused bits must be zero/],
    ["an OID with a non-minimal arc", d.certificate({ extensions: [d.seq(d.tlv(0x06, [0x55, 0x80, 0x1d]), d.octets())] }), /not minimally encoded/],
    ["a truncated OID", d.certificate({ extensions: [d.seq(d.tlv(0x06, [0x55, 0x9d]), d.octets())] }), /truncated OBJECT IDENTIFIER/],
    ["a high tag number below 31", d.certificate({ subject: d.name(["2.5.4.3", new Uint8Array([0x1f, 0x03, 0x00])]) }), /tag number is not minimally encoded/],
    ["a high tag number with a leading 0x80", d.certificate({ subject: d.name(["2.5.4.3", new Uint8Array([0x1f, 0x80, 0x21, 0x00])]) }), /tag number is not minimally encoded/],
    ["a unique ID in a v1 certificate", d.certificate({ version: null, extensions: null, extra: [d.tlv(0x81, [0])] }), /unique identifier in a version 1/],
  ];
  for (const [label, der, error] of broken) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseCertificate(der), (e: unknown) => {
        assert.ok(e instanceof DerError, String(e));
        assert.match(e.message, error);
        assert.match(e.message, /\(at byte \d+\)$/);
        assert.ok(e.offset >= 0 && e.offset <= der.length);
        return true;
      });
    });
  }

  it("accepts optional parts: no extensions, explicit critical FALSE, unknown extensions and name forms, high tag numbers", () => {
    const v1 = parseCertificate(d.certificate({ version: null, extensions: null }));
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.uriSans, []);
    const info = parseCertificate(
      d.certificate({
        subject: d.name(["2.5.4.11", new Uint8Array([0x1f, 0x21, 0x02, 1, 2])], ["2.5.4.3", d.tlv(0x1e, [0, 0x41, 0, 0xe9])]),
        extensions: [
          d.ext("1.2.3.4.5", [0xde, 0xad], false),
          d.ext("2.5.29.17", d.seq(d.tlv(0x87, [127, 0, 0, 1]), d.tlv(0xa4, d.name()), d.ia5(0x81, "a@b"), d.ia5(0x86, "spiffe://td/x")), true),
          d.ext("2.5.29.19", d.seq(d.bool(true), d.int(3))),
          d.ext("2.5.29.15", d.bits(7, 0x80, 0x80)),
        ],
      }),
    );
    assert.equal(info.subjectCommonName, "Aé"); // a BMPString, the last CN
    assert.deepEqual(info.uriSans, ["spiffe://td/x"]);
    assert.deepEqual(info.dnsSans, []);
    assert.deepEqual([info.isCa, info.pathLen], [true, 3]);
    assert.deepEqual(info.keyUsage, ["digitalSignature", "decipherOnly"]);
    assert.deepEqual(info.criticalExtensions, ["2.5.29.17"]);
  });

  it("serial numbers: zero, negative, leading sign byte", () => {
    assert.equal(parseCertificate(d.certificate({ serial: d.int(0) })).serialHex, "00");
    assert.equal(parseCertificate(d.certificate({ serial: d.int(0xff) })).serialHex, "-01");
    assert.equal(parseCertificate(d.certificate({ serial: d.int(0x00, 0x80) })).serialHex, "80");
    assert.equal(parseCertificate(d.certificate({ serial: d.int(0x0a, 0xbc) })).serialHex, "0ABC");
  });

  it("a non-Uint8Array input is a DerError, not a crash", () => {
    assert.throws(() => parseCertificate("30" as unknown as Uint8Array), DerError);
  });
});

describe("certificate times (RFC 5280 §4.1.2.5)", () => {
  const time = (tlv: Uint8Array) => readTime(tlv, readTlv(tlv, 0, tlv.length));
  it("UTCTime: YY >= 50 is 19YY, else 20YY", () => {
    assert.equal(time(d.utcTime("491231235959Z")), Date.UTC(2049, 11, 31, 23, 59, 59));
    assert.equal(time(d.utcTime("500101000000Z")), Date.UTC(1950, 0, 1));
    assert.equal(time(d.utcTime("700101000000Z")), 0);
    assert.equal(time(d.utcTime("000229120000Z")), Date.UTC(2000, 1, 29, 12)); // 2000 is a leap year
  });

  it("GeneralizedTime, including far dates", () => {
    assert.equal(time(d.genTime("20500101000000Z")), Date.UTC(2050, 0, 1));
    assert.equal(time(d.genTime("99991231235959Z")), Date.UTC(9999, 11, 31, 23, 59, 59)); // "no expiry" (§4.1.2.5)
    assert.equal(time(d.genTime("19691231235959Z")), -1000);
    assert.equal(time(d.genTime("00010101000000Z")), -62135596800000);
    assert.equal(time(d.genTime("20240229000000Z")), Date.UTC(2024, 1, 29));
  });

  const bad: [string, Uint8Array][] = [
    ["no Z", d.utcTime("240101000000")],
    ["no seconds", d.utcTime("2401010000Z")],
    ["an offset", d.utcTime("240101000000+0100")],
    ["fractional seconds", d.genTime("20240101000000.5Z")],
    ["a 2-digit year in GeneralizedTime", d.genTime("240101000000Z")],
    ["month 13", d.utcTime("241301000000Z")],
    ["month 0", d.utcTime("240001000000Z")],
    ["day 0", d.utcTime("240100000000Z")],
    ["Feb 30", d.utcTime("240230000000Z")],
    ["Feb 29 in 2023", d.utcTime("230229000000Z")],
    ["Feb 29 in 2100", d.genTime("21000229000000Z")],
    ["April 31", d.utcTime("240431000000Z")],
    ["hour 24", d.utcTime("240101240000Z")],
    ["minute 60", d.utcTime("240101006000Z")],
    ["second 60", d.utcTime("240101000060Z")],
    ["a letter", d.utcTime("2401010000a0Z")],
    ["a lower-case z", d.utcTime("240101000000z")],
    ["not a time", d.int(1)],
    ["a constructed time", d.tlv(0x37, d.utcTime("240101000000Z"))],
  ];
  for (const [label, tlv] of bad) {
    it(`rejects ${label}`, () => assert.throws(() => time(tlv), DerError));
  }
  it("a bad time inside a certificate", () => {
    assert.throws(() => parseCertificate(d.certificate({ validity: d.seq(d.utcTime("240101000000Z"), d.int(1)) })), /UTCTime or GeneralizedTime/);
    assert.throws(() => parseCertificate(d.certificate({ validity: d.seq(d.utcTime("240101000000Z")) })), /expected notAfter/);
  });
});

describe("pemToDer and base64", () => {
  const block = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;

  it("decodes base64 exactly as Buffer does, for every length", () => {
    const rnd = mulberry32(99);
    for (let n = 0; n < 80; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
      const b64 = Buffer.from(bytes).toString("base64");
      assert.deepEqual(base64Decode(b64), bytes);
      // Wrapped at 64 columns, as in PEM.
      assert.deepEqual(base64Decode(b64.replace(/(.{64})/g, "$1\n")), bytes);
    }
  });

  it("decodes every block, ignoring other blocks and text", () => {
    const pem = `hello\n${block("MAA=")}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${block("MAMCAQE=")}`;
    assert.deepEqual(pemToDer(pem), [new Uint8Array([0x30, 0]), new Uint8Array([0x30, 3, 2, 1, 1])]);
    assert.deepEqual(pemToDer(""), []);
    assert.deepEqual(pemToDer("-----BEGIN TRUSTED CERTIFICATE-----\nMAA=\n-----END TRUSTED CERTIFICATE-----\n"), []);
  });

  const bad: [string, string, RegExp][] = [
    ["a missing END", "-----BEGIN CERTIFICATE-----\nMAA=\n", /certificate 1: missing "-----END CERTIFICATE-----"/],
    ["a BEGIN before the END", `-----BEGIN CERTIFICATE-----\nMAA=\n${block("MAA=")}`, /certificate 1: missing/],
    ["a bad character", block("MA*="), /invalid base64 character "\*"/],
    ["URL-safe base64", block("MA_-"), /invalid base64 character "_"/],
    ["missing padding", block("MAA"), /wrong length or with wrong padding/],
    ["too much padding", block("MA==="), /wrong/],
    ["data after padding", block("MA==MA=="), /after the "=" padding/],
    ["an empty block", block(""), /the block is empty/],
    ["a second bad block", `${block("MAA=")}${block("!!!!")}`, /certificate 2: invalid base64/],
  ];
  for (const [label, pem, error] of bad) {
    it(`rejects ${label}`, () => assert.throws(() => pemToDer(pem), (e: unknown) => e instanceof PemError && error.test(e.message)));
  }
});

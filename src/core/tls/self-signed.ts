import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der.js';

export interface SelfSignedOptions {
  /** DNS names and IP addresses the certificate is valid for (subjectAltName). */
  hosts: readonly string[];
  /** Subject common name. Default: the first DNS name. */
  commonName?: string;
  /** Validity in days from now. Default 3650. */
  days?: number;
  /** For tests: the moment the certificate starts to be valid. Default now minus one hour. */
  notBefore?: Date;
}

export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function name(commonName: string): Buffer {
  const rdn = (oid: string, value: string) => der.set(der.sequence(der.objectIdentifier(oid), der.utf8String(value)));
  return der.sequence(rdn(OID.organization, 'Wharf FTP server (self-signed)'), rdn(OID.commonName, commonName.slice(0, 64)));
}

function extension(oid: string, value: Buffer, critical = false): Buffer {
  return der.sequence(der.objectIdentifier(oid), ...(critical ? [der.booleanTrue()] : []), der.octetString(value));
}

/** GeneralName entries: dNSName [2] for names, iPAddress [7] (4 or 16 bytes) for addresses. */
function altNames(hosts: readonly string[]): Buffer {
  const names = hosts.map((host) => {
    const family = isIP(host);
    if (family === 4) return der.implicitPrimitive(7, Buffer.from(host.split('.').map(Number)));
    if (family === 6) return der.implicitPrimitive(7, ipv6Bytes(host));
    return der.implicitPrimitive(2, Buffer.from(host, 'ascii'));
  });
  return der.sequence(...names);
}

/** The 16 bytes of an IPv6 address (accepts `::` compression and a dotted IPv4 tail). */
export function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0]!;
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  const left = groups(gap < 0 ? text : text.slice(0, gap));
  const right = gap < 0 ? [] : groups(text.slice(gap + 2));
  const all = [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.slice(0, 8).forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  return out;
}

/**
 * Builds a self-signed X.509 v3 certificate with an ECDSA P-256 key, using only node:crypto:
 * the TBSCertificate is encoded by hand (see der.ts) and signed with the new key.
 * Valid for TLS servers (extendedKeyUsage serverAuth), not a CA, with subjectAltName for
 * every host given so clients that check names (curl --cacert) accept it.
 */
export function createSelfSignedCertificate(options: SelfSignedOptions): CertificatePair {
  const hosts = [...new Set(options.hosts.filter(Boolean))];
  if (hosts.length === 0) throw new Error('a certificate needs at least one host name');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The key identifier is the SHA-1 of the public key bits (RFC 5280 §4.2.1.2, method 1);
  // the uncompressed P-256 point is the last 65 bytes of the SubjectPublicKeyInfo.
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const notBefore = options.notBefore ?? new Date(Date.now() - 3600_000);
  const notAfter = new Date(notBefore.getTime() + (options.days ?? 3650) * 86_400_000);
  const commonName = options.commonName ?? hosts.find((h) => isIP(h) === 0) ?? hosts[0]!;
  const signatureAlgorithm = der.sequence(der.objectIdentifier(OID.ecdsaWithSha256));
  const subject = name(commonName);
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    subject, // issuer: self
    der.sequence(der.time(notBefore), der.time(notAfter)),
    subject,
    spki,
    der.explicit(
      3,
      der.sequence(
        extension(OID.basicConstraints, der.sequence(), true),
        extension(OID.extKeyUsage, der.sequence(der.objectIdentifier(OID.serverAuth))),
        extension(OID.subjectAltName, altNames(hosts)),
        extension(OID.subjectKeyIdentifier, der.octetString(keyId)),
        extension(OID.authorityKeyIdentifier, der.sequence(der.implicitPrimitive(0, keyId))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey); // ECDSA-Sig-Value, DER (what X.509 wants)
  const certificate = der.sequence(tbs, signatureAlgorithm, der.bitString(signature));
  return {
    certPem: toPem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

function toPem(label: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

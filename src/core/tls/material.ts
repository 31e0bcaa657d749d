import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as nodePath from 'node:path';
import { createSelfSignedCertificate } from './self-signed.js';

/**
 * Where the server's certificate comes from. Give `certFile` + `keyFile` (PEM files,
 * re-read on reload), or `cert` + `key` (PEM text), or nothing: then a self-signed
 * certificate is created once and kept in the state folder.
 */
export interface TlsOptions {
  /** PEM certificate chain, leaf first (intermediates after it). Used with `key`. */
  cert?: string | Buffer;
  /** PEM private key (unencrypted) for `cert`. */
  key?: string | Buffer;
  /** A PEM file with the certificate chain, leaf first. Used with `keyFile`; re-read by `reloadTls()`. */
  certFile?: string;
  /** A PEM file with the private key. */
  keyFile?: string;
  /** Extra names or addresses for a generated self-signed certificate (localhost, 127.0.0.1, ::1 and the host name are always in it). */
  hosts?: string[];
  /** Lowest protocol version accepted. Default 'TLSv1.2' (TLS 1.3 is always offered). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** A certificate and key ready for a secure context, with what users need to pin it. */
export interface TlsMaterial {
  /** PEM chain, leaf first. */
  cert: Buffer;
  /** PEM private key. */
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, `AB:CD:...` (what clients pin). */
  fingerprint256: string;
  subject: string;
  validTo: string;
  source: 'files' | 'inline' | 'self-signed';
  /** The certificate file (given, or the generated one in the state folder). */
  certPath?: string;
  /** True when the self-signed certificate was created by this call. */
  created: boolean;
}

export const SELF_SIGNED_CERT = 'tls/self-signed-cert.pem';
export const SELF_SIGNED_KEY = 'tls/self-signed-key.pem';

/** Reads (or creates) the certificate and key the options describe; errors say what is wrong and where. */
export function loadTlsMaterial(options: TlsOptions | true, stateDir: string): TlsMaterial {
  const o = options === true ? {} : options;
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) throw new Error('TLS: a certificate file and a key file go together (--tls-cert FILE --tls-key FILE)');
  if ((o.cert === undefined) !== (o.key === undefined)) throw new Error('TLS: `cert` and `key` go together');
  if (o.certFile && o.keyFile) {
    const cert = readPem(o.certFile, 'certificate');
    const key = readPem(o.keyFile, 'key');
    return { ...describe(cert, key, `${o.certFile} / ${o.keyFile}`), source: 'files', certPath: nodePath.resolve(o.certFile), created: false };
  }
  if (o.cert !== undefined && o.key !== undefined) {
    return { ...describe(Buffer.from(o.cert), Buffer.from(o.key), 'the given cert/key'), source: 'inline', created: false };
  }
  return selfSigned(stateDir, o.hosts ?? []);
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`TLS: cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

function describe(cert: Buffer, key: Buffer, where: string): Omit<TlsMaterial, 'source' | 'created'> {
  const leafPem = PEM_CERT.exec(cert.toString('latin1'))?.[0];
  if (!leafPem) throw new Error(`TLS: no PEM certificate found in ${where}`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (err) {
    throw new Error(`TLS: the certificate in ${where} cannot be parsed: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`TLS: the private key in ${where} cannot be parsed (encrypted keys are not supported): ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new Error(`TLS: the private key does not belong to the certificate (${where})`);
  return { cert, key, fingerprint256: leaf.fingerprint256, subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo };
}

/**
 * The self-signed certificate in `stateDir`, created on first use (key file mode 600, in a
 * folder of mode 700). An expired one is replaced; an unreadable one is an error (never
 * silently overwritten: users may have pinned it).
 */
function selfSigned(stateDir: string, extraHosts: readonly string[]): TlsMaterial {
  const certPath = nodePath.join(stateDir, SELF_SIGNED_CERT);
  const keyPath = nodePath.join(stateDir, SELF_SIGNED_KEY);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const found = { ...describe(readPem(certPath, 'certificate'), readPem(keyPath, 'key'), certPath), source: 'self-signed' as const, certPath, created: false };
    if (new Date(found.validTo).getTime() > Date.now() + 86_400_000) return found;
  }
  const host = hostname();
  const pair = createSelfSignedCertificate({ hosts: ['localhost', ...(host && host !== 'localhost' ? [host] : []), '127.0.0.1', '::1', ...extraHosts], commonName: host || 'localhost' });
  mkdirSync(nodePath.dirname(certPath), { recursive: true, mode: 0o700 });
  writeAtomically(keyPath, pair.keyPem, 0o600);
  writeAtomically(certPath, pair.certPem, 0o644);
  return { ...describe(Buffer.from(pair.certPem), Buffer.from(pair.keyPem), certPath), source: 'self-signed', certPath, created: true };
}

function writeAtomically(path: string, text: string, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode); // the umask may have narrowed or (for an existing file) kept other bits
  renameSync(temp, path);
}

import * as nodePath from 'node:path';
import type { WharfOptions, WharfServer } from '../server.js';
import { ServerTls } from '../ftp/tls-config.js';
import type { Logger } from '../core/logger.js';

/** Start-up lines about FTPS: where it listens, which certificate, the fingerprint to pin. */
export function tlsBanner(server: WharfServer): string[] {
  const cert = server.tlsCertificate;
  if (!cert) return [];
  const { options } = server;
  const addresses = server.addresses();
  const lines: string[] = [];
  const modes: string[] = [];
  if (options.tls && !options.listeners?.length) modes.push(`explicit FTPS (AUTH TLS) on port ${addresses[0]?.port}`);
  if (options.implicitPort !== undefined) modes.push(`implicit FTPS on port ${addresses[addresses.length - 1]?.port}`);
  if (modes.length) lines.push(`FTPS: ${modes.join('; ')}`);
  const origin =
    cert.source === 'self-signed'
      ? `self-signed${cert.created ? ', created now' : ''}, kept in ${cert.certPath}`
      : cert.source === 'files'
        ? `from ${cert.certPath}`
        : 'given inline';
  lines.push(`TLS certificate: ${cert.subject} (${origin}; valid until ${cert.validTo})`);
  lines.push(`SHA-256 fingerprint: ${cert.fingerprint256}`);
  if (cert.source === 'self-signed') lines.push('Clients see an unknown certificate: compare this fingerprint once, then pin or trust it.');
  if (options.requireTls) lines.push('TLS is required: no login before AUTH TLS, no transfer without PROT P.');
  if (options.tlsSessionReuse === false) lines.push('TLS session reuse is NOT enforced on data connections (--no-tls-session-reuse).');
  lines.push('kill -HUP this process to reload the certificate without dropping sessions.');
  return lines;
}

/** SIGHUP: re-read the certificate; on failure keep serving with the old one and say why. */
export function reloadTlsOnSignal(server: WharfServer, log: Logger): void {
  if (!server.tlsCertificate) return;
  try {
    const cert = server.reloadTls();
    log.info({ fingerprint256: cert.fingerprint256, validTo: cert.validTo }, 'TLS certificate reloaded');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'TLS certificate not reloaded; keeping the previous one');
  }
}

/**
 * With --workers, every worker loads the certificate itself. A self-signed one must exist
 * before they start, or each would create its own on the first run (different fingerprints
 * per connection). Creating it here, in the supervisor, also reports problems once.
 */
export function prepareSelfSignedForWorkers(options: WharfOptions): void {
  if (!options.tls && options.implicitPort === undefined) return;
  ServerTls.create(options, ['explicit'], nodePath.resolve(options.root ?? '.'));
}

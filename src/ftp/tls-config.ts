import * as nodePath from 'node:path';
import { loadTlsMaterial, type TlsMaterial, type TlsOptions } from '../core/tls/material.js';
import { defaultStateDir, isInsideFolder } from '../core/state-dir.js';
import type { ListenerTls } from './context.js';
import { FtpTls } from './tls.js';

/** The server options FTPS reads (a slice of WharfOptions). */
export interface ServerTlsOptions {
  tls?: TlsOptions | true;
  requireTls?: boolean;
  tlsSessionReuse?: boolean;
  stateDir?: string;
}

/**
 * The server's FTPS: the certificate (loaded once, reloaded on demand) and one FtpTls engine
 * per TLS listener. Created only when some listener uses TLS.
 */
export class ServerTls {
  private readonly engines: FtpTls[] = [];
  private current: TlsMaterial;

  private constructor(
    private readonly options: ServerTlsOptions,
    private readonly stateDir: string,
  ) {
    this.current = loadTlsMaterial(options.tls ?? true, stateDir);
  }

  /**
   * Validates the TLS options against the listeners and loads the certificate. A listener
   * that asks for TLS without a certificate gets the self-signed one. Throws with a message
   * a user can act on (bad files, key not matching, state folder inside the served folder).
   */
  static create(options: ServerTlsOptions, modes: readonly ListenerTls[], servedRoot: string): ServerTls | undefined {
    const wanted = options.tls !== undefined || modes.some((m) => m !== 'none');
    if (!wanted) {
      if (options.requireTls) throw new Error('requireTls needs TLS: configure a certificate (--tls, or --tls-cert and --tls-key)');
      return undefined;
    }
    const stateDir = nodePath.resolve(options.stateDir ?? defaultStateDir());
    const selfSigned = options.tls === undefined || options.tls === true || (!options.tls.certFile && options.tls.cert === undefined);
    if (selfSigned && isInsideFolder(stateDir, servedRoot)) {
      throw new Error(`the state folder ${stateDir} is inside the served folder ${servedRoot}, so clients could download the TLS private key; choose another with --state-dir`);
    }
    return new ServerTls(options, stateDir);
  }

  /** A new engine for one listener (its own secure context, session cache and ticket keys). */
  engineFor(mode: ListenerTls): FtpTls | undefined {
    if (mode === 'none') return undefined;
    const engine = new FtpTls(this.current, {
      requireTls: this.options.requireTls ?? false,
      sessionReuse: this.options.tlsSessionReuse ?? true,
      minVersion: (this.options.tls !== true && this.options.tls?.minVersion) || 'TLSv1.2',
    });
    this.engines.push(engine);
    return engine;
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** Re-reads the certificate files (or the self-signed pair) and uses them for new handshakes. */
  reload(): TlsMaterial {
    const material = loadTlsMaterial(this.options.tls ?? true, this.stateDir);
    for (const engine of this.engines) engine.setMaterial(material);
    this.current = material;
    return material;
  }
}

import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/**
 * TYPE A on the way out: bare LF becomes CRLF; an existing CRLF is left alone (also when
 * the CR ended the previous chunk), so files that already use CRLF do not gain a second CR.
 */
export class LfToCrlf extends Transform {
  private lastWasCr = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let extra = 0;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.lastWasCr ? CR : -1;
      if (prev !== CR) extra++;
    }
    if (extra === 0) {
      this.lastWasCr = chunk.length > 0 ? chunk[chunk.length - 1] === CR : this.lastWasCr;
      done(null, chunk);
      return;
    }
    const out = Buffer.allocUnsafe(chunk.length + extra);
    let o = 0;
    let start = 0;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.lastWasCr ? CR : -1;
      if (prev === CR) continue;
      o += chunk.copy(out, o, start, i);
      out[o++] = CR;
      start = i;
    }
    o += chunk.copy(out, o, start);
    this.lastWasCr = chunk[chunk.length - 1] === CR;
    done(null, out.subarray(0, o));
  }
}

/** TYPE A on the way in: CRLF becomes LF, including a CR and LF split across two reads. */
export class CrlfToLf extends Transform {
  private heldCr = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let o = 0;
    let i = 0;
    if (this.heldCr) {
      this.heldCr = false;
      if (chunk[0] !== LF) out[o++] = CR;
    }
    const end = chunk[chunk.length - 1] === CR ? chunk.length - 1 : chunk.length;
    if (end < chunk.length) this.heldCr = true;
    while (i < end) {
      const cr = chunk.indexOf(CR, i);
      if (cr < 0 || cr >= end) {
        o += chunk.copy(out, o, i, end);
        break;
      }
      o += chunk.copy(out, o, i, cr);
      if (chunk[cr + 1] !== LF) out[o++] = CR;
      i = cr + 1;
    }
    done(null, out.subarray(0, o));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.heldCr ? Buffer.from([CR]) : undefined);
  }
}

/**
 * Reply formatting per RFC 959: single line `NNN text`, or multi-line `NNN-first` ...
 * `NNN last`, where inner lines that start with a digit are indented so no client mistakes
 * them for the end. CR and LF never pass from input into a reply.
 */
export function formatReply(code: number, text: string | readonly string[]): string {
  if (typeof text === 'string') return `${code} ${sanitizeReplyText(text)}\r\n`; // most replies: no array
  const lines = text.map(sanitizeReplyText);
  if (lines.length <= 1) return `${code} ${lines[0] ?? ''}\r\n`;
  let out = `${code}-${lines[0]}\r\n`;
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i]!;
    out += (/^\d/.test(line) || line === '' ? ' ' : '') + line + '\r\n';
  }
  out += `${code} ${lines[lines.length - 1]}\r\n`;
  return out;
}

export function sanitizeReplyText(text: string): string {
  return text.replace(/[\r\n\0]/g, ' ');
}

/** `257 "<path>"`: every `"` in the path is doubled (RFC 959 appendix II). */
export function quotePath(path: string): string {
  return `"${sanitizeReplyText(path).replace(/"/g, '""')}"`;
}

import { RawClient } from './raw.js';
import { TEST_PASSWORD, TEST_USER, type TestServer } from './server.js';

/**
 * A raw control connection past the greeting, logged in as the test user unless told not
 * to, optionally already in TYPE I.
 */
export async function rawSession(srv: TestServer, options: { login?: boolean; binary?: boolean; localAddress?: string; host?: string } = {}): Promise<RawClient> {
  const c = await RawClient.connect(srv.port, options.host ?? srv.host, options.localAddress);
  const greeting = await c.read();
  if (greeting.code !== 220) throw new Error(`greeting was ${greeting.text}`);
  if (options.login !== false) {
    const r = await c.login(TEST_USER, TEST_PASSWORD);
    if (r.code !== 230) throw new Error(`login answered ${r.text}`);
  }
  if (options.binary) {
    const r = await c.send('TYPE I');
    if (r.code !== 200) throw new Error(`TYPE I answered ${r.text}`);
  }
  return c;
}

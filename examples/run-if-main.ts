import { pathToFileURL } from 'node:url';
import type { WharfServer } from 'wharf';

/**
 * Lets each example be both a module the tests import and a script you run:
 * `node dist/examples/embed-basic.js`. Runs `main` only when the file is the entry point,
 * and closes the server gracefully on Ctrl+C.
 */
export function runIfMain(moduleUrl: string, main: () => Promise<WharfServer>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    (server) => {
      process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

import { CommandTable } from '../registry.js';
import { authCommands } from './auth.js';
import { tlsCommands } from './tls.js';
import { navigationCommands } from './navigation.js';
import { fileCommands } from './files.js';
import { dataSetupCommands } from './data-setup.js';
import { transferCommands } from './transfer.js';
import { listingCommands } from './listing.js';
import { miscCommands } from './misc.js';
import { siteCommand } from './site.js';
import { hashCommands } from './hash.js';

/** The full FTP command table. Adding a command means adding one entry to one of these lists. */
export function createCommandTable(): CommandTable {
  return new CommandTable([
    ...authCommands,
    ...tlsCommands,
    ...navigationCommands,
    ...fileCommands,
    ...dataSetupCommands,
    ...transferCommands,
    ...listingCommands,
    ...miscCommands,
    siteCommand,
    ...hashCommands,
  ]);
}

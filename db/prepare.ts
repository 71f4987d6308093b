import type { FanzhaConfig } from '#config/index.js';
import { openDatabase, type DatabaseHandle } from './client.js';
import { createUserStore } from './users.js';

/** Opens the configured database, applies migrations and performs the FANZHA_ADMIN_TOKEN bootstrap. */
export async function prepareDatabase(config: FanzhaConfig, poolSize?: number): Promise<DatabaseHandle> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize });
  try {
    await database.migrate();
    if (config.adminToken) await createUserStore(database.db).ensureAdmin(config.adminToken);
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** `npm run migrate`: applies the committed migrations to DATABASE_URL (or the embedded PGlite). */
import { loadConfigOrExit } from '#config/index.js';
import { openDatabase } from './client.js';

const config = loadConfigOrExit();
const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
try {
  await database.migrate();
  console.log(`Migrations applied (${database.kind}).`);
} finally {
  await database.close();
}

/** `npm run api`: one API process. Several can run side by side against one cluster and database. */
import closeWithGrace from 'close-with-grace';
import { loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { buildApp } from './app.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { startTracing } from '#services/tracing.js';

const config = loadConfigOrExit(process.env, { banks: true, auditKey: true });
if (!config.databaseUrl) {
  console.error(
    'Configuration error: DATABASE_URL is required to run the API on its own (the embedded PGlite serves one process: use `npm start`).',
  );
  process.exit(2);
}
const tracing = await startTracing(config.tracing, 'fanzha-api');
const database = await prepareDatabase(config);
const temporal = createTemporalClient(config);
const app = await buildApp({ config, database, temporal });

closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
  await temporal.connection.close();
  await database.close();
  await tracing?.shutdown();
});

await app.listen({ host: config.host, port: config.port });

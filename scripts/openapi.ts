/**
 * `npm run openapi`: writes the OpenAPI document the API serves at /openapi.json to openapi.json, in a
 * stable order and formatted as Prettier would, so a change of contract shows in review and
 * `npm run lint` checks it with Redocly. tests/unit/openapi.test.ts fails when the file is stale.
 *
 * The app is built without listening and without a database or Temporal: the document comes from the
 * route schemas alone, so this runs anywhere in a few seconds.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { drizzle } from 'drizzle-orm/postgres-js';
import prettier from 'prettier';
import { buildApp } from '#api/app.js';
import { loadConfig } from '#config/index.js';
import type { Database, DatabaseHandle } from '#db/client.js';
import * as schema from '#db/schema.js';

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.json', import.meta.url));

/** No database: a query (the hourly Idempotency-Key purge at start) fails at once, and its failure is only logged. */
const noDatabase: DatabaseHandle = {
  db: drizzle.mock({ schema }) as unknown as Database,
  kind: 'postgres',
  listen: () => ({ stop: async () => {} }),
  migrate: async () => {},
  ping: async () => {
    throw new Error('no database: building the OpenAPI document only');
  },
  close: async () => {},
};

/** The document as the API serves it at /openapi.json. */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ FANZHA_LOG_LEVEL: 'silent' });
  // Lazy: it never connects, as nothing here calls Temporal.
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const app = await buildApp({ config, database: noDatabase, temporal });
  try {
    const served = await app.inject({ method: 'GET', url: '/openapi.json' });
    if (served.statusCode !== 200) throw new Error(`GET /openapi.json answered ${served.statusCode}: ${served.body}`);
    return served.json();
  } finally {
    await app.close();
  }
}

const byKey = (object: object) =>
  Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The file's text: paths and schemas in alphabetical order (route loading order is the file system's), Prettier's format. */
export async function documentText(document: Record<string, unknown>): Promise<string> {
  const components = document.components as { schemas?: object } | undefined;
  const stable = {
    ...document,
    paths: byKey(document.paths as object),
    ...(components?.schemas ? { components: { ...components, schemas: byKey(components.schemas) } } : {}),
  };
  const options = await prettier.resolveConfig(OPENAPI_FILE);
  return prettier.format(JSON.stringify(stable), { ...options, filepath: OPENAPI_FILE });
}

/** What `npm run openapi` writes, next to what is committed. */
export async function openApiFiles(): Promise<{ path: string; expected: string; committed: string | null }[]> {
  const expected = await documentText(await servedDocument());
  const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => null);
  return [{ path: OPENAPI_FILE, expected, committed }];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of await openApiFiles()) {
    if (file.expected === file.committed) {
      console.log(`${file.path}: up to date`);
    } else {
      await writeFile(file.path, file.expected);
      console.log(`${file.path}: written`);
    }
  }
}

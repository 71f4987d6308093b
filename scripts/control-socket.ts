/**
 * The application process's local control socket, `<data folder>/control.sock` (mode 0600): how
 * `npm run backup` gets a dump of the embedded PGlite database from the one process that holds it.
 * A Unix socket rather than an API endpoint: only someone who can already read the data folder can
 * use it, it is never on the network, and the backup needs no admin token lying around for cron.
 */
import { chmodSync, createWriteStream, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dumpEmbeddedDatabase, type DatabaseDumpInfo } from '#backup/embedded.js';
import type { DatabaseHandle } from '#db/client.js';

export const CONTROL_SOCKET = 'control.sock';
const DUMP_PATH = '/database-dump';

/** Serves the control socket until `close`; only for the embedded database (the one with dumpDataDir). */
export async function serveControlSocket(
  dataDir: string,
  database: DatabaseHandle,
  log: (line: string) => void,
): Promise<{ close(): Promise<void> }> {
  const socket = path.join(dataDir, CONTROL_SOCKET);
  // The data folder's lock says no other process serves it: a socket file left here is a dead one's.
  rmSync(socket, { force: true });
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== DUMP_PATH) {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        const { dump, info } = await dumpEmbeddedDatabase(database);
        log(`database dumped for a backup (${dump.size} bytes)`);
        res.writeHead(200, { 'content-type': 'application/gzip', 'x-fanzha-dump': JSON.stringify(info) });
        res.end(Buffer.from(await dump.arrayBuffer()));
      } catch (error) {
        log(`database dump failed: ${(error as Error).message}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end((error as Error).message);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  chmodSync(socket, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(socket, { force: true });
      }),
  };
}

/** Asks the running application process for its database dump, written to `to`. */
export function requestDatabaseDump(dataDir: string, to: string): Promise<DatabaseDumpInfo> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path.join(dataDir, CONTROL_SOCKET), method: 'POST', path: DUMP_PATH }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(new Error(`the application process could not dump its database: ${body}`)));
        return;
      }
      const info = JSON.parse(String(res.headers['x-fanzha-dump'])) as DatabaseDumpInfo;
      pipeline(res, createWriteStream(to, { mode: 0o600 })).then(() => resolve(info), reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? new Error(
              `no running \`npm start\` answers on ${path.join(dataDir, CONTROL_SOCKET)}: back up a running embedded system (FANZHA_DATA_DIR names its folder)`,
            )
          : error,
      ),
    );
    req.end();
  });
}

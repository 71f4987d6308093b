/**
 * `npm run admin -- <command>`: users and tokens straight in the database, for the first admin of a
 * PostgreSQL deployment or a stopped embedded system (PGlite serves one process at a time: while
 * `npm start` holds the data folder it refuses, exit code 2).
 *
 *   npm run admin -- create-user --name 王五 --roles operator,supervisor [--station haibowan-01]
 *   npm run admin -- issue-token --user u_xxx [--label laptop]
 *   npm run admin -- list-users
 *   npm run admin -- enroll --user wang.wu      (a one-time link to set the console password, 24 h)
 */
import { loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { COMMAND_LINE, createUserStore } from '#db/users.js';
import { ROLES, type Role } from '#domain/roles.js';
import { createSessionService } from '#services/sessions.js';
import { lockEmbeddedDatabaseOrExit } from './data-dir-lock.js';

const [command, ...rest] = process.argv.slice(2);
const option = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};
const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};

const config = loadConfigOrExit();
// PGlite serves one process: never beside a running `npm start` (or another tool) on the same data folder.
lockEmbeddedDatabaseOrExit(config, 'npm run admin');
const database = await prepareDatabase(config);
const users = createUserStore(database.db);
try {
  if (command === 'create-user') {
    const name = option('name') ?? fail('--name is required');
    const roles = (option('roles') ?? fail('--roles is required (comma separated)')).split(',') as Role[];
    const unknown = roles.filter((r) => !ROLES.includes(r));
    if (unknown.length) fail(`unknown roles: ${unknown.join(', ')} (known: ${ROLES.join(', ')})`);
    const stationId = option('station') ?? null;
    if (roles.includes('station') !== (stationId !== null))
      fail('--station is required for, and only for, the station role');
    console.log(JSON.stringify(await users.create({ name, roles, stationId, userId: option('login') }, COMMAND_LINE)));
  } else if (command === 'issue-token') {
    const userId = option('user') ?? fail('--user is required');
    if (!(await users.get(userId))) fail(`no user ${userId}`);
    console.log(JSON.stringify(await users.issueToken(userId, option('label') ?? null, COMMAND_LINE)));
  } else if (command === 'enroll') {
    const userId = option('user') ?? fail('--user is required');
    // The command line acts as the admin: the link is issued on its behalf, as the API would for an admin.
    const sessions = createSessionService({ db: database.db, users });
    const { token, expiresAt } = await sessions.enroll(
      { userId: COMMAND_LINE, name: 'admin (command line)', roles: ['admin'], stationId: null },
      userId,
    );
    console.log(`http://${config.host}:${config.port}/enroll/${token}   (valid until ${expiresAt.toISOString()})`);
  } else if (command === 'list-users') {
    for (const user of await users.staff(1000)) console.log(JSON.stringify(user));
  } else {
    fail(
      'commands: create-user --name N --roles r1,r2 [--station S] [--login L] | issue-token --user U [--label L] | enroll --user U | list-users',
    );
  }
} finally {
  await database.close();
}

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { latestScheduledBackup } from '#backup/folder.js';
import { problem, withExample } from '../schemas/common.js';
import { Problem } from '../problem.js';

async function check(probe: () => Promise<unknown>): Promise<'ok' | 'unreachable'> {
  try {
    await probe();
    return 'ok';
  } catch {
    return 'unreachable';
  }
}

export default async function health(app: FastifyInstance) {
  /** The newest scheduled backup, read from its folder (it outlives restarts there); nothing without a schedule. */
  const lastBackup = () => {
    if (!app.config.backup) return {};
    let latest;
    try {
      latest = latestScheduledBackup(app.config.backup.dir);
    } catch (error) {
      app.log.warn({ err: error }, 'readyz: the backup folder could not be listed');
      return { backup: 'unreadable' as const };
    }
    return {
      backup: latest ? { lastAt: latest.at.toISOString(), bytes: latest.bytes, file: latest.file } : ('never' as const),
    };
  };

  app.get(
    '/healthz',
    // Alive even when overloaded: a liveness probe must not restart a busy process.
    {
      config: { public: true, pressureHandler: () => {} },
      schema: {
        operationId: 'getLiveness',
        tags: ['health'],
        summary: 'The process is alive (answers even while overloaded)',
        security: [],
        response: {
          200: withExample(Type.Object({ status: Type.Literal('ok') }, { description: 'Alive' }), { status: 'ok' }),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Temporal and the database answer: this process can serve requests',
        security: [],
        response: {
          200: withExample(
            Type.Object(
              {
                status: Type.Literal('ready'),
                temporal: Type.Literal('ok'),
                database: Type.Literal('ok'),
                bank: Type.Union([Type.Literal('gateway'), Type.Literal('simulator')], {
                  description:
                    'simulator: no real bank learns of a stop-payment (the embedded demo, FANZHA_BANK_SIMULATOR=1)',
                }),
                backup: Type.Optional(
                  Type.Union(
                    [
                      Type.Object({
                        lastAt: Type.String({ format: 'date-time', description: 'When the newest backup was started' }),
                        bytes: Type.Integer({ minimum: 0 }),
                        file: Type.String({ description: 'Its file name in FANZHA_BACKUP_DIR' }),
                      }),
                      Type.Literal('never'),
                      Type.Literal('unreadable'),
                    ],
                    {
                      description:
                        'Only with scheduled backups (FANZHA_BACKUP_EVERY): the newest backup in the backup folder, never (none there yet), or unreadable (the folder could not be listed). Informational: it does not make the process unready.',
                    },
                  ),
                ),
              },
              { description: 'Ready: Temporal and the database answered within 2 s' },
            ),
            { status: 'ready', temporal: 'ok', database: 'ok', bank: 'gateway' },
          ),
          503: problem('Temporal or the database is unreachable, or the API is overloaded'),
        },
      },
    },
    async () => {
      const [temporal, database] = await Promise.all([
        check(() =>
          app.temporal.connection.withDeadline(Date.now() + 2_000, () =>
            app.temporal.workflowService.getSystemInfo({}),
          ),
        ),
        check(() => app.database.ping(2_000)),
      ]);
      const bank = app.config.bankSimulator ? ('simulator' as const) : ('gateway' as const);
      if (temporal === 'ok' && database === 'ok')
        return { status: 'ready' as const, temporal, database, bank, ...lastBackup() };
      const down = [temporal !== 'ok' && 'Temporal', database !== 'ok' && 'the database'].filter(Boolean).join(' and ');
      throw new Problem(503, 'unavailable', `Not ready: ${down} unreachable.`, { temporal, database });
    },
  );
}

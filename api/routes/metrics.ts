/**
 * GET /metrics for Prometheus, on the API's own port behind a bearer token of its own
 * (FANZHA_METRICS_TOKEN; without it there is no such route): request figures from the prometheus
 * plugin, and the supervisor's figures read from the database at each scrape (services/operations.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Gauge, Registry } from 'prom-client';
import { Type } from 'typebox';
import { latestScheduledBackup } from '#backup/folder.js';
import type { FanzhaConfig } from '#config/index.js';
import type { OperationsFigures } from '#services/operations.js';
import { ProblemSchema } from '../schemas/common.js';
import { Problem } from '../problem.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The supervisor's figures, in a registry of their own: a scrape that could not read them leaves it out. */
function domainGauges(app: FastifyInstance) {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = [], registers = [registry]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const level = ['state', 'escalation_level'] as const;
  const figuresUp = gauge(
    'fanzha_figures_up',
    'Whether this scrape read the supervisor’s figures from the database (1), or could not (0: the fanzha_* figures are absent)',
    [],
    [app.metricsRegistry],
  );
  const gauges = {
    alerts: gauge('fanzha_alerts_open', 'Open alerts by state and escalation level', level),
    alertsOverdue: gauge(
      'fanzha_alerts_overdue',
      'Open alerts past their deadline, by state and escalation level',
      level,
    ),
    stopPayments: gauge(
      'fanzha_stop_payments_open',
      'Stop-payment cases pending approval or active, by state and escalation level (a level above 0: its approval deadline was missed)',
      level,
    ),
    holdsExpiring: gauge(
      'fanzha_holds_expiring',
      'Holds whose money is released at expiry unless someone acts, expiring within their reminder: stopped (lapses unless frozen) or frozen (expires unless renewed)',
      ['state', 'within_seconds'],
    ),
    holdSoonest: gauge(
      'fanzha_hold_soonest_expiry_seconds',
      'Seconds until the soonest stopped or frozen hold expires (negative: overdue for its workflow)',
      ['state'],
    ),
    undelivered: gauge('fanzha_notifications_undelivered', 'Notifications the outbox has not delivered'),
    undeliveredAge: gauge(
      'fanzha_notification_oldest_undelivered_age_seconds',
      'Age of the oldest undelivered notification (0: none)',
    ),
    archiveLag: gauge(
      'fanzha_archive_lag_seconds',
      'Since when the oldest closed alert or case waits for the audit archive (0: none waits)',
    ),
    lastArchived: gauge(
      'fanzha_archive_last_archived_timestamp_seconds',
      'When the archive last took a history (Unix time; 0: never)',
    ),
  };
  /**
   * Each scrape sets every figure anew: a label set that is gone (no alert left at a level) disappears.
   * Without figures (the database unreachable) they are all absent, never stale or zero, and the rest
   * is served. Returns the registries to serve.
   */
  return (figures: OperationsFigures | null): Registry[] => {
    figuresUp.set(figures ? 1 : 0);
    if (!figures) return [app.metricsRegistry];
    for (const g of Object.values(gauges)) g.reset();
    for (const row of figures.alerts) {
      const labels = { state: row.state, escalation_level: String(row.escalationLevel) };
      gauges.alerts.set(labels, row.open);
      gauges.alertsOverdue.set(labels, row.overdue);
    }
    for (const row of figures.stopPayments)
      gauges.stopPayments.set({ state: row.state, escalation_level: String(row.escalationLevel) }, row.open);
    for (const hold of figures.holdsRunningOut) {
      gauges.holdsExpiring.set({ state: hold.state, within_seconds: String(hold.withinSeconds) }, hold.expiring);
      if (hold.soonestSeconds !== null) gauges.holdSoonest.set({ state: hold.state }, hold.soonestSeconds);
    }
    gauges.undelivered.set(figures.notifications.undelivered);
    gauges.undeliveredAge.set(figures.notifications.oldestUndeliveredSeconds);
    gauges.archiveLag.set(figures.archive.lagSeconds);
    if (figures.archive.lastArchivedAt) gauges.lastArchived.set(figures.archive.lastArchivedAt.getTime() / 1000);
    return [app.metricsRegistry, registry];
  };
}

/**
 * The scheduled backups' figures (only with FANZHA_BACKUP_EVERY), read from the backup folder at each
 * scrape — apart from the database's figures: a backup's age matters most when the database is gone.
 * Returns the registry to serve, or none.
 */
export function backupGauges(schedule: FanzhaConfig['backup']) {
  if (!schedule) return () => [];
  const registry = new Registry();
  new Gauge({
    name: 'fanzha_backup_interval_seconds',
    help: 'How often a backup is scheduled (FANZHA_BACKUP_EVERY)',
    registers: [registry],
  }).set(schedule.everyMs / 1000);
  return (log: Pick<FastifyRequest['log'], 'warn'>): Registry[] => {
    let latest;
    try {
      latest = latestScheduledBackup(schedule.dir);
    } catch (error) {
      log.warn({ err: error }, 'metrics: the backup folder could not be listed');
    }
    if (!latest) return [registry];
    // Made afresh at each scrape: a gauge without labels cannot be absent once made (reset() sets 0, which
    // would read as a backup 56 years old), and "none yet" must be no series at all.
    const last = new Registry();
    new Gauge({
      name: 'fanzha_backup_last_success_timestamp_seconds',
      help: 'When the newest backup in FANZHA_BACKUP_DIR was started (Unix time; absent: none yet)',
      registers: [last],
    }).set(latest.at.getTime() / 1000);
    new Gauge({
      name: 'fanzha_backup_last_size_bytes',
      help: 'The size of the newest backup in FANZHA_BACKUP_DIR (absent: none yet)',
      registers: [last],
    }).set(latest.bytes);
    return [registry, last];
  };
}

export default async function metrics(app: FastifyInstance) {
  const token = app.config.metrics.token;
  if (!token) return;
  const expected = digest(token);
  const setFigures = domainGauges(app);
  const setBackupFigures = backupGauges(app.config.backup);

  app.get(
    '/metrics',
    {
      // Prometheus holds no user: its own token, checked below. Answered even while the API sheds load.
      config: { public: true, pressureHandler: () => {} },
      // A scrape every few seconds is not worth a log line; a figure it could not read still is (warn).
      logLevel: 'warn',
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        // Guessing this token costs what guessing a user's does: the same per-address budget.
        app.authFailures.refuseIfBlocked(request, reply);
        const match = /^Bearer (.{1,512})$/.exec(request.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          app.authFailures.failed(request);
          throw new Problem(401, 'unauthenticated', 'Send FANZHA_METRICS_TOKEN as "Authorization: Bearer <token>".');
        }
      },
      schema: {
        // Not in the OpenAPI document: it exists only where FANZHA_METRICS_TOKEN is set, and the document
        // is the same in every deployment (README "Metrics" describes it).
        hide: true,
        tags: ['health'],
        summary: 'Prometheus metrics',
        description:
          'Request rate and latency per route and status, the process, and the supervisor’s figures read from the database (the same in every API process).',
        response: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } },
          401: ProblemSchema,
          429: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      // Request and process figures matter most while the database is down: serve them anyway.
      const registries = setFigures(
        await app.services.operations.figures().catch((error: unknown) => {
          request.log.warn({ err: error }, 'metrics: the supervisor’s figures could not be read');
          return null;
        }),
      );
      const served = Registry.merge([...registries, ...setBackupFigures(request.log)]);
      return reply.type(served.contentType).send(await served.metrics());
    },
  );
}

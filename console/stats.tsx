/**
 * Statistics (统计) for supervisors and auditors: a period of days in the center's zone, kept in the URL
 * so a view can be bookmarked; alerts received over time, outcomes, deadline breaches, median and p90
 * times, and alerts by fraud type, station and risk — each a server-drawn chart whose bars link to the
 * matching list (/alerts), with the same figures as a table; and a CSV export of the period.
 */
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ALERT_OUTCOMES, ALERT_STATES, FRAUD_TYPES, RISK_LEVELS, type AlertOutcome } from '#domain/alert.js';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import type { AlertFilters } from '#services/alerts.js';
import type { Services } from '#services/index.js';
import { yuan } from './cases.js';
import { barChart, timeChart, type Bar } from './charts.js';
import { localNow, zonedIso, type Form } from './forms.js';
import { fraudKey, riskKey, sayRefusal, type MessageKey } from './i18n.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { AlertLine, document, Notice, Page, type View, sendHtml } from './layout.js';

type Stats = Awaited<ReturnType<Services['stats']['forPeriod']>>;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The days asked for (default: the last seven), and the instants [from, to) they are in the center's zone. */
function periodOf(query: Form, zone: string) {
  const today = localNow(zone).slice(0, 10);
  const to = DATE.test(query.to ?? '') ? query.to! : today;
  const from = DATE.test(query.from ?? '') ? query.from! : addDays(to, -6);
  return { days: { from, to }, from: zonedIso(`${from}T00:00`, zone), to: zonedIso(`${addDays(to, 1)}T00:00`, zone) };
}

const minutes = (seconds: number | null) => (seconds === null ? 0 : Math.round((seconds / 60) * 10) / 10);

function Figure(props: { view: View; id: string; title: string; svg: string; bars: Bar[]; unit: string }) {
  const { t } = props.view;
  return (
    <figure class="card chart" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div class="chart-svg" dangerouslySetInnerHTML={{ __html: props.svg }} />
      <details>
        <summary>{t('stats.table')}</summary>
        <table class="log">
          <tbody>
            {props.bars.map((bar) => (
              <tr>
                <th scope="row">{bar.href ? <a href={bar.href}>{bar.label}</a> : bar.label}</th>
                <td>
                  {bar.value} {props.unit}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function Charts(props: {
  view: View;
  stats: Stats;
  overTime: { unit: string; buckets: { at: string; received: number }[] };
}) {
  const { view, stats } = props;
  const { t } = view;
  const a = stats.alerts;
  const list = (filters: Record<string, string>) => `/alerts?${new URLSearchParams(filters)}`;
  const figures: { id: string; title: string; unit: string; bars: Bar[]; svg?: string }[] = [
    {
      id: 'outcomes',
      title: t('stats.outcomes'),
      unit: t('stats.alertsUnit'),
      bars: ALERT_OUTCOMES.map((o) => ({
        label: t(`outcome.${o}` as MessageKey),
        value: a.closedByOutcome[o] ?? 0,
        href: list({ outcome: o }),
      })),
    },
    {
      id: 'breaches',
      title: t('stats.breaches'),
      unit: t('stats.timesUnit'),
      bars: (['claim', 'call', 'visit', 'approval'] as const).map((k) => ({
        label: t(`board.missed.${k}`),
        value: (a.deadlineBreaches as Record<string, number>)[k] ?? 0,
        href: k === 'approval' ? '/approver' : list({ overdue: 'true' }),
      })),
    },
    {
      id: 'times',
      title: t('stats.times'),
      unit: t('stats.minutesUnit'),
      bars: [
        ['stats.toFirstCall', a.receiptToFirstCallSeconds],
        ['stats.toClose', a.receiptToCloseSeconds],
        ['stats.toApproval', stats.stopPayments.reportToApprovalSeconds],
        ['stats.toFirstStop', stats.stopPayments.reportToFirstStopSeconds],
      ].flatMap(([key, d]) => {
        const q = d as { median: number | null; p90: number | null };
        return [
          { label: `${t(key as MessageKey)} · ${t('stats.median')}`, value: minutes(q.median) },
          { label: `${t(key as MessageKey)} · p90`, value: minutes(q.p90) },
        ];
      }),
    },
    {
      id: 'by-fraud',
      title: t('stats.byFraudType'),
      unit: t('stats.alertsUnit'),
      bars: stats.breakdown.byFraudType.map((r) => ({
        label: t(fraudKey(r.key as never)),
        value: r.received,
        href: list({ fraudType: r.key }),
      })),
    },
    {
      id: 'by-station',
      title: t('stats.byStation'),
      unit: t('stats.alertsUnit'),
      bars: stats.breakdown.byStation.map((r) => ({
        label: r.key,
        value: r.received,
        href: list({ stationId: r.key }),
      })),
    },
    {
      id: 'by-risk',
      title: t('stats.byRisk'),
      unit: t('stats.alertsUnit'),
      bars: stats.breakdown.byRiskLevel.map((r) => ({
        label: t(riskKey(r.key as never)),
        value: r.received,
        href: list({ riskLevel: r.key }),
      })),
    },
  ];
  const overTime = props.overTime.buckets.map((b) => ({
    label: b.at.replace('T', ' '),
    value: b.received,
    href: '/alerts',
  }));
  return (
    <>
      <Figure
        view={view}
        id="over-time"
        title={t(props.overTime.unit === 'day' ? 'stats.perDay' : 'stats.perHour')}
        unit={t('stats.alertsUnit')}
        bars={overTime}
        svg={timeChart(
          props.overTime.buckets.map((b) => ({ at: b.at, value: b.received })),
          {
            title: t(props.overTime.unit === 'day' ? 'stats.perDay' : 'stats.perHour'),
            unit: t('stats.alertsUnit'),
            interval: props.overTime.unit === 'day' ? 'day' : 'hour',
          },
        )}
      />
      {figures.map((f) => (
        <Figure view={view} id={f.id} title={f.title} unit={f.unit} bars={f.bars} svg={barChart(f.bars, f)} />
      ))}
    </>
  );
}

function Summary(props: { view: View; stats: Stats }) {
  const { t } = props.view;
  const { alerts: a, stopPayments: s } = props.stats;
  const figures: [string, string][] = [
    [t('stats.received'), String(a.received)],
    [t('stats.closed'), String(a.closed)],
    [t('outcome.dissuaded'), String(a.dissuaded)],
    [t('stats.preventedLoss'), yuan(a.preventedLossFen)],
    [t('stats.requested'), String(s.requested)],
    [t('stats.approved'), String(s.approved)],
    [t('cases.stopped'), yuan(s.stoppedFen)],
    [t('stats.frozen'), yuan(s.frozenFen)],
  ];
  return (
    <div class="counts">
      {figures.map(([label, value]) => (
        <div class="count">
          <span class="label">{label}</span>
          <span class="value">{value}</span>
        </div>
      ))}
    </div>
  );
}

export default async function stats(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const access = { public: true, console: MAY.readStats } as const;

  async function read(request: FastifyRequest) {
    const period = periodOf(request.query as Form, timeZone);
    const user = userOf(request);
    const [figures, overTime] = await Promise.all([
      services.stats.forPeriod(user, period),
      services.stats.receivedOverTime(user, period, timeZone),
    ]);
    return { period, figures, overTime };
  }

  app.get('/stats', { config: access }, async (request: FastifyRequest, reply: FastifyReply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const period = periodOf(request.query as Form, timeZone);
    let body;
    let status = 200;
    try {
      const { figures, overTime } = await read(request);
      body = (
        <>
          <Summary view={view} stats={figures} />
          <Charts view={view} stats={figures} overTime={overTime} />
        </>
      );
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
      body = <Notice kind="error">{sayRefusal(error, t)}</Notice>;
      status = REFUSAL_STATUS[error.code];
    }
    const csv = `/stats.csv?${new URLSearchParams(period.days)}`;
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('stats.title')}>
          <form method="get" action="/stats" class="card inline" aria-label={t('stats.period')}>
            <label>
              {t('stats.from')}
              <input type="date" name="from" value={period.days.from} required />
            </label>
            <label>
              {t('stats.to')}
              <input type="date" name="to" value={period.days.to} required />
            </label>
            <button type="submit">{t('stats.show')}</button>
            <a class="button secondary" href={csv} download="">
              {t('stats.csv')}
            </a>
          </form>
          {body}
        </Page>,
      ),
      status,
    );
  });

  app.get('/stats.csv', { config: access }, async (request, reply) => {
    const { period, figures: s, overTime } = await read(request);
    const rows: (string | number | null)[][] = [
      ['metric', 'key', 'value'],
      ['period', 'from', s.from],
      ['period', 'to', s.to],
      ['alerts', 'received', s.alerts.received],
      ['alerts', 'closed', s.alerts.closed],
      ['alerts', 'dissuaded', s.alerts.dissuaded],
      ['alerts', 'prevented_loss_yuan', (s.alerts.preventedLossFen / 100).toFixed(2)],
      ...Object.entries(s.alerts.closedByOutcome).map(([k, v]) => ['closed_by_outcome', k, v]),
      ...Object.entries(s.alerts.deadlineBreaches).map(([k, v]) => ['deadline_breaches', k, v]),
      ['seconds_to_first_call', 'median', s.alerts.receiptToFirstCallSeconds.median],
      ['seconds_to_first_call', 'p90', s.alerts.receiptToFirstCallSeconds.p90],
      ['seconds_to_close', 'median', s.alerts.receiptToCloseSeconds.median],
      ['seconds_to_close', 'p90', s.alerts.receiptToCloseSeconds.p90],
      ['stop_payments', 'requested', s.stopPayments.requested],
      ['stop_payments', 'approved', s.stopPayments.approved],
      ['stop_payments', 'rejected', s.stopPayments.rejected],
      ['stop_payments', 'stopped_yuan', (s.stopPayments.stoppedFen / 100).toFixed(2)],
      ['stop_payments', 'frozen_yuan', (s.stopPayments.frozenFen / 100).toFixed(2)],
      ...s.breakdown.byFraudType.map((r) => ['received_by_fraud_type', r.key, r.received]),
      ...s.breakdown.byStation.map((r) => ['received_by_station', r.key, r.received]),
      ...s.breakdown.byRiskLevel.map((r) => ['received_by_risk_level', r.key, r.received]),
      ...overTime.buckets.map((b) => [`received_per_${overTime.unit}`, b.at, b.received]),
    ];
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="fanzha-stats-${period.days.from}-${period.days.to}.csv"`)
      .send(`\uFEFF${stringify(rows)}`);
  });

  // --- the list every chart links to: alerts by state, risk, station, fraud type, outcome, overdue ---
  app.get('/alerts', { config: { public: true, console: MAY.readAlerts } }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const query = request.query as Form;
    const pick = <T extends string>(value: string | undefined, allowed: readonly T[]) =>
      allowed.includes(value as T) ? (value as T) : undefined;
    const filters: AlertFilters = {
      limit: 100,
      state: pick(query.state, ALERT_STATES),
      riskLevel: pick(query.riskLevel, RISK_LEVELS),
      fraudType: pick(query.fraudType, FRAUD_TYPES),
      outcome: pick(query.outcome, ALERT_OUTCOMES) as AlertOutcome | undefined,
      stationId: /^[A-Za-z0-9_-]{1,64}$/.test(query.stationId ?? '') ? query.stationId : undefined,
      overdue: query.overdue === 'true' ? true : undefined,
      cursor: query.cursor || undefined,
    };
    const found = await services.alerts.list(userOf(request), filters);
    const shown = Object.entries(filters).filter(([k, v]) => v !== undefined && k !== 'limit' && k !== 'cursor');
    const next = found.nextCursor
      ? `/alerts?${new URLSearchParams({ ...Object.fromEntries(shown.map(([k, v]) => [k, String(v)])), cursor: found.nextCursor })}`
      : null;
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('stats.alertList')}>
          <p>
            {shown.length === 0 ? t('stats.allAlerts') : shown.map(([k, v]) => `${k} = ${String(v)}`).join(' · ')} ·{' '}
            <a href="/stats">{t('stats.title')}</a>
          </p>
          <ol class="queue" data-list="">
            {found.items.map((a) => (
              <li tabindex={0} data-alert-id={a.alertId}>
                <AlertLine view={view} alert={a} zone={timeZone} />
              </li>
            ))}
          </ol>
          {found.items.length === 0 && <p>{t('search.none')}</p>}
          {next && <a href={next}>{t('stats.more')}</a>}
        </Page>,
      ),
    );
  });
}

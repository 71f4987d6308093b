/**
 * The supervisor's board (值班长): escalations as a banner with a sound until a supervisor acknowledges
 * them; the open queues by state; the overdue and escalated alerts and cases first, with the
 * interventions — take a held alert back to the queue, cancel, transfer a visit — each with a reason the
 * case's history keeps; who is on duty and what each holds; what the outbox has not delivered. Live.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComponentChildren } from 'preact';
import type { AlertView } from '#domain/alert.js';
import { notFound } from '#domain/refusal.js';
import { hasRole, MAY } from '#domain/roles.js';
import type { Services } from '#services/index.js';
import { attempt, type Form, type Said } from './forms.js';
import { fraudKey, isMessageKey, riskKey, type MessageKey } from './i18n.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { ActionForm, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

type Board = Awaited<ReturnType<Services['board']['snapshot']>>;
type Escalation = Awaited<ReturnType<Services['notifications']['escalations']>>[number];

const levelKey = (level: number | null): MessageKey => (level !== null && level >= 2 ? 'board.level2' : 'board.level1');

function Escalations(props: { view: View; items: Escalation[]; zone: string; said?: Said }) {
  const { view, zone } = props;
  const { t, language } = view;
  const open = props.items.filter((e) => e.acknowledgedAt === null);
  const taken = props.items.filter((e) => e.acknowledgedAt !== null).slice(0, 5);
  const mayAcknowledge = hasRole(view.user?.roles ?? [], MAY.superviseAlerts);
  return (
    <>
      {props.said && <Notice kind={props.said.kind}>{props.said.text}</Notice>}
      {open.length > 0 && <p class="banner-count">{t('board.openCount', { n: open.length })}</p>}
      {open.length === 0 ? (
        <p>{t('board.noEscalations')}</p>
      ) : (
        <ul class="escalations" role="list" tabindex={0} aria-label={t('board.openCount', { n: open.length })}>
          {open.map((e) => (
            <li class="escalation" data-escalation-id={e.id} data-sound-id={String(e.id)}>
              <strong>{t(levelKey(e.level))}</strong> · {t(e.caseType === 'alert' ? 'board.alert' : 'board.case')}{' '}
              {e.caseType === 'alert' ? e.caseId : <a href={`/cases/${encodeURIComponent(e.caseId)}`}>{e.caseId}</a>} ·{' '}
              {t(`board.missed.${e.deadline ?? 'claim'}` as MessageKey)} ·{' '}
              <Moment at={e.createdAt} zone={zone} language={language} />
              {mayAcknowledge && (
                <ActionForm
                  view={view}
                  action={`/board/escalations/${e.id}/acknowledge`}
                  target="#escalations"
                  class="inline"
                >
                  <button type="submit" aria-label={`${t('board.acknowledge')} ${t(levelKey(e.level))} ${e.caseId}`}>
                    {t('board.acknowledge')}
                  </button>
                </ActionForm>
              )}
            </li>
          ))}
        </ul>
      )}
      {taken.length > 0 && (
        <details>
          <summary>{t('board.acknowledged')}</summary>
          <ul>
            {taken.map((e) => (
              <li data-acknowledged-id={e.id}>
                {e.caseId} · {t(levelKey(e.level))} · {e.acknowledgedBy} ·{' '}
                <Moment at={e.acknowledgedAt} zone={zone} language={language} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

const ALERT_STATES = ['queued', 'calling', 'retry_wait', 'visit_pending'] as const;
const CASE_STATES = ['pending_approval', 'active'] as const;

function Queues(props: { view: View; board: Board }) {
  const { t } = props.view;
  const { alertStates, caseStates } = props.board;
  const cell = (label: string, counts: { open: number; overdue: number } | undefined, state: string) => (
    <div class="count" data-state={state}>
      <span class="label">{label}</span>
      <span class="value">{counts?.open ?? 0}</span>
      {(counts?.overdue ?? 0) > 0 && <span class="overdue">{t('board.overdueCount', { n: counts!.overdue })}</span>}
    </div>
  );
  return (
    <div class="counts">
      {ALERT_STATES.map((s) => cell(t(`state.${s}`), alertStates[s], s))}
      {CASE_STATES.map((s) => cell(t(`case.${s}`), caseStates[s], s))}
    </div>
  );
}

/** An open alert with the interventions that fit its state; `list` is the list it stands in (and is answered with). */
function LateAlert(props: { view: View; alert: AlertView; zone: string; list: 'late' | 'held' }) {
  const { view, alert, zone, list } = props;
  const { t, language } = view;
  const base = `/board/alerts/${encodeURIComponent(alert.alertId)}`;
  const titleId = `${list}-${alert.alertId}`;
  const reason = (
    <label>
      <input type="hidden" name="list" value={list} />
      {t('board.reason')}
      <input name="reason" required maxLength={500} />
    </label>
  );
  return (
    <li class={`card alert risk-${alert.riskLevel}`} data-alert-id={alert.alertId} aria-labelledby={titleId}>
      <h3 id={titleId}>
        {t(levelKey(alert.escalationLevel))} · {t(riskKey(alert.riskLevel))} · {t(fraudKey(alert.fraudType))} ·{' '}
        {t(`state.${alert.state}`)}
      </h3>
      <p>
        {alert.alertId} · {alert.stationId} · {t('operator.deadline')}{' '}
        <Moment at={alert.deadline} zone={zone} language={language} countdown />
        {alert.assignee && ` · ${t('board.heldBy', { name: alert.assignee.name })}`}
      </p>
      <div class="actions">
        {alert.state === 'calling' && (
          <details>
            <summary>{t('board.release')}</summary>
            <ActionForm view={view} action={`${base}/release`} target={`#${list}`} class="stack">
              {reason}
              <button type="submit">{t('board.release')}</button>
            </ActionForm>
          </details>
        )}
        {alert.state === 'visit_pending' && (
          <details>
            <summary>{t('station.transfer')}</summary>
            <ActionForm view={view} action={`${base}/transfer`} target={`#${list}`} class="stack">
              <label>
                {t('station.toStation')}
                <input name="stationId" required pattern="[A-Za-z0-9_-]{1,64}" />
              </label>
              {reason}
              <button type="submit">{t('station.transfer')}</button>
            </ActionForm>
          </details>
        )}
        <details>
          <summary>{t('board.cancel')}</summary>
          <ActionForm view={view} action={`${base}/cancel`} target={`#${list}`} class="stack">
            {reason}
            <button type="submit" class="danger">
              {t('board.cancel')}
            </button>
          </ActionForm>
        </details>
      </div>
    </li>
  );
}

function Late(props: { view: View; board: Board; zone: string; said?: Said }) {
  const { view, board, zone } = props;
  const { t, language } = view;
  return (
    <>
      {props.said && <Notice kind={props.said.kind}>{props.said.text}</Notice>}
      {board.escalatedAlerts.length + board.escalatedCases.length === 0 ? (
        <p>{t('board.nothingLate')}</p>
      ) : (
        <ol class="late" data-list="">
          {board.escalatedAlerts.map((alert) => (
            <LateAlert view={view} alert={alert as AlertView} zone={zone} list="late" />
          ))}
          {board.escalatedCases.map((c) => (
            <li class="card" tabindex={0} data-case-id={c.stopPaymentId}>
              {t(levelKey(c.escalationLevel))} · {t(`case.${c.state}`)} ·{' '}
              <a href={`/cases/${encodeURIComponent(c.stopPaymentId)}`}>{c.stopPaymentId}</a> · {t('operator.deadline')}{' '}
              <Moment at={c.deadline} zone={zone} language={language} countdown />
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function Held(props: { view: View; board: Board; zone: string; said?: Said }) {
  const { view, board, zone } = props;
  return (
    <>
      {props.said && <Notice kind={props.said.kind}>{props.said.text}</Notice>}
      {board.held.length === 0 ? (
        <p>{view.t('board.nothingHeld')}</p>
      ) : (
        <ol class="late" data-list="">
          {board.held.map((alert) => (
            <LateAlert view={view} alert={alert as AlertView} zone={zone} list="held" />
          ))}
        </ol>
      )}
    </>
  );
}

function OnDuty(props: { view: View; board: Board }) {
  const { t } = props.view;
  const people = props.board.onDuty;
  if (people.length === 0) return <p>{t('board.nobody')}</p>;
  return (
    <ul class="on-duty">
      {people.map((p) => (
        <li data-user-id={p.userId}>
          {p.name} · {p.roles.map((role) => t(`role.${role}`)).join('、')}
          {p.stationId && ` · ${p.stationId}`}
          {p.holds.length > 0 && ` · ${t('board.holding', { n: p.holds.length, ids: p.holds.join(', ') })}`}
        </li>
      ))}
    </ul>
  );
}

function Undelivered(props: { view: View; board: Board; zone: string }) {
  const { t, language } = props.view;
  const { count, latest } = props.board.undelivered;
  return (
    <>
      <p>{t('board.undeliveredCount', { n: count })}</p>
      {latest.length > 0 && (
        <ul>
          {latest.map((n) => (
            <li>
              {n.caseId} · {isMessageKey(`notice.${n.kind}`) ? t(`notice.${n.kind}` as MessageKey) : n.kind} ·{' '}
              <Moment at={n.createdAt} zone={props.zone} language={language} /> ·{' '}
              {t('board.attempts', { n: n.attempts })}
              {n.lastError && ` · ${n.lastError}`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The board's parts below the banner: each a section that refreshes itself from `/board/<id>`. */
interface Part {
  id: 'queues' | 'late' | 'held' | 'on-duty' | 'outbox';
  title: MessageKey;
  /** Beside the next one on a wide screen. */
  side?: true;
  render: (view: View, board: Board) => ComponentChildren;
}

function partsFor(zone: string): Part[] {
  return [
    { id: 'queues', title: 'board.queues', render: (view, now) => <Queues view={view} board={now} /> },
    { id: 'late', title: 'board.late', render: (view, now) => <Late view={view} board={now} zone={zone} /> },
    { id: 'held', title: 'board.held', render: (view, now) => <Held view={view} board={now} zone={zone} /> },
    { id: 'on-duty', title: 'board.onDuty', side: true, render: (view, now) => <OnDuty view={view} board={now} /> },
    {
      id: 'outbox',
      title: 'board.undelivered',
      side: true,
      render: (view, now) => <Undelivered view={view} board={now} zone={zone} />,
    },
  ];
}

const LIVE = { 'hx-trigger': 'fanzha:changed from:body', 'aria-live': 'polite' } as const;

function LivePart(props: { part: Part; view: View; board: Board }) {
  const { part, view } = props;
  return (
    <section aria-labelledby={`${part.id}-title`}>
      <h2 id={`${part.id}-title`}>{view.t(part.title)}</h2>
      <div id={part.id} hx-get={`/board/${part.id}`} {...LIVE}>
        {part.render(view, props.board)}
      </div>
    </section>
  );
}

export default async function board(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const access = { public: true, console: MAY.readNotifications } as const;
  const interveneAccess = { public: true, console: MAY.superviseAlerts } as const;
  const snapshot = (request: FastifyRequest) => services.board.snapshot(userOf(request));
  const PARTS = partsFor(timeZone);
  const escalations = (request: FastifyRequest) => services.notifications.escalations(userOf(request), { limit: 50 });

  app.get('/board', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const [now, raised] = await Promise.all([snapshot(request), escalations(request)]);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('board.title')}>
          <section aria-labelledby="escalations-title" class="banner-escalations">
            <h2 id="escalations-title">{t('board.escalations')}</h2>
            <div
              id="escalations"
              hx-get="/board/escalations"
              {...LIVE}
              data-sound-for="[data-escalation-id]"
              data-sound-title={t('board.escalations')}
            >
              <Escalations view={view} items={raised} zone={timeZone} />
            </div>
          </section>
          {PARTS.filter((part) => !part.side).map((part) => (
            <LivePart part={part} view={view} board={now} />
          ))}
          <div class="columns">
            {PARTS.filter((part) => part.side).map((part) => (
              <LivePart part={part} view={view} board={now} />
            ))}
          </div>
        </Page>,
      ),
    );
  });

  // Each part refreshes itself, live, from its own fragment route.
  for (const part of PARTS)
    app.get(`/board/${part.id}`, { config: access }, async (request, reply) =>
      sendHtml(reply, html(part.render(viewFor(request, reply), await snapshot(request)))),
    );
  app.get('/board/escalations', { config: access }, async (request, reply) =>
    sendHtml(
      reply,
      html(<Escalations view={viewFor(request, reply)} items={await escalations(request)} zone={timeZone} />),
    ),
  );

  app.post('/board/escalations/:id/acknowledge', { config: interveneAccess }, async (request, reply) => {
    const view = viewFor(request, reply);
    const id = Number((request.params as { id: string }).id);
    const { said, status } = await attempt(
      async () => {
        if (!Number.isSafeInteger(id) || id < 1) throw notFound(`Escalation ${id}`);
        await services.notifications.acknowledge(userOf(request), id);
      },
      view.t('board.acknowledgedNow'),
      view.t,
    );
    return sendHtml(
      reply,
      html(<Escalations view={view} items={await escalations(request)} zone={timeZone} said={said} />),
      status,
    );
  });

  /** An intervention on an alert: the decision with its reason, then the list it came from again with what was done. */
  function intervene(path: string, run: (request: FastifyRequest, form: Form) => Promise<unknown>) {
    app.post(`/board/alerts/:alertId/${path}`, { config: interveneAccess }, async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      const List = form.list === 'held' ? Held : Late;
      const view = viewFor(request, reply);
      const { said, status } = await attempt(() => run(request, form), view.t('board.done'), view.t);
      return sendHtml(
        reply,
        html(<List view={view} board={await snapshot(request)} zone={timeZone} said={said} />),
        status,
      );
    });
  }
  const alertIdOf = (request: FastifyRequest) => (request.params as { alertId: string }).alertId;
  const key = (form: Form) => form.idempotencyKey ?? null;
  intervene('release', (request, form) =>
    services.alerts.forceRelease(userOf(request), alertIdOf(request), { reason: form.reason ?? '' }, key(form)),
  );
  intervene('cancel', (request, form) =>
    services.alerts.cancel(userOf(request), alertIdOf(request), { reason: form.reason ?? '' }, key(form)),
  );
  intervene('transfer', (request, form) =>
    services.alerts.transfer(
      userOf(request),
      alertIdOf(request),
      { stationId: form.stationId?.trim() ?? '', reason: form.reason ?? '' },
      key(form),
    ),
  );
}

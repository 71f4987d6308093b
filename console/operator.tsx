/**
 * The 96110 operator's page: "Take next" claims the most urgent alert in one step; the claimed alert
 * shows what the call needs (the victim's phone in full, to the assignee only) and takes the call's
 * result. The queue and the current alert refresh themselves when anything changes (live.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CALL_OUTCOMES,
  NOT_REACHED_REASONS,
  type AlertView,
  type CallOutcome,
  type NotReachedReason,
} from '#domain/alert.js';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import type { CallReport } from '#services/alerts.js';
import { fenFromYuan, type Form } from './forms.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { fraudKey, riskKey, sayRefusal, type MessageKey } from './i18n.js';
import { ActionForm, AlertFacts, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

type Summary = Omit<AlertView, 'timeline' | 'suspect' | 'note'>;

/** Outcomes an operator records after reaching the victim ("refused" has a button of its own). */
const REACHED_OUTCOMES = CALL_OUTCOMES.filter((o): o is Exclude<CallOutcome, 'refused'> => o !== 'refused');

function QueueList(props: { view: View; items: Summary[]; zone: string }) {
  const { t, language } = props.view;
  if (props.items.length === 0) return <p>{t('operator.queueEmpty')}</p>;
  return (
    <ol class="queue" data-list="">
      {props.items.map((alert) => (
        <li
          tabindex={0}
          data-alert-id={alert.alertId}
          data-sound-id={alert.alertId}
          data-risk={alert.riskLevel}
          class={`risk-${alert.riskLevel}`}
        >
          <strong>{t(riskKey(alert.riskLevel))}</strong> {t(fraudKey(alert.fraudType))} · {alert.victim.phone} ·{' '}
          {t('operator.station')} {alert.stationId} · {t('operator.deadline')}{' '}
          <Moment at={alert.deadline} zone={props.zone} language={language} countdown />
        </li>
      ))}
    </ol>
  );
}

function CurrentAlert(props: {
  view: View;
  alert: AlertView | null;
  zone: string;
  notice?: { kind: 'error' | 'info'; text: string };
}) {
  const { view, alert } = props;
  const { t } = view;
  const notice = props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>;
  if (!alert) return <>{notice ?? <p>{t('operator.noCurrent')}</p>}</>;
  const base = `/operator/alerts/${encodeURIComponent(alert.alertId)}`;
  return (
    <>
      {notice}
      <article class={`alert risk-${alert.riskLevel}`} data-alert-id={alert.alertId} aria-labelledby="current-alert">
        <h3 id="current-alert">
          {t(riskKey(alert.riskLevel))} · {t(fraudKey(alert.fraudType))}
        </h3>
        <AlertFacts view={view} alert={alert} zone={props.zone} />
        <div class="actions">
          <ActionForm view={view} action={`${base}/reached`} target="#current" id="reached-form" class="inline">
            <label>
              {t('operator.outcome')}
              <select name="outcome" required data-key-focus="r">
                {REACHED_OUTCOMES.map((o) => (
                  <option value={o}>{t(`outcome.${o}` as MessageKey)}</option>
                ))}
              </select>
            </label>
            <label>
              {t('operator.amount')}
              <input name="amountYuan" inputmode="decimal" pattern="[0-9]+(\.[0-9]{1,2})?" size={10} />
            </label>
            <button type="submit">{t('operator.reached')}</button>
          </ActionForm>
          <ActionForm view={view} action={`${base}/not-reached`} target="#current" class="inline">
            <label>
              {t('operator.reason')}
              <select name="reason">
                {NOT_REACHED_REASONS.map((r) => (
                  <option value={r}>{t(`notReached.${r}` as MessageKey)}</option>
                ))}
              </select>
            </label>
            <button type="submit" data-key="n">
              {t('operator.notReached')}
            </button>
          </ActionForm>
          <ActionForm view={view} action={`${base}/refused`} target="#current" class="inline">
            <button type="submit">{t('operator.refused')}</button>
          </ActionForm>
          <ActionForm view={view} action={`${base}/release`} target="#current" class="inline">
            <button type="submit" class="secondary">
              {t('operator.release')}
            </button>
          </ActionForm>
        </div>
      </article>
    </>
  );
}

function KeysHelp(props: { view: View }) {
  const { t } = props.view;
  return (
    <dialog id="keys-help" aria-labelledby="keys-title">
      <h2 id="keys-title">{t('keys.title')}</h2>
      <ul>
        <li>{t('keys.move')}</li>
        <li>{t('keys.take')}</li>
        <li>{t('keys.reached')}</li>
        <li>{t('keys.notReached')}</li>
        <li>{t('keys.help')}</li>
      </ul>
      <form method="dialog">
        <button>OK</button>
      </form>
    </dialog>
  );
}

export default async function operator(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const alerts = services.alerts;
  const access = { public: true, console: MAY.callAlerts } as const;

  /** The alert the operator holds now, as they may see it (phone in full: they are the assignee). */
  async function current(request: FastifyRequest): Promise<AlertView | null> {
    const user = userOf(request);
    const held = await alerts.list(user, { state: 'calling', assignedToMe: true, limit: 1 });
    const first = held.items[0];
    if (!first) return null;
    // The read model can be a step behind the workflow: show the alert only while it is really held.
    const alert = await alerts.detail(user, first.alertId);
    return alert.state === 'calling' && alert.assignee?.userId === user.userId ? alert : null;
  }

  const queue = async (request: FastifyRequest) =>
    (await alerts.list(userOf(request), { state: 'queued', limit: 50 })).items;

  app.get('/operator', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const [alert, items] = await Promise.all([current(request), queue(request)]);
    const releaseFirst = (request.query as Form).releaseFirst
      ? { kind: 'error' as const, text: t('operator.releaseFirst') }
      : undefined;
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('operator.title')}>
          <section aria-labelledby="current-title">
            <h2 id="current-title">{t('operator.current')}</h2>
            <div id="current" hx-get="/operator/current" hx-trigger="fanzha:changed from:body" aria-live="polite">
              <CurrentAlert view={view} alert={alert} zone={timeZone} notice={releaseFirst} />
            </div>
          </section>
          <section aria-labelledby="queue-title">
            <h2 id="queue-title">{t('operator.queue')}</h2>
            <ActionForm view={view} action="/operator/next" target="#current" class="inline">
              <button type="submit" data-key="t">
                {t('operator.takeNext')}
              </button>
            </ActionForm>
            <div
              id="queue"
              hx-get="/operator/queue"
              hx-trigger="fanzha:changed from:body"
              data-sound-for='[data-risk="high"]'
              data-sound-title={t('operator.newHighRisk')}
            >
              <QueueList view={view} items={items} zone={timeZone} />
            </div>
          </section>
          <KeysHelp view={view} />
        </Page>,
      ),
    );
  });

  app.get('/operator/queue', { config: access }, async (request, reply) =>
    sendHtml(reply, html(<QueueList view={viewFor(request, reply)} items={await queue(request)} zone={timeZone} />)),
  );

  app.get('/operator/current', { config: access }, async (request, reply) =>
    sendHtml(
      reply,
      html(<CurrentAlert view={viewFor(request, reply)} alert={await current(request)} zone={timeZone} />),
    ),
  );

  /** Runs one decision and answers with the current panel: the next state, or the refusal in place. */
  async function decide(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (key: string | null) => Promise<AlertView | null>,
    done?: (alert: AlertView, view: View) => string,
  ) {
    const view = viewFor(request, reply);
    const key = (request.body as Form).idempotencyKey ?? null;
    try {
      const answer = await run(key);
      if (!answer)
        return sendHtml(
          reply,
          html(
            <CurrentAlert
              view={view}
              alert={null}
              zone={timeZone}
              notice={{ kind: 'info', text: view.t('operator.nothingLeft') }}
            />,
          ),
        );
      const still =
        answer.state === 'calling' && answer.assignee?.userId === view.user?.userId ? answer : await current(request);
      const notice = done ? { kind: 'info' as const, text: done(answer, view) } : undefined;
      return sendHtml(reply, html(<CurrentAlert view={view} alert={still} zone={timeZone} notice={notice} />));
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
      const still = await current(request);
      return sendHtml(
        reply,
        html(
          <CurrentAlert
            view={view}
            alert={still}
            zone={timeZone}
            notice={{ kind: 'error', text: sayRefusal(error, view.t) }}
          />,
        ),
        REFUSAL_STATUS[error.code],
      );
    }
  }

  const alertIdOf = (request: FastifyRequest) => (request.params as { alertId: string }).alertId;

  app.post('/operator/next', { config: access }, async (request, reply) =>
    decide(request, reply, (key) => alerts.takeNext(userOf(request), key)),
  );

  const report = (request: FastifyRequest, reply: FastifyReply, build: (form: Form) => CallReport) =>
    decide(
      request,
      reply,
      (key) => alerts.reportCall(userOf(request), alertIdOf(request), build(request.body as Form), key),
      (alert, view) =>
        view.t('operator.done', {
          outcome: view.t(alert.outcome ? `outcome.${alert.outcome}` : `state.${alert.state}`),
        }),
    );

  app.post('/operator/alerts/:alertId/reached', { config: access }, async (request, reply) =>
    report(request, reply, (form) => ({
      result: 'contacted',
      outcome: (REACHED_OUTCOMES as readonly string[]).includes(form.outcome ?? '')
        ? (form.outcome as CallOutcome)
        : undefined,
      amountAtRiskFen: fenFromYuan(form.amountYuan),
    })),
  );
  app.post('/operator/alerts/:alertId/refused', { config: access }, async (request, reply) =>
    report(request, reply, () => ({ result: 'contacted', outcome: 'refused' })),
  );
  app.post('/operator/alerts/:alertId/not-reached', { config: access }, async (request, reply) =>
    report(request, reply, (form) => ({
      result: 'not_reached',
      reason: (NOT_REACHED_REASONS as readonly string[]).includes(form.reason ?? '')
        ? (form.reason as NotReachedReason)
        : undefined,
    })),
  );
  app.post('/operator/alerts/:alertId/release', { config: access }, async (request, reply) =>
    decide(request, reply, (key) => alerts.release(userOf(request), alertIdOf(request), {}, key)),
  );
}

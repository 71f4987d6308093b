/**
 * The station officer's page (usable on a 360 px phone): the station's visits, most urgent first,
 * each with its countdown; "Record visit" with the outcome, "Transfer" to another station with a
 * reason. The victim's phone shows in full to the officer of the alert's station (the service masks).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VISIT_OUTCOMES, type AlertView, type VisitOutcome } from '#domain/alert.js';
import { invalidField, isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import type { Form } from './forms.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { fraudKey, riskKey, sayRefusal, type MessageKey } from './i18n.js';
import { ActionForm, AlertFacts, document, html, Notice, Page, type View, sendHtml } from './layout.js';

function Visits(props: {
  view: View;
  visits: AlertView[];
  zone: string;
  notice?: { kind: 'error' | 'info'; text: string };
}) {
  const { view } = props;
  const { t } = view;
  return (
    <>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.visits.length === 0 ? (
        <p>{t('station.none')}</p>
      ) : (
        <ol class="visits" data-list="">
          {props.visits.map((alert) => {
            const base = `/station/alerts/${encodeURIComponent(alert.alertId)}`;
            const titleId = `visit-${alert.alertId}`;
            return (
              <li tabindex={0} class={`alert risk-${alert.riskLevel}`} aria-labelledby={titleId}>
                <h3 id={titleId}>
                  {t(riskKey(alert.riskLevel))} · {t(fraudKey(alert.fraudType))}
                </h3>
                <AlertFacts view={view} alert={alert} zone={props.zone} />
                <ActionForm view={view} action={`${base}/visit`} target="#visits" class="stack">
                  <label>
                    {t('station.outcome')}
                    <select name="outcome" required>
                      {VISIT_OUTCOMES.map((o) => (
                        <option value={o}>{t(`visit.${o}` as MessageKey)}</option>
                      ))}
                    </select>
                  </label>
                  <label>
                    {t('station.note')}
                    <input name="note" maxLength={2000} />
                  </label>
                  <button type="submit">{t('station.recordVisit')}</button>
                </ActionForm>
                <ActionForm view={view} action={`${base}/transfer`} target="#visits" class="stack">
                  <label>
                    {t('station.toStation')}
                    <input name="stationId" required pattern="[A-Za-z0-9_-]{1,64}" />
                  </label>
                  <label>
                    {t('station.reason')}
                    <input name="reason" required maxLength={500} />
                  </label>
                  <button type="submit" class="secondary">
                    {t('station.transfer')}
                  </button>
                </ActionForm>
              </li>
            );
          })}
        </ol>
      )}
    </>
  );
}

export default async function station(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const alerts = services.alerts;
  const access = { public: true, console: MAY.visitAlerts } as const;

  /** Visits waiting, most urgent first, each as its workflow last told it (the service scopes and masks). */
  async function visits(request: FastifyRequest): Promise<AlertView[]> {
    const user = userOf(request);
    const { items } = await alerts.list(user, { state: 'visit_pending', limit: 50 });
    const details = await Promise.all(items.map((item) => alerts.detail(user, item.alertId).catch(() => null)));
    return details.filter((a): a is AlertView => a !== null && a.state === 'visit_pending');
  }

  app.get('/station', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={view.t('station.title')}>
          <div id="visits" hx-get="/station/visits" hx-trigger="fanzha:changed from:body" aria-live="polite">
            <Visits view={view} visits={await visits(request)} zone={timeZone} />
          </div>
        </Page>,
      ),
    );
  });

  app.get('/station/visits', { config: access }, async (request, reply) =>
    sendHtml(reply, html(<Visits view={viewFor(request, reply)} visits={await visits(request)} zone={timeZone} />)),
  );

  /** One decision, then the list again with what happened (or why not) on top. */
  async function decide(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (form: Form, key: string | null) => Promise<AlertView>,
  ) {
    const view = viewFor(request, reply);
    const form = request.body as Form;
    try {
      await run(form, form.idempotencyKey ?? null);
      return sendHtml(
        reply,
        html(
          <Visits
            view={view}
            visits={await visits(request)}
            zone={timeZone}
            notice={{ kind: 'info', text: view.t('station.done') }}
          />,
        ),
      );
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
      const notice = { kind: 'error' as const, text: sayRefusal(error, view.t) };
      return sendHtml(
        reply,
        html(<Visits view={view} visits={await visits(request)} zone={timeZone} notice={notice} />),
        REFUSAL_STATUS[error.code],
      );
    }
  }

  const alertIdOf = (request: FastifyRequest) => (request.params as { alertId: string }).alertId;
  const text = (value: string | undefined, field: string) => {
    if (!value?.trim()) throw invalidField(`/${field}`, 'is required');
    return value.trim();
  };

  app.post('/station/alerts/:alertId/visit', { config: access }, async (request, reply) =>
    decide(request, reply, (form, key) => {
      if (!(VISIT_OUTCOMES as readonly string[]).includes(form.outcome ?? ''))
        throw invalidField('/outcome', 'must be one of the visit outcomes');
      return alerts.reportVisit(
        userOf(request),
        alertIdOf(request),
        { outcome: form.outcome as VisitOutcome, note: form.note?.trim() || undefined },
        key,
      );
    }),
  );

  app.post('/station/alerts/:alertId/transfer', { config: access }, async (request, reply) =>
    decide(request, reply, (form, key) =>
      alerts.transfer(
        userOf(request),
        alertIdOf(request),
        { stationId: text(form.stationId, 'The station'), reason: text(form.reason, 'The reason') },
        key,
      ),
    ),
  );
}

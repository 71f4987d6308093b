/**
 * The auditor's pages: find a case by its ID; its human timeline (who decided what and when, timers,
 * escalations, bank answers, every continue-as-new run as one story), newest or oldest first, filtered
 * by kind (kept in the URL); the raw history to download; "Replay" against the code in use now;
 * "Verify archive"; a link to the workflow in the Temporal Web UI. Every read goes through the audit
 * service, which writes the access log. The admin's access log page is here too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { alertWorkflowId } from '#domain/alert.js';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { holdWorkflowId, stopPaymentWorkflowId } from '#domain/stop-payment.js';
import type { Services } from '#services/index.js';
import type { Form } from './forms.js';
import { isMessageKey, sayRefusal, type MessageKey, type Translate } from './i18n.js';
import { isHtmx, userOf, viewFor, type ConsoleOptions } from './index.js';
import { ActionForm, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

type Timeline = Awaited<ReturnType<Services['audit']['timeline']>>;
type Said = { kind: 'error' | 'info'; text: string };

/** A kind of timeline entry in the center's words, else as recorded. */
export const kindLabel = (t: Translate, kind: string) => {
  const key = [`step.${kind}`, `kind.${kind}`].find(isMessageKey);
  return key ? t(key as MessageKey) : kind.replace(/_/g, ' ');
};

const WORKFLOW_ID = /^(alert|stoppay|hold|archiver)-[A-Za-z0-9_-]{1,120}$/;

/** The workflows a typed ID may stand for: a workflow ID itself, or an alert, case or hold ID. */
const candidates = (id: string) =>
  WORKFLOW_ID.test(id) ? [id] : [alertWorkflowId(id), stopPaymentWorkflowId(id), holdWorkflowId(id)];

/** A log as a table — when, who, what, of what — newest first: the admin log and the access log alike. */
function LogTable(props: {
  view: View;
  zone: string;
  rows: { action: string; at: string; who: string; what: string; subject: string }[];
}) {
  const { t, language } = props.view;
  return (
    <table class="log">
      <thead>
        <tr>
          <th scope="col">{t('audit.when')}</th>
          <th scope="col">{t('audit.who')}</th>
          <th scope="col">{t('audit.what')}</th>
          <th scope="col">{t('audit.subject')}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr data-action={row.action}>
            <td>
              <Moment at={row.at} zone={props.zone} language={language} />
            </td>
            <td>{row.who}</td>
            <td>{row.what}</td>
            <td>{row.subject}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FindCase(props: { view: View; value?: string; said?: Said }) {
  const { t } = props.view;
  return (
    <>
      {props.said && <Notice kind={props.said.kind}>{props.said.text}</Notice>}
      <form method="get" action="/audit/find" class="card inline" role="search" aria-label={t('audit.find')}>
        <label>
          {t('audit.caseId')}
          <input name="id" value={props.value ?? ''} required maxLength={140} pattern="[A-Za-z0-9_-]+" />
        </label>
        <button type="submit">{t('audit.open')}</button>
      </form>
    </>
  );
}

function Verdict(props: { view: View; said?: Said }) {
  return props.said ? <Notice kind={props.said.kind}>{props.said.text}</Notice> : null;
}

function TimelineView(props: {
  view: View;
  timeline: Timeline;
  zone: string;
  order: 'newest' | 'oldest';
  kind: string;
  webUi: string | null;
}) {
  const { view, timeline, zone, order, kind } = props;
  const { t, language } = view;
  const base = `/audit/workflows/${encodeURIComponent(timeline.workflowId)}`;
  const kinds = [...new Set(timeline.events.map((e) => e.kind))].sort();
  const shown = timeline.events.filter((e) => !kind || e.kind === kind);
  if (order === 'newest') shown.reverse();
  return (
    <>
      <dl class="facts">
        <dt>{t('audit.workflow')}</dt>
        <dd>
          <code>{timeline.workflowId}</code> · {timeline.workflowType} · {timeline.status}
        </dd>
        <dt>{t('audit.runs')}</dt>
        <dd>
          <ol class="runs">
            {timeline.runs.map((run) => (
              <li>
                <code>{run.runId}</code> · {run.status} · <Moment at={run.startedAt} zone={zone} language={language} />{' '}
                · {t('audit.events', { n: run.events })} ·{' '}
                {t(run.source === 'archive' ? 'audit.fromArchive' : 'audit.fromTemporal')}
              </li>
            ))}
          </ol>
        </dd>
      </dl>
      <div class="actions">
        <a class="button secondary" href={`${base}/history.json`} download={`${timeline.workflowId}.json`}>
          {t('audit.download')}
        </a>
        <ActionForm view={view} action={`${base}/replay`} target="#verdict" class="inline">
          <button type="submit">{t('audit.replay')}</button>
        </ActionForm>
        {props.webUi && (
          <a class="button secondary" href={props.webUi} target="_blank" rel="noopener noreferrer">
            {t('audit.webUi')}
          </a>
        )}
      </div>
      <div id="verdict" aria-live="polite" />
      <form method="get" action={base} class="card inline" aria-label={t('audit.filter')}>
        <label>
          {t('audit.order')}
          <select name="order">
            <option value="newest" selected={order === 'newest'}>
              {t('audit.newest')}
            </option>
            <option value="oldest" selected={order === 'oldest'}>
              {t('audit.oldest')}
            </option>
          </select>
        </label>
        <label>
          {t('audit.kind')}
          <select name="kind">
            <option value="">{t('audit.allKinds')}</option>
            {kinds.map((k) => (
              <option value={k} selected={k === kind}>
                {kindLabel(t, k)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="secondary">
          {t('audit.apply')}
        </button>
      </form>
      <ol class="timeline" data-list="" aria-label={t('audit.timeline')}>
        {shown.map((e) => (
          <li tabindex={0} data-kind={e.kind} data-event-id={e.eventId}>
            <Moment at={e.at} zone={zone} language={language} /> · <strong>{kindLabel(t, e.kind)}</strong>
            {e.actor && ` · ${e.actor.name ?? e.actor.userId} (${t(`role.${e.actor.role}` as MessageKey)})`}
            <div class="summary">{e.summary}</div>
          </li>
        ))}
      </ol>
    </>
  );
}

export default async function audit(app: FastifyInstance, { services, timeZone, temporalUi }: ConsoleOptions) {
  const access = { public: true, console: MAY.audit } as const;
  const webUiFor = (workflowId: string, runId: string) =>
    temporalUi
      ? `${temporalUi.url}/namespaces/${encodeURIComponent(temporalUi.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`
      : null;

  async function home(
    request: FastifyRequest,
    reply: FastifyReply,
    found?: { value: string; said: Said },
    status = 200,
  ) {
    const view = viewFor(request, reply);
    const { t } = view;
    const acts = (await services.audit.adminLog(userOf(request), { limit: 50 })).items;
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('audit.title')}>
          <section aria-labelledby="find-title">
            <h2 id="find-title">{t('audit.find')}</h2>
            <FindCase view={view} value={found?.value} said={found?.said} />
          </section>
          <section aria-labelledby="archive-title">
            <h2 id="archive-title">{t('audit.archive')}</h2>
            <p>{t('audit.archiveHelp')}</p>
            <ActionForm view={view} action="/audit/verify" target="#archive-verdict" class="inline">
              <button type="submit">{t('audit.verify')}</button>
            </ActionForm>
            <div id="archive-verdict" aria-live="polite" />
          </section>
          <section aria-labelledby="admin-log-title">
            <h2 id="admin-log-title">{t('audit.adminLog')}</h2>
            <LogTable
              view={view}
              zone={timeZone}
              rows={acts.map((act) => ({
                action: act.action,
                at: act.at,
                who: act.actorUserId,
                what: t(`adminAct.${act.action}`),
                subject: act.targetUserId,
              }))}
            />
          </section>
        </Page>,
      ),
      status,
    );
  }

  app.get('/audit', { config: access }, (request, reply) => home(request, reply));

  app.get('/audit/find', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const id = ((request.query as Form).id ?? '').trim();
    if (/^[A-Za-z0-9_-]{1,140}$/.test(id))
      for (const workflowId of candidates(id)) {
        try {
          await services.audit.timeline(userOf(request), workflowId);
          return reply.redirect(`/audit/workflows/${encodeURIComponent(workflowId)}`, 303);
        } catch (error) {
          if (!isRefusal(error) || error.code !== 'not_found') throw error;
        }
      }
    return home(request, reply, { value: id, said: { kind: 'error', text: view.t('audit.notFound', { id }) } }, 404);
  });

  app.get('/audit/workflows/:workflowId', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { workflowId } = request.params as { workflowId: string };
    const query = request.query as Form;
    const order = query.order === 'oldest' ? 'oldest' : 'newest';
    let timeline: Timeline;
    try {
      timeline = await services.audit.timeline(userOf(request), workflowId);
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
      return home(
        request,
        reply,
        { value: workflowId, said: { kind: 'error', text: sayRefusal(error, view.t) } },
        REFUSAL_STATUS[error.code],
      );
    }
    return sendHtml(
      reply,
      document(
        <Page view={view} title={`${view.t('audit.timeline')} · ${workflowId}`}>
          <p>
            <a href="/audit">{view.t('audit.back')}</a>
          </p>
          <TimelineView
            view={view}
            timeline={timeline}
            zone={timeZone}
            order={order}
            kind={query.kind ?? ''}
            webUi={webUiFor(timeline.workflowId, timeline.runId)}
          />
        </Page>,
      ),
    );
  });

  app.get('/audit/workflows/:workflowId/history.json', { config: access }, async (request, reply) => {
    const { workflowId } = request.params as { workflowId: string };
    const run = await services.audit.history(userOf(request), workflowId);
    // The text as Temporal wrote it or as the archive hashed it, byte for byte: replayable as it is.
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${workflowId}-${run.runId}.json"`)
      .send(run.text);
  });

  app.post('/audit/workflows/:workflowId/replay', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const { workflowId } = request.params as { workflowId: string };
    const verdict = await services.audit.replay(userOf(request), workflowId);
    const said: Said = verdict.deterministic
      ? { kind: 'info', text: t('audit.deterministic', { n: verdict.events, run: verdict.runId }) }
      : { kind: 'error', text: t('audit.notDeterministic', { error: verdict.error }) };
    return isHtmx(request)
      ? sendHtml(reply, html(<Verdict view={view} said={said} />))
      : reply.redirect(`/audit/workflows/${encodeURIComponent(workflowId)}`, 303);
  });

  app.post('/audit/verify', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const result = await services.audit.verify(userOf(request));
    const said: Said = result.ok
      ? { kind: 'info', text: t('audit.archiveIntact', { n: result.records }) }
      : {
          kind: 'error',
          text: `${t('audit.archiveBroken', { n: result.records, at: result.brokenAt ?? '—' })} ${t(`audit.break.${result.why}`, { at: result.brokenAt ?? '—' })}`,
        };
    return sendHtml(reply, html(<Verdict view={view} said={said} />));
  });

  // --- the admin's access log: who read which case, and what was searched ---
  app.get('/access-log', { config: { public: true, console: MAY.administer } }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const log = await services.audit.accessLog(userOf(request), { limit: 200 });
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('audit.accessLog')}>
          <LogTable
            view={view}
            zone={timeZone}
            rows={log.items.map((entry) => ({
              action: entry.action,
              at: entry.at,
              who: entry.userName ?? entry.userId,
              what: isMessageKey(`access.${entry.action}`) ? t(`access.${entry.action}` as MessageKey) : entry.action,
              subject: entry.workflowId ?? entry.subject ?? '—',
            }))}
          />
        </Page>,
      ),
    );
  });
}

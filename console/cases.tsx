/**
 * Stop-payment cases for the people who decide them: the approvers' queue (countdowns, the filer, no
 * Approve button on one's own case — and the workflow's refusal in words if one is forced), the
 * senior approvers' queue (stops about to lapse → Freeze, freezes about to expire → Renew), and a
 * case's page with its money trail (holds and onward accounts as a tree).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { hasRole, MAY } from '#domain/roles.js';
import type { StopPaymentStepKind } from '#domain/steps.js';
import type { HoldView, StopPaymentView } from '#domain/stop-payment.js';
import type { Form } from './forms.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { sayRefusal, type MessageKey } from './i18n.js';
import { ActionForm, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

type Summary = Omit<StopPaymentView, 'holds' | 'timeline' | 'transfers'>;
type Say = { kind: 'error' | 'info'; text: string };

export const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

function CaseRow(props: { view: View; item: Summary; zone: string }) {
  const { view, item } = props;
  const { t, language } = view;
  const own = item.createdBy.userId === view.user?.userId;
  return (
    <li tabindex={0} data-case-id={item.stopPaymentId}>
      <a href={`/cases/${encodeURIComponent(item.stopPaymentId)}`}>{item.stopPaymentId}</a> · {item.victim.name} ·{' '}
      {yuan(item.requestedFen)} · {t('cases.filedBy')} {item.createdBy.name} · {t('operator.deadline')}{' '}
      <Moment at={item.deadline} zone={props.zone} language={language} countdown />
      {item.major && <strong> · {t('cases.major')}</strong>}
      {own && <em> · {t('cases.ownCase')}</em>}
    </li>
  );
}

function ApprovalQueue(props: { view: View; items: Summary[]; zone: string; notice?: Say }) {
  const { t } = props.view;
  return (
    <>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.items.length === 0 ? (
        <p>{t('cases.noneToApprove')}</p>
      ) : (
        <ol class="queue" data-list="">
          {props.items.map((item) => (
            <CaseRow view={props.view} item={item} zone={props.zone} />
          ))}
        </ol>
      )}
    </>
  );
}

/** A case's steps in the center's words (the compiler finds a step left out). */
const STEP_KEYS: Record<StopPaymentStepKind, MessageKey> = {
  filed: 'step.filed',
  major_case: 'step.major_case',
  deadline_missed: 'step.deadline_missed',
  approved: 'step.approved',
  holds_started: 'step.holds_started',
  rejected: 'step.rejected',
  release_ordered: 'step.release_ordered',
  hold_changed: 'step.hold_changed',
  onward_found: 'step.onward_found',
  holds_limited: 'step.holds_limited',
  closed: 'step.closed',
};
const stepWords = (t: View['t'], kind: string) =>
  Object.hasOwn(STEP_KEYS, kind) ? t(STEP_KEYS[kind as StopPaymentStepKind]) : kind.replace(/_/g, ' ');

const HOLD_STATE_KEYS: Record<HoldView['state'], MessageKey> = {
  submitting: 'hold.submitting',
  stopped: 'hold.stopped',
  freezing: 'hold.freezing',
  frozen: 'hold.frozen',
  lapsed: 'hold.lapsed',
  expired: 'hold.expired',
  released: 'hold.released',
  failed: 'hold.failed',
  empty: 'hold.empty',
};

/** The money trail: each hold with the onward accounts found from it, as a nested list. */
function MoneyTrail(props: { view: View; holds: HoldView[]; parent: string | null; zone: string; base: string }) {
  const { t, language } = props.view;
  const children = props.holds.filter((h) => h.parentHoldId === props.parent);
  if (children.length === 0) return null;
  return (
    <ul class="trail">
      {children.map((hold) => (
        <li data-hold-id={hold.holdId}>
          <span class={`hold hold-${hold.state}`}>
            {hold.bank} {hold.account} · {t(HOLD_STATE_KEYS[hold.state])} · {t('cases.stopped')} {yuan(hold.stoppedFen)}
            {hold.frozenFen > 0 && ` · ${t('cases.frozen')} ${yuan(hold.frozenFen)}`}
            {hold.frozenFen > 0 && (
              <>
                {' '}
                ·{' '}
                <a
                  href={`${props.base}/holds/${encodeURIComponent(hold.holdId)}/freeze-notice`}
                  class="print-link"
                  aria-label={`${t('notice.printFreeze')} ${hold.holdId}`}
                >
                  {t('notice.printFreeze')}
                </a>
              </>
            )}
            {hold.expiresAt && (
              <>
                {' '}
                · {t('cases.until')} <Moment at={hold.expiresAt} zone={props.zone} language={language} countdown />
              </>
            )}
          </span>
          <MoneyTrail view={props.view} holds={props.holds} parent={hold.holdId} zone={props.zone} base={props.base} />
        </li>
      ))}
    </ul>
  );
}

function CaseDetail(props: { view: View; item: StopPaymentView; zone: string; notice?: Say }) {
  const { view, item } = props;
  const { t, language } = view;
  const user = view.user!;
  const base = `/cases/${encodeURIComponent(item.stopPaymentId)}`;
  const own = item.createdBy.userId === user.userId;
  const mayApprove = hasRole(user.roles, MAY.approveStopPayments) && item.state === 'pending_approval';
  const decisions = item.timeline.filter((e) => e.actor !== null);
  return (
    <>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <dl class="facts">
        <dt>{t('cases.state')}</dt>
        <dd>{t(`case.${item.state}` as MessageKey)}</dd>
        <dt>{t('operator.victim')}</dt>
        <dd>
          {item.victim.name} · {item.victim.phone}
        </dd>
        <dt>{t('cases.filedBy')}</dt>
        <dd>
          {item.createdBy.name} · <Moment at={item.createdAt} zone={props.zone} language={language} />
        </dd>
        <dt>{t('cases.requested')}</dt>
        <dd>{yuan(item.requestedFen)}</dd>
        <dt>{t('cases.stopped')}</dt>
        <dd>{yuan(item.stoppedFen)}</dd>
        <dt>{t('cases.frozen')}</dt>
        <dd>{yuan(item.frozenFen)}</dd>
        {item.deadline && (
          <>
            <dt>{t('operator.deadline')}</dt>
            <dd>
              <Moment at={item.deadline} zone={props.zone} language={language} countdown />
            </dd>
          </>
        )}
      </dl>
      <h2>{t('cases.transfers')}</h2>
      <ul>
        {item.transfers.map((tr) => (
          <li>
            {tr.bank} {tr.account} · {yuan(tr.amountFen)} ·{' '}
            <Moment at={tr.transferredAt} zone={props.zone} language={language} />
          </li>
        ))}
      </ul>
      <h2>{t('cases.decisions')}</h2>
      <ol>
        {decisions.map((e) => (
          <li>
            <Moment at={e.at} zone={props.zone} language={language} /> · {stepWords(t, e.kind)} ·{' '}
            {t(`role.${e.actor!.role}` as MessageKey)}
          </li>
        ))}
      </ol>
      {mayApprove && (
        <div class="actions">
          {own ? (
            <p class="notice">{t('refusal.separation_of_duties')}</p>
          ) : (
            <ActionForm view={view} action={`${base}/approve`} target="#case" class="inline">
              <label>
                {t('cases.note')}
                <input name="note" maxLength={2000} />
              </label>
              <button type="submit">{t('cases.approve')}</button>
            </ActionForm>
          )}
          <ActionForm view={view} action={`${base}/reject`} target="#case" class="inline">
            <label>
              {t('cases.reason')}
              <input name="reason" required maxLength={500} />
            </label>
            <button type="submit" class="secondary">
              {t('cases.reject')}
            </button>
          </ActionForm>
        </div>
      )}
      <h2>{t('cases.moneyTrail')}</h2>
      {item.holds.length === 0 ? (
        <p>—</p>
      ) : (
        <>
          <MoneyTrail view={view} holds={item.holds} parent={null} zone={props.zone} base={base} />
          {item.stoppedFen > 0 && (
            <p>
              <a href={`${base}/notice`} class="print-link">
                {t('notice.printStop')}
              </a>
            </p>
          )}
        </>
      )}
      {hasRole(user.roles, MAY.freezeStopPayments) && <HoldOrders view={view} item={item} />}
    </>
  );
}

/** A senior approver's orders on each live hold: Freeze a stop, Renew a freeze (each under a legal document). */
function HoldOrders(props: { view: View; item: StopPaymentView }) {
  const { view, item } = props;
  const { t } = view;
  const live = item.holds.filter((h) => h.state === 'stopped' || h.state === 'frozen');
  if (live.length === 0) return null;
  return (
    <ul class="orders">
      {live.map((hold) => (
        <li>
          <ActionForm
            view={view}
            action={`/cases/${encodeURIComponent(item.stopPaymentId)}/holds/${encodeURIComponent(hold.holdId)}/${hold.state === 'stopped' ? 'freeze' : 'renew'}`}
            target="#case"
            class="inline"
          >
            <span>
              {hold.bank} {hold.account}
            </span>
            <label>
              {t('cases.legalDoc')}
              <input name="legalDocRef" required maxLength={128} />
            </label>
            <button type="submit">{t(hold.state === 'stopped' ? 'cases.freeze' : 'cases.renew')}</button>
          </ActionForm>
        </li>
      ))}
    </ul>
  );
}

export default async function cases(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const stopPayments = services.stopPayments;
  const pending = async (request: FastifyRequest) =>
    (await stopPayments.list(userOf(request), { state: 'pending_approval', limit: 50 })).items;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.get('/approver', { config: { public: true, console: MAY.approveStopPayments } }, async (request, reply) => {
    const view = viewFor(request, reply);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={view.t('cases.approvals')}>
          <div id="approvals" hx-get="/approver/queue" hx-trigger="fanzha:changed from:body" aria-live="polite">
            <ApprovalQueue view={view} items={await pending(request)} zone={timeZone} />
          </div>
        </Page>,
      ),
    );
  });

  app.get('/approver/queue', { config: { public: true, console: MAY.approveStopPayments } }, async (request, reply) =>
    sendHtml(
      reply,
      html(<ApprovalQueue view={viewFor(request, reply)} items={await pending(request)} zone={timeZone} />),
    ),
  );

  type RunningOut = Awaited<ReturnType<typeof stopPayments.holdsRunningOut>>;

  /** The senior approver's queue: stops about to lapse (→ Freeze) and freezes about to expire (→ Renew), soonest first. */
  const ActiveCases = (props: { view: View; items: RunningOut }) => {
    const { t, language } = props.view;
    const part = (state: 'stopped' | 'frozen', title: MessageKey, empty: MessageKey) => {
      const rows = props.items.filter((h) => h.state === state);
      return (
        <section aria-labelledby={`${state}-title`}>
          <h2 id={`${state}-title`}>{t(title)}</h2>
          {rows.length === 0 ? (
            <p>{t(empty)}</p>
          ) : (
            <ol class="queue" data-list="">
              {rows.map((hold) => (
                <li tabindex={0} data-case-id={hold.stopPaymentId} data-hold-id={hold.holdId}>
                  <a href={`/cases/${encodeURIComponent(hold.stopPaymentId)}`}>{hold.stopPaymentId}</a> · {hold.bank}{' '}
                  {hold.account} · {yuan(state === 'frozen' ? hold.frozenFen : hold.stoppedFen)} · {t('cases.until')}{' '}
                  <Moment at={hold.expiresAt?.toISOString() ?? null} zone={timeZone} language={language} countdown />
                </li>
              ))}
            </ol>
          )}
        </section>
      );
    };
    return (
      <>
        {part('stopped', 'cases.lapsing', 'cases.noneLapsing')}
        {part('frozen', 'cases.expiring', 'cases.noneExpiring')}
      </>
    );
  };
  const active = (request: FastifyRequest) => stopPayments.holdsRunningOut(userOf(request));
  const seniorAccess = { public: true, console: MAY.freezeStopPayments } as const;

  app.get('/senior', { config: seniorAccess }, async (request, reply) => {
    const view = viewFor(request, reply);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={view.t('cases.senior')}>
          <div id="active" hx-get="/senior/queue" hx-trigger="fanzha:changed from:body">
            <ActiveCases view={view} items={await active(request)} />
          </div>
        </Page>,
      ),
    );
  });

  app.get('/senior/queue', { config: seniorAccess }, async (request, reply) =>
    sendHtml(reply, html(<ActiveCases view={viewFor(request, reply)} items={await active(request)} />)),
  );

  const caseAccess = { public: true, console: MAY.readStopPayments } as const;

  app.get('/cases/:id', { config: caseAccess }, async (request, reply) => {
    const view = viewFor(request, reply);
    const item = await stopPayments.detail(userOf(request), idOf(request));
    return sendHtml(
      reply,
      document(
        <Page view={view} title={`${view.t('cases.case')} ${item.stopPaymentId}`}>
          <div
            id="case"
            hx-get={`/cases/${encodeURIComponent(item.stopPaymentId)}/panel`}
            hx-trigger="fanzha:changed from:body"
          >
            <CaseDetail view={view} item={item} zone={timeZone} />
          </div>
        </Page>,
      ),
    );
  });

  app.get('/cases/:id/panel', { config: caseAccess }, async (request, reply) =>
    sendHtml(
      reply,
      html(
        <CaseDetail
          view={viewFor(request, reply)}
          item={await stopPayments.detail(userOf(request), idOf(request))}
          zone={timeZone}
        />,
      ),
    ),
  );

  /** One decision on the case, then the case again: what happened, or the refusal in words. */
  async function decide(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (form: Form, key: string | null) => Promise<StopPaymentView>,
  ) {
    const view = viewFor(request, reply);
    const form = request.body as Form;
    try {
      const item = await run(form, form.idempotencyKey ?? null);
      return sendHtml(
        reply,
        html(
          <CaseDetail view={view} item={item} zone={timeZone} notice={{ kind: 'info', text: view.t('cases.done') }} />,
        ),
      );
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated' || error.code === 'not_found') throw error;
      const item = await stopPayments.detail(userOf(request), idOf(request));
      const text = sayRefusal(error, view.t);
      const status = REFUSAL_STATUS[error.code];
      return sendHtml(
        reply,
        html(<CaseDetail view={view} item={item} zone={timeZone} notice={{ kind: 'error', text }} />),
        status,
      );
    }
  }

  const holdOf = (request: FastifyRequest) => (request.params as { holdId: string }).holdId;

  app.post(
    '/cases/:id/approve',
    { config: { public: true, console: MAY.approveStopPayments } },
    async (request, reply) =>
      decide(request, reply, (form, key) =>
        stopPayments.approve(userOf(request), idOf(request), { note: form.note?.trim() || undefined }, key),
      ),
  );
  app.post(
    '/cases/:id/reject',
    { config: { public: true, console: MAY.approveStopPayments } },
    async (request, reply) =>
      decide(request, reply, (form, key) =>
        stopPayments.reject(userOf(request), idOf(request), { reason: form.reason ?? '' }, key),
      ),
  );
  app.post(
    '/cases/:id/holds/:holdId/freeze',
    { config: { public: true, console: MAY.freezeStopPayments } },
    async (request, reply) =>
      decide(request, reply, (form, key) =>
        stopPayments.freeze(
          userOf(request),
          idOf(request),
          holdOf(request),
          { legalDocRef: form.legalDocRef ?? '' },
          key,
        ),
      ),
  );
  app.post(
    '/cases/:id/holds/:holdId/renew',
    { config: { public: true, console: MAY.freezeStopPayments } },
    async (request, reply) =>
      decide(request, reply, (form, key) =>
        stopPayments.renew(
          userOf(request),
          idOf(request),
          holdOf(request),
          { legalDocRef: form.legalDocRef ?? '' },
          key,
        ),
      ),
  );
}

/**
 * The 110 call-taker's page: "File stop-payment" while the victim is on the line — the victim, when
 * they reported, the transfers (amounts typed and shown in yuan, sent as fen), an optional linked
 * alert — with each refusal next to its field; and the alerts operators handed over (defrauded),
 * which appear at once and pre-fill the form. The form carries an Idempotency-Key minted when it was
 * rendered, so a double submit files one case.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRefusal, type FieldError } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import type { StopPaymentInput, TransferInput } from '#domain/stop-payment.js';
import { fenFromYuan, localNow, zonedIso, type Form } from './forms.js';
import type { Services } from '#services/index.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { fieldRule, fraudKey } from './i18n.js';
import { ActionForm, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

const ROWS = 3;

/** The filing the form stands for, and which form row each transfer came from (blank rows are skipped). */
function filingFrom(form: Form, zone: string): { input: StopPaymentInput; rows: number[] } {
  const rows: number[] = [];
  const transfers: TransferInput[] = [];
  for (let i = 0; i < ROWS; i++) {
    const filled = ['bank', 'account', 'amount'].some((f) => form[`${f}${i}`]?.trim());
    if (!filled) continue;
    rows.push(i);
    transfers.push({
      bank: form[`bank${i}`]?.trim() ?? '',
      account: form[`account${i}`]?.trim() ?? '',
      amountFen: fenFromYuan(form[`amount${i}`]) ?? Number.NaN,
      transferredAt: zonedIso(form[`at${i}`] ?? '', zone),
    });
  }
  const input: StopPaymentInput = {
    reportedAt: zonedIso(form.reportedAt ?? '', zone),
    victim: { name: form.victimName?.trim() ?? '', phone: form.victimPhone?.trim() ?? '' },
    transfers,
  };
  if (form.caseRef?.trim()) input.caseRef = form.caseRef.trim();
  if (form.alertId?.trim()) input.alertId = form.alertId.trim();
  return { input, rows };
}

/** The form field a refusal's JSON pointer names. */
function fieldOf(pointer: string, rows: number[]): string {
  const parts = pointer.split('/').slice(1);
  if (parts[0] === 'victim') return parts[1] === 'phone' ? 'victimPhone' : 'victimName';
  if (parts[0] === 'transfers' && parts[1] !== undefined) {
    const row = rows[Number(parts[1])] ?? 0;
    const field =
      { bank: 'bank', account: 'account', amountFen: 'amount', transferredAt: 'at', accountName: 'bank' }[
        parts[2] ?? ''
      ] ?? 'bank';
    return `${field}${row}`;
  }
  return parts[0] ?? 'form';
}

/** An alert as the 110 desk sees it: masked. */
type Handover = Awaited<ReturnType<Services['alerts']['handedOver']>>[number];

/** An operator's hand-over that no case links yet: filing from it may leave the phone to the alert. */
const openHandover = (a: Handover | undefined) =>
  a && a.outcome === 'defrauded' && a.stopPaymentId === null ? a : undefined;

/** The alert a call-taker looked up by its exact ID, masked, to link it. */
function LinkedAlert(props: { view: View; alert: Handover | undefined; alertId: string }) {
  const { t } = props.view;
  const a = props.alert;
  if (!a) return <Notice kind="error">{t('calltaker.noSuchAlert', { id: props.alertId })}</Notice>;
  return (
    <p class="linked-alert">
      {t('calltaker.linkedAlert')} {a.alertId}: {a.victim.name ?? '—'} · {a.victim.phone} · {t(fraudKey(a.fraudType))} ·{' '}
      {t(`state.${a.state}`)}
    </p>
  );
}

function FilingForm(props: {
  view: View;
  zone: string;
  values: Form;
  errors: Record<string, string>;
  linked: { alert: Handover | undefined } | undefined;
}) {
  const { view, values, errors, linked } = props;
  const handover = openHandover(linked?.alert);
  const { t } = view;
  const field = (name: string, label: string, attrs: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input
        name={name}
        value={values[name] ?? ''}
        aria-invalid={errors[name] ? 'true' : undefined}
        aria-describedby={errors[name] ? `${name}-error` : undefined}
        {...attrs}
      />
      {errors[name] && (
        <span id={`${name}-error`} class="field-error">
          {errors[name]}
        </span>
      )}
    </label>
  );
  return (
    <ActionForm view={view} action="/calltaker/file" class="card filing" id="filing">
      {errors.form && <Notice kind="error">{errors.form}</Notice>}
      <fieldset>
        <legend>{t('calltaker.victim')}</legend>
        {field('victimName', t('calltaker.victimName'), { required: true, maxLength: 100 })}
        {field('victimPhone', t('operator.phone'), {
          required: !handover,
          inputmode: 'tel',
          pattern: '1[3-9][0-9]{9}',
          placeholder: handover?.victim.phone,
          ...(handover && !errors.victimPhone ? { 'aria-describedby': 'victimPhone-hint' } : {}),
        })}
        {handover && (
          <p id="victimPhone-hint" class="hint">
            {t('calltaker.phoneFromAlert', { phone: handover.victim.phone })}
          </p>
        )}
        {field('reportedAt', t('calltaker.reportedAt'), { type: 'datetime-local', required: true })}
        {field('caseRef', t('calltaker.caseRef'), { maxLength: 64 })}
        {field('alertId', t('calltaker.alertId'), { pattern: '[A-Za-z0-9_-]{1,64}' })}
        <button
          type="button"
          class="secondary"
          hx-get="/calltaker/alert"
          hx-include="[name=alertId]"
          hx-target="#linked"
        >
          {t('calltaker.lookup')}
        </button>
        <output id="linked" aria-live="polite">
          {linked && <LinkedAlert view={view} alert={linked.alert} alertId={values.alertId ?? ''} />}
        </output>
      </fieldset>
      {Array.from({ length: ROWS }, (_, i) => (
        <fieldset>
          <legend>
            {t('calltaker.transfer')} {i + 1}
          </legend>
          {field(`bank${i}`, t('calltaker.bank'), { maxLength: 64, required: i === 0 })}
          {field(`account${i}`, t('calltaker.account'), {
            inputmode: 'numeric',
            pattern: '[0-9]{6,32}',
            required: i === 0,
          })}
          {field(`amount${i}`, t('calltaker.amount'), {
            inputmode: 'decimal',
            pattern: '[0-9]+(\\.[0-9]{1,2})?',
            required: i === 0,
          })}
          {field(`at${i}`, t('calltaker.transferredAt'), { type: 'datetime-local', required: i === 0 })}
        </fieldset>
      ))}
      <button type="submit">{t('calltaker.file')}</button>
    </ActionForm>
  );
}

function Handovers(props: { view: View; items: Handover[]; zone: string }) {
  const { t, language } = props.view;
  if (props.items.length === 0) return <p>{t('calltaker.noHandovers')}</p>;
  return (
    <ol class="queue" data-list="">
      {props.items.map((a) => (
        <li tabindex={0} data-alert-id={a.alertId}>
          {a.victim.name ?? '—'} · {a.victim.phone} · {t(fraudKey(a.fraudType))} ·{' '}
          <Moment at={a.closedAt} zone={props.zone} language={language} /> ·{' '}
          <a href={`/calltaker?fromAlert=${encodeURIComponent(a.alertId)}`}>{t('calltaker.fileFromAlert')}</a>
        </li>
      ))}
    </ol>
  );
}

export default async function calltaker(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const access = { public: true, console: MAY.fileStopPayments } as const;
  const handovers = (request: FastifyRequest) => services.alerts.handedOver(userOf(request), { limit: 20 });
  /** The alert a filing links, looked up by its exact ID (masked); undefined when the form links none. */
  const linkedAlert = async (request: FastifyRequest, alertId: string | undefined) => {
    const id = alertId?.trim();
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const [alert] = await services.alerts.handedOver(userOf(request), { alertId: id, limit: 1 });
    return { alert };
  };

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    values: Form,
    errors: Record<string, string>,
    status = 200,
  ) {
    const view = viewFor(request, reply);
    const linked = await linkedAlert(request, values.alertId);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={view.t('calltaker.title')}>
          <section aria-labelledby="handovers-title">
            <h2 id="handovers-title">{view.t('calltaker.handovers')}</h2>
            <div id="handovers" hx-get="/calltaker/handovers" hx-trigger="fanzha:changed from:body" aria-live="polite">
              <Handovers view={view} items={await handovers(request)} zone={timeZone} />
            </div>
          </section>
          <section aria-labelledby="file-title">
            <h2 id="file-title">{view.t('calltaker.file')}</h2>
            <FilingForm view={view} zone={timeZone} values={values} errors={errors} linked={linked} />
          </section>
        </Page>,
      ),
      status,
    );
  }

  app.get('/calltaker', { config: access }, async (request, reply) => {
    const from = (request.query as Form).fromAlert;
    const values: Form = { reportedAt: localNow(timeZone) };
    if (from) {
      // Filing from a hand-over: the victim's name and the link come from the alert; the phone too, unless typed.
      const alert = (await linkedAlert(request, from))?.alert;
      if (alert) Object.assign(values, { victimName: alert.victim.name ?? '', alertId: alert.alertId });
    }
    return page(request, reply, values, {});
  });

  app.get('/calltaker/handovers', { config: access }, async (request, reply) =>
    sendHtml(
      reply,
      html(<Handovers view={viewFor(request, reply)} items={await handovers(request)} zone={timeZone} />),
    ),
  );

  app.get('/calltaker/alert', { config: access }, async (request, reply) => {
    const alertId = ((request.query as Form).alertId ?? '').trim();
    const view = viewFor(request, reply);
    const linked = await linkedAlert(request, alertId);
    return sendHtml(reply, html(<LinkedAlert view={view} alert={linked?.alert} alertId={alertId} />));
  });

  app.post('/calltaker/file', { config: access }, async (request, reply) => {
    const form = request.body as Form;
    const { input, rows } = filingFrom(form, timeZone);
    try {
      const filed = await services.stopPayments.file(userOf(request), input, form.idempotencyKey ?? null);
      return reply.redirect(`/cases/${encodeURIComponent(filed.stopPaymentId)}`, 303);
    } catch (error) {
      if (!isRefusal(error) || error.code !== 'validation_failed') throw error;
      const errors: Record<string, string> = {};
      const list: FieldError[] =
        error.errors.length > 0 ? error.errors : [{ pointer: '/form', in: 'body', detail: error.detail }];
      const { t } = viewFor(request, reply);
      for (const e of list) errors[fieldOf(e.pointer, rows)] ??= fieldRule(e.pointer, t) ?? e.detail;
      if (rows.length === 0) errors.bank0 ??= t('calltaker.needTransfer');
      return page(request, reply, form, errors, 400);
    }
  });
}

/**
 * Printable notices of a case, as A4 pages (print CSS): the stop-payment notice (紧急止付通知书) listing
 * every held account, and for a frozen hold the freeze notice (冻结通知书) — the center's name, case and
 * instruction IDs (a hold's ID is the instruction the bank received), accounts, amounts in yuan and in
 * Chinese capital numerals, the legal document, and who approved and decided, when. "Print" prints.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Nzh from 'nzh/cn';
import { MAY } from '#domain/roles.js';
import { notFound } from '#domain/refusal.js';
import type { HoldView, StopPaymentView } from '#domain/stop-payment.js';
import { yuan } from './cases.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { document, Moment, type View, sendHtml } from './layout.js';
import type { ComponentChildren } from 'preact';

/** ¥ and 人民币…元…角…分 of an amount in fen. */
// Whole yuan as a plain number ("80000", not "80000.00"), so that the words end in 整 as a notice's do.
export const capitals = (fen: number) => Nzh.toMoney(String(fen / 100));

const HELD = new Set(['stopped', 'frozen', 'lapsed', 'expired', 'released']);

/** A4 paper: the console's header stays off it, the "Print" button too. */
function Sheet(props: { view: View; title: string; center: string; children: ComponentChildren }) {
  const { view } = props;
  const { t } = view;
  return (
    <html lang={view.language}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/assets/console.css" />
        <link rel="stylesheet" href="/assets/print.css" />
        <script src="/assets/console.js" defer></script>
      </head>
      <body class="sheet">
        <main id="main">
          <p class="no-print">
            <button type="button" data-print="">
              {t('notice.print')}
            </button>
          </p>
          <header class="sheet-head">
            <p class="center">{props.center}</p>
            <h1>{props.title}</h1>
          </header>
          {props.children}
        </main>
      </body>
    </html>
  );
}

function Amount(props: { fen: number }) {
  return (
    <>
      {yuan(props.fen)}
      <br />
      <span class="capitals">{capitals(props.fen)}</span>
    </>
  );
}

function Signatures(props: { view: View; item: StopPaymentView; zone: string; extra?: ComponentChildren }) {
  const { t, language } = props.view;
  const { item, zone } = props;
  return (
    <table class="sheet-table signatures">
      <tbody>
        <tr>
          <th scope="row">{t('notice.filedBy')}</th>
          <td>
            {item.createdBy.name} · <Moment at={item.createdAt} zone={zone} language={language} still />
          </td>
        </tr>
        <tr>
          <th scope="row">{t('notice.approvedBy')}</th>
          <td>
            {item.approvedBy ? item.approvedBy.name : '—'} ·{' '}
            <Moment at={item.approvedAt} zone={zone} language={language} still />
          </td>
        </tr>
        {props.extra}
      </tbody>
    </table>
  );
}

export default async function notices(app: FastifyInstance, { services, timeZone, centerName }: ConsoleOptions) {
  const access = { public: true, console: MAY.readStopPayments } as const;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.get('/cases/:id/notice', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t, language } = view;
    const item = await services.stopPayments.detail(userOf(request), idOf(request));
    const held = item.holds.filter((h) => HELD.has(h.state) || h.stoppedFen > 0);
    const total = held.reduce((sum, h) => sum + h.stoppedFen, 0);
    return sendHtml(
      reply,
      document(
        <Sheet view={view} title={t('notice.stopTitle')} center={centerName}>
          <p class="sheet-ref">
            {t('notice.caseId')} {item.stopPaymentId}
            {item.caseRef && ` · ${t('calltaker.caseRef')} ${item.caseRef}`} · {t('notice.issued')}{' '}
            <Moment at={item.approvedAt ?? item.createdAt} zone={timeZone} language={language} still />
          </p>
          <p>{t('notice.stopBody', { victim: item.victim.name })}</p>
          <table class="sheet-table">
            <thead>
              <tr>
                <th scope="col">{t('notice.instruction')}</th>
                <th scope="col">{t('calltaker.bank')}</th>
                <th scope="col">{t('calltaker.account')}</th>
                <th scope="col">{t('notice.stoppedAmount')}</th>
                <th scope="col">{t('notice.until')}</th>
              </tr>
            </thead>
            <tbody>
              {held.map((h: HoldView) => (
                <tr data-hold-id={h.holdId}>
                  <td>{h.holdId}</td>
                  <td>{h.bank}</td>
                  <td class="account">{h.account}</td>
                  <td>
                    <Amount fen={h.stoppedFen} />
                  </td>
                  <td>
                    <Moment at={h.expiresAt} zone={timeZone} language={language} still />
                  </td>
                </tr>
              ))}
              <tr class="total">
                <th scope="row" colSpan={3}>
                  {t('notice.total')}
                </th>
                <td colSpan={2}>
                  <Amount fen={total} />
                </td>
              </tr>
            </tbody>
          </table>
          <Signatures view={view} item={item} zone={timeZone} />
        </Sheet>,
      ),
    );
  });

  app.get('/cases/:id/holds/:holdId/freeze-notice', { config: access }, async (request, reply) => {
    const view = viewFor(request, reply);
    const { t, language } = view;
    const { holdId } = request.params as { holdId: string };
    const user = userOf(request);
    const item = await services.stopPayments.detail(user, idOf(request));
    const { hold, decisions } = await services.stopPayments.holdDecisions(user, idOf(request), holdId);
    if (hold.state !== 'frozen' && hold.frozenFen === 0) throw notFound(`A freeze of hold ${holdId}`);
    const freezes = decisions.filter(
      (d) => d.kind === 'freeze_requested' || d.kind === 'renewed' || d.kind === 'frozen',
    );
    return sendHtml(
      reply,
      document(
        <Sheet view={view} title={t('notice.freezeTitle')} center={centerName}>
          <p class="sheet-ref">
            {t('notice.caseId')} {item.stopPaymentId} · {t('notice.instruction')} {hold.holdId} · {t('cases.legalDoc')}{' '}
            {hold.legalDocRef ?? '—'}
          </p>
          <p>{t('notice.freezeBody', { victim: item.victim.name })}</p>
          <table class="sheet-table">
            <tbody>
              <tr>
                <th scope="row">{t('calltaker.bank')}</th>
                <td>{hold.bank}</td>
              </tr>
              <tr>
                <th scope="row">{t('calltaker.account')}</th>
                <td class="account">{hold.account}</td>
              </tr>
              <tr>
                <th scope="row">{t('notice.frozenAmount')}</th>
                <td>
                  <Amount fen={hold.frozenFen} />
                </td>
              </tr>
              <tr>
                <th scope="row">{t('notice.until')}</th>
                <td>
                  <Moment at={hold.expiresAt} zone={timeZone} language={language} still />
                </td>
              </tr>
            </tbody>
          </table>
          <Signatures
            view={view}
            item={item}
            zone={timeZone}
            extra={freezes.map((d) => (
              <tr>
                <th scope="row">{t(d.kind === 'renewed' ? 'notice.renewedBy' : 'notice.frozenBy')}</th>
                <td>
                  {d.name} · <Moment at={d.at} zone={timeZone} language={language} still />
                </td>
              </tr>
            ))}
          />
        </Sheet>,
      ),
    );
  });
}

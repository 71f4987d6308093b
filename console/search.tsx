/**
 * Search across cases: "has this person been warned before?" (by victim phone: supervisors, auditors)
 * and "which other cases sent money to this account?" (by receiving account: call-takers too). The
 * service scopes, masks and writes each search to the access log; the query stays in the URL.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComponentChildren } from 'preact';
import { hasRole, MAY } from '#domain/roles.js';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import type { Services } from '#services/index.js';
import { yuan } from './cases.js';
import type { Form } from './forms.js';
import { sayRefusal } from './i18n.js';
import { userOf, viewFor, type ConsoleOptions } from './index.js';
import { AlertLine, document, Moment, Notice, Page, type View, sendHtml } from './layout.js';

type Answer = Awaited<ReturnType<Services['search']['byAccount']>> | Awaited<ReturnType<Services['search']['byPhone']>>;

/** One kind of result: its heading with the count, then the list, or "nothing found". */
function Found(props: { view: View; id: string; title: string; children: ComponentChildren[] }) {
  return (
    <section aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children.length === 0 ? (
        <p>{props.view.t('search.none')}</p>
      ) : (
        <ol class="queue" data-list="">
          {props.children}
        </ol>
      )}
    </section>
  );
}

function Results(props: { view: View; answer: Answer; zone: string }) {
  const { view, answer, zone } = props;
  const { t, language } = view;
  const account = 'account' in answer ? answer.account : undefined;
  return (
    <>
      {account && (
        <p class="notice" role="status">
          {t('search.accountSummary', { account: account.account, cases: account.cases, stops: account.stopsMade })}
        </p>
      )}
      {!account && (
        <Found view={view} id="found-alerts" title={t('search.alerts', { n: answer.alerts.length })}>
          {answer.alerts.map((a) => (
            <li tabindex={0} data-alert-id={a.alertId}>
              <AlertLine view={view} alert={a} zone={zone} />
            </li>
          ))}
        </Found>
      )}
      <Found view={view} id="found-cases" title={t('search.cases', { n: answer.stopPayments.length })}>
        {answer.stopPayments.map((c) => (
          <li tabindex={0} data-case-id={c.stopPaymentId}>
            <Moment at={c.createdAt} zone={zone} language={language} /> ·{' '}
            <a href={`/cases/${encodeURIComponent(c.stopPaymentId)}`}>{c.stopPaymentId}</a> · {c.victim.name} ·{' '}
            {c.victim.phone} · {t(`case.${c.state}`)} · {t('cases.requested')} {yuan(c.requestedFen)} ·{' '}
            {t('cases.stopped')} {yuan(c.stoppedFen)}
          </li>
        ))}
      </Found>
    </>
  );
}

export default async function search(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const access = { public: true, console: MAY.searchAccounts } as const;

  app.get('/search', { config: access }, async (request: FastifyRequest, reply) => {
    const view = viewFor(request, reply);
    const { t } = view;
    const user = userOf(request);
    const query = request.query as Form;
    const phone = query.phone?.trim() || undefined;
    const account = query.account?.trim() || undefined;
    const byPhone = hasRole(user.roles, MAY.searchPhones);
    let answer: Answer | undefined;
    let refusal: string | undefined;
    let status = 200;
    try {
      if (phone) answer = await services.search.byPhone(user, phone);
      else if (account) answer = await services.search.byAccount(user, account);
    } catch (error) {
      if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
      refusal = sayRefusal(error, t);
      status = REFUSAL_STATUS[error.code];
    }
    return sendHtml(
      reply,
      document(
        <Page view={view} title={t('search.title')}>
          <div class="search-forms">
            {byPhone && (
              <form method="get" action="/search" class="card inline" role="search" aria-label={t('search.byPhone')}>
                <label>
                  {t('search.phone')}
                  <input name="phone" value={phone ?? ''} inputmode="tel" pattern="1[3-9][0-9]{9}" required />
                </label>
                <button type="submit">{t('search.submit')}</button>
              </form>
            )}
            <form method="get" action="/search" class="card inline" role="search" aria-label={t('search.byAccount')}>
              <label>
                {t('search.account')}
                <input name="account" value={account ?? ''} inputmode="numeric" pattern="[0-9]{6,32}" required />
              </label>
              <button type="submit">{t('search.submit')}</button>
            </form>
          </div>
          <div id="results" aria-live="polite">
            {refusal && <Notice kind="error">{refusal}</Notice>}
            {answer && <Results view={view} answer={answer} zone={timeZone} />}
          </div>
        </Page>,
      ),
      status,
    );
  });
}

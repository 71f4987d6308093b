/**
 * The page shell every console page shares, and the small pieces its pages are made of. Rendered on
 * the server with preact-render-to-string: text is escaped by default, nothing runs in the browser
 * but htmx and console.js (no build step, nothing from a CDN).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { User } from '#db/users.js';
import type { AlertView } from '#domain/alert.js';
import { MAY } from '#domain/roles.js';
import { fraudKey, riskKey, type Language, type MessageKey, type Translate } from './i18n.js';

/** What every rendered page and fragment knows: the language, the signed-in person, the form secrets. */
export interface View {
  t: Translate;
  language: Language;
  user: User | null;
  /** A fresh CSRF token for this render's forms. */
  csrf: string;
  /** Where this page's live stream starts (the feed's newest id before the page read its data). */
  liveFrom: number | null;
  /** The page's path, to mark its place in the menu. */
  path: string;
}

export const html = (node: ComponentChildren) => renderToString(<>{node}</>);

/** Sends a page or a fragment (htmx swaps fragments in, 4xx ones included). */
export const sendHtml = (reply: FastifyReply, body: string, status = 200) =>
  reply.status(status).type('text/html; charset=utf-8').send(body);
export const document = (node: ComponentChildren) => `<!doctype html>${html(node)}`;

/**
 * A form that changes something: it carries the CSRF token and an Idempotency-Key minted now, so a
 * double click or a resent form has one effect. With `target`, htmx posts it and swaps the answer in.
 */
export function ActionForm(props: {
  view: View;
  action: string;
  target?: string;
  class?: string;
  id?: string;
  children: ComponentChildren;
}) {
  const htmx = props.target ? { 'hx-post': props.action, 'hx-target': props.target, 'hx-swap': 'innerHTML' } : {};
  return (
    <form method="post" action={props.action} class={props.class} id={props.id} {...htmx}>
      <input type="hidden" name="_csrf" value={props.view.csrf} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      {props.children}
    </form>
  );
}

/** A message in place of the thing that failed: readable, announced to screen readers. */
export function Notice(props: { kind: 'error' | 'info'; children: ComponentChildren }) {
  return (
    <p class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </p>
  );
}

/** A refusal as the HTML fragment htmx swaps in where the action was. */
export const errorNotice = (text: string) => html(<Notice kind="error">{text}</Notice>);

/** A moment as a local time in the center's zone, with a live relative time kept fresh by console.js. */
export function Moment(props: {
  at: string | null;
  zone: string;
  language: Language;
  countdown?: boolean;
  /** On paper: the time only, no relative time kept fresh. */
  still?: boolean;
}) {
  if (!props.at) return <span>—</span>;
  const local = new Intl.DateTimeFormat(props.language, {
    timeZone: props.zone,
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(props.at));
  return (
    <time datetime={props.at} data-relative={props.still ? undefined : props.countdown ? 'countdown' : 'since'}>
      {local}
    </time>
  );
}

const NAV: { href: string; key: MessageKey; roles: readonly string[] }[] = [
  { href: '/board', key: 'nav.board', roles: MAY.readNotifications },
  { href: '/operator', key: 'nav.operator', roles: ['operator'] },
  { href: '/station', key: 'nav.station', roles: ['station', 'supervisor'] },
  { href: '/calltaker', key: 'nav.calltaker', roles: ['calltaker'] },
  { href: '/approver', key: 'nav.approver', roles: ['approver'] },
  { href: '/senior', key: 'nav.senior', roles: ['senior_approver'] },
  { href: '/stats', key: 'nav.stats', roles: MAY.readStats },
  { href: '/search', key: 'nav.search', roles: MAY.searchAccounts },
  { href: '/audit', key: 'nav.audit', roles: MAY.audit },
  { href: '/admin', key: 'nav.admin', roles: ['admin'] },
  { href: '/access-log', key: 'nav.accessLog', roles: MAY.administer },
];

/** The pages a person's roles open, in menu order. */
export const pagesFor = (user: User) =>
  NAV.filter((item) => item.roles.some((role) => user.roles.includes(role as never)));

export function Page(props: { view: View; title: string; children: ComponentChildren }) {
  const { view } = props;
  const { t, user } = view;
  return (
    <html lang={view.language}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={view.csrf} />
        <title>{`${props.title} · ${t('app.name')}`}</title>
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/htmx/htmx.min.js" defer></script>
        <script src="/assets/console.js" defer></script>
      </head>
      <body
        data-live={user ? '/live' : undefined}
        data-live-after={user && view.liveFrom !== null ? String(view.liveFrom) : undefined}
      >
        <a class="skip" href="#main">
          {t('app.skip')}
        </a>
        <header class="bar">
          <span class="brand">{t('app.name')}</span>
          {user && (
            <nav aria-label={t('nav.home')}>
              {pagesFor(user).map((item) => (
                <a href={item.href} aria-current={view.path === item.href ? 'page' : undefined}>
                  {t(item.key)}
                </a>
              ))}
            </nav>
          )}
          <ActionForm view={view} action="/language" class="inline">
            <label>
              <span class="visually-hidden">{t('nav.language')}</span>
              <select name="language" aria-label={t('nav.language')} data-autosubmit="">
                <option value="zh-CN" selected={view.language === 'zh-CN'}>
                  中文
                </option>
                <option value="en" selected={view.language === 'en'}>
                  English
                </option>
              </select>
            </label>
            <button type="submit" class="secondary">
              {t('nav.language')}
            </button>
          </ActionForm>
          {user && (
            <ActionForm view={view} action="/sign-out" class="inline">
              <span class="who">
                {t('nav.signedInAs')} {user.name}
              </span>
              <button type="submit" class="secondary">
                {t('signIn.signOut')}
              </button>
            </ActionForm>
          )}
        </header>
        <div id="live-banner" class="banner" role="status" hidden>
          {t('live.lost')}
        </div>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** What the person at the phone or the door needs of an alert: the same facts on the operator's and the station's pages. */
export function AlertFacts(props: { view: View; alert: AlertView; zone: string }) {
  const { view, alert } = props;
  const { t, language } = view;
  return (
    <dl>
      <dt>{t('operator.victim')}</dt>
      <dd>{alert.victim.name ?? '—'}</dd>
      <dt>{t('operator.phone')}</dt>
      <dd>
        <a href={`tel:${alert.victim.phone}`} class="phone">
          {alert.victim.phone}
        </a>
      </dd>
      <dt>{t('operator.note')}</dt>
      <dd>{alert.note ?? '—'}</dd>
      {alert.repeatedPushes ? (
        <>
          <dt>{t('operator.repeatedPushes')}</dt>
          <dd>
            {t('operator.repeatedPushesCount', { n: alert.repeatedPushes.count })}{' '}
            <Moment at={alert.repeatedPushes.lastReceivedAt} zone={props.zone} language={language} />
            {alert.repeatedPushes.note ? <p class="note">{alert.repeatedPushes.note}</p> : null}
          </dd>
        </>
      ) : null}
      <dt>{t('operator.deadline')}</dt>
      <dd>
        <Moment at={alert.deadline} zone={props.zone} language={language} countdown />
      </dd>
      <dt>{t('operator.attempts')}</dt>
      <dd>{alert.callAttempts}</dd>
      <dt>{t('operator.station')}</dt>
      <dd>{alert.stationId}</dd>
    </dl>
  );
}

/** An alert on one line, as lists of many show it: when, which, whom (masked by the service), what, where, how it stands. */
export function AlertLine(props: {
  view: View;
  alert: Pick<
    AlertView,
    'alertId' | 'receivedAt' | 'victim' | 'fraudType' | 'riskLevel' | 'stationId' | 'state' | 'outcome'
  >;
  zone: string;
}) {
  const { t, language } = props.view;
  const a = props.alert;
  return (
    <>
      <Moment at={a.receivedAt} zone={props.zone} language={language} /> · {a.alertId} · {t(riskKey(a.riskLevel))} ·{' '}
      {a.victim.name ?? '—'} · {a.victim.phone} · {t(fraudKey(a.fraudType))} · {a.stationId} ·{' '}
      {t(a.outcome ? `outcome.${a.outcome}` : `state.${a.state}`)}
    </>
  );
}

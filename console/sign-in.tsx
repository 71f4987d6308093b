/** Signing in and out, setting a password from an enrollment link, and the language switch. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRefusal, Refusal } from '#domain/refusal.js';
import { hasRole, MAY } from '#domain/roles.js';
import { isHtmx, SESSION_COOKIE, viewFor, type ConsoleOptions } from './index.js';
import { LANGUAGES, pickLanguage, type Language } from './i18n.js';
import type { Form } from './forms.js';
import { ActionForm, document, errorNotice, Notice, Page, pagesFor, type View, sendHtml } from './layout.js';

const cookieOptions = (request: FastifyRequest) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: request.protocol === 'https',
});

function SignInPage(props: { view: View; notice?: { kind: 'error' | 'info'; text: string } }) {
  const { view } = props;
  const { t } = view;
  return (
    <Page view={view} title={t('signIn.title')}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <ActionForm view={view} action="/sign-in" class="card">
        <label>
          {t('signIn.login')}
          <input name="login" autocomplete="username" required autofocus />
        </label>
        <label>
          {t('signIn.password')}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit">{t('signIn.submit')}</button>
      </ActionForm>
      <details class="card">
        <summary>{t('signIn.withToken')}</summary>
        <p>{t('signIn.tokenHelp')}</p>
        <ActionForm view={view} action="/sign-in/token">
          <label>
            {t('signIn.token')}
            <input name="token" type="password" autocomplete="off" required />
          </label>
          <button type="submit">{t('signIn.withToken')}</button>
        </ActionForm>
      </details>
    </Page>
  );
}

function EnrollPage(props: { view: View; token: string; login: string; name: string; error?: string }) {
  const { view } = props;
  const { t } = view;
  return (
    <Page view={view} title={t('enroll.title')}>
      <p>{t('enroll.intro', { name: props.name, login: props.login })}</p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <ActionForm view={view} action={`/enroll/${encodeURIComponent(props.token)}`} class="card">
        <input
          type="text"
          name="login"
          value={props.login}
          autocomplete="username"
          aria-label={t('signIn.login')}
          hidden
          readOnly
        />
        <label>
          {t('enroll.password')}
          <input name="password" type="password" autocomplete="new-password" minLength={12} required autofocus />
        </label>
        <label>
          {t('enroll.confirm')}
          <input name="confirm" type="password" autocomplete="new-password" minLength={12} required />
        </label>
        <button type="submit">{t('enroll.submit')}</button>
      </ActionForm>
    </Page>
  );
}

function HomePage(props: { view: View }) {
  const { view } = props;
  const pages = view.user ? pagesFor(view.user) : [];
  return (
    <Page view={view} title={view.t('home.title')}>
      {pages.length === 0 ? (
        <p>{view.t('home.none')}</p>
      ) : (
        <ul>
          {pages.map((p) => (
            <li>
              <a href={p.href}>{view.t(p.key)}</a>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

/** An unknown, used or expired enrollment link: the sign-in page, saying so. */
const invalidLink = (reply: FastifyReply, view: View) =>
  sendHtml(reply, document(<SignInPage view={view} notice={{ kind: 'error', text: view.t('enroll.invalid') }} />), 404);

export default async function signIn(app: FastifyInstance, { services }: ConsoleOptions) {
  const sessions = services.sessions;

  app.get('/', { config: { public: true, console: 'signed-in' } }, async (request, reply) => {
    const user = request.consoleSession!.user;
    const pages = pagesFor(user);
    // One page for one job: go straight there.
    if (pages.length === 1) return reply.redirect(pages[0]!.href, 303);
    return sendHtml(reply, document(<HomePage view={viewFor(request, reply)} />));
  });

  app.get('/sign-in', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const view = viewFor(request, reply);
    const query = request.query as Form;
    const notice = query.enrolled
      ? { kind: 'info' as const, text: view.t('enroll.done') }
      : query.expired
        ? { kind: 'info' as const, text: view.t('signIn.expired') }
        : undefined;
    return sendHtml(reply, document(<SignInPage view={view} notice={notice} />));
  });

  /** Opens a session and answers like a sign-in form: the home page, or the form again with why not. */
  async function signInWith(
    request: FastifyRequest,
    reply: FastifyReply,
    open: () => Promise<{ token: string }>,
    failedKey: 'signIn.failed' | 'signIn.tokenFailed',
  ) {
    try {
      const { token } = await open();
      reply.setCookie(SESSION_COOKIE, token, cookieOptions(request));
      return reply.redirect('/', 303);
    } catch (error) {
      if (!isRefusal(error) || (error.code !== 'unauthenticated' && error.code !== 'locked')) throw error;
      const view = viewFor(request, reply);
      const login = (request.body as Form).login ?? '(token)';
      request.log.warn({ login, address: request.ip, code: error.code }, 'console sign-in refused');
      const text = view.t(error.code === 'locked' ? 'signIn.locked' : failedKey);
      return sendHtml(
        reply,
        document(<SignInPage view={view} notice={{ kind: 'error', text }} />),
        error.code === 'locked' ? 429 : 401,
      );
    }
  }

  app.post('/sign-in', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const form = request.body as Form;
    const language = pickLanguage(request.cookies.fz_lang, request.headers['accept-language']);
    return signInWith(
      request,
      reply,
      () => sessions.signIn(String(form.login ?? ''), String(form.password ?? ''), request.ip, language),
      'signIn.failed',
    );
  });

  app.post('/sign-in/token', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const form = request.body as Form;
    const language = pickLanguage(request.cookies.fz_lang, request.headers['accept-language']);
    return signInWith(
      request,
      reply,
      () => sessions.signInWithToken(String(form.token ?? ''), request.ip, language),
      'signIn.tokenFailed',
    );
  });

  app.post('/sign-out', { config: { public: true, console: 'signed-in' } }, async (request, reply) => {
    const user = request.consoleSession!.user;
    // An operator does not leave an alert claimed behind: it would wait for its deadline with nobody calling.
    if (hasRole(user.roles, MAY.callAlerts)) {
      const held = await services.alerts.list(user, { state: 'calling', assignedToMe: true, limit: 1 });
      if (held.items.length > 0) {
        const view = viewFor(request, reply);
        const text = view.t('operator.releaseFirst');
        if (isHtmx(request)) return sendHtml(reply, errorNotice(text), 409);
        return reply.redirect('/operator?releaseFirst=1', 303);
      }
    }
    await sessions.signOut(request.cookies[SESSION_COOKIE]!);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/sign-in', 303);
  });

  app.post('/language', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const chosen = (request.body as Form).language;
    if (!chosen || !(LANGUAGES as readonly string[]).includes(chosen))
      throw new Refusal('validation_failed', `Unknown language ${chosen}`);
    const token = request.cookies[SESSION_COOKIE];
    if (token && request.consoleSession) await sessions.setLanguage(token, chosen as Language);
    reply.setCookie('fz_lang', chosen, { ...cookieOptions(request), maxAge: 365 * 86_400 });
    const back = request.headers.referer ? new URL(request.headers.referer).pathname : '/';
    return reply.redirect(back.startsWith('/') && !back.startsWith('//') ? back : '/', 303);
  });

  app.get('/enroll/:token', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const view = viewFor(request, reply);
    const user = await sessions.enrollment(token);
    if (!user) return invalidLink(reply, view);
    return sendHtml(reply, document(<EnrollPage view={view} token={token} login={user.userId} name={user.name} />));
  });

  app.post('/enroll/:token', { config: { public: true, console: 'public' } }, async (request, reply) => {
    const { token } = request.params as { token: string };
    const form = request.body as Form;
    const view = viewFor(request, reply);
    const user = await sessions.enrollment(token);
    if (!user) return invalidLink(reply, view);
    const password = String(form.password ?? '');
    const again = (error: string) =>
      sendHtml(
        reply,
        document(<EnrollPage view={view} token={token} login={user.userId} name={user.name} error={error} />),
        400,
      );
    if (password !== String(form.confirm ?? '')) return again(view.t('enroll.mismatch'));
    if (password.length < 12) return again(view.t('enroll.tooShort'));
    await sessions.setPassword(token, password);
    return reply.redirect('/sign-in?enrolled=1', 303);
  });
}

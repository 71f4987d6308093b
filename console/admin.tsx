/**
 * The admin's page: staff, their roles and stations. "New user" and "Reset password" yield the one-time
 * enrollment link (the admin never learns a password); "Issue token" shows a token once; "Revoke" ends a
 * token; "Disable" ends every session of a person at once. Each answer re-renders the staff list with
 * what was done, and a secret only in that answer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StaffMember } from '#db/users.js';
import { isRefusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { MAY, ROLES, type Role } from '#domain/roles.js';
import type { Form } from './forms.js';
import { isHtmx, userOf, viewFor, type ConsoleOptions } from './index.js';
import { sayRefusal } from './i18n.js';
import { ActionForm, document, html, Moment, Notice, Page, type View, sendHtml } from './layout.js';

/** What an action left to say: done, refused, or a secret to hand over once. */
interface Outcome {
  kind: 'error' | 'info';
  text: string;
  secret?: { label: string; value: string };
}

const STAFF_PAGE = 200;
const rolesFrom = (form: Form): Role[] => ROLES.filter((role) => form[`role_${role}`] === 'on');

function RoleChoices(props: { view: View; chosen: readonly Role[]; legend: string }) {
  const { t } = props.view;
  return (
    <fieldset class="roles">
      <legend>{props.legend}</legend>
      {ROLES.map((role) => (
        <label class="choice">
          <input type="checkbox" name={`role_${role}`} checked={props.chosen.includes(role)} />
          {t(`role.${role}`)}
        </label>
      ))}
    </fieldset>
  );
}

function StaffRow(props: { view: View; member: StaffMember; zone: string; self: boolean }) {
  const { view, member } = props;
  const { t, language } = view;
  const base = `/admin/users/${encodeURIComponent(member.userId)}`;
  const titleId = `user-${member.userId}`;
  const liveTokens = member.tokens.filter((token) => token.revokedAt === null);
  return (
    <li
      class={`card staff${member.disabledAt ? ' disabled' : ''}`}
      data-user-id={member.userId}
      aria-labelledby={titleId}
    >
      <h3 id={titleId}>
        {member.name} <span class="muted">({member.userId})</span>
      </h3>
      <p>
        {member.roles.map((role) => t(`role.${role}`)).join('、')}
        {member.stationId && ` · ${t('admin.station')} ${member.stationId}`}
      </p>
      <p class="muted">
        {member.disabledAt ? (
          <>
            {t('admin.disabled')} · <Moment at={member.disabledAt} zone={props.zone} language={language} /> ·{' '}
            {member.disabledBy}
          </>
        ) : member.passwordSetAt ? (
          <>
            {t('admin.passwordSet')} <Moment at={member.passwordSetAt} zone={props.zone} language={language} />
          </>
        ) : (
          t('admin.noPassword')
        )}
      </p>
      {liveTokens.length > 0 && (
        <ul class="tokens" aria-label={t('admin.tokens')}>
          {liveTokens.map((token) => (
            <li>
              {t('signIn.token')} {token.label ?? token.tokenId} ·{' '}
              <Moment at={token.createdAt} zone={props.zone} language={language} />
              <ActionForm
                view={view}
                action={`${base}/tokens/${encodeURIComponent(token.tokenId)}/revoke`}
                target="#staff"
                class="inline"
              >
                <button
                  type="submit"
                  class="secondary"
                  aria-label={`${t('admin.revoke')} ${token.label ?? token.tokenId}`}
                >
                  {t('admin.revoke')}
                </button>
              </ActionForm>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <ActionForm view={view} action={`${base}/reset-password`} target="#staff" class="inline">
          <button type="submit" class="secondary">
            {t('admin.resetPassword')}
          </button>
        </ActionForm>
        <ActionForm view={view} action={`${base}/tokens`} target="#staff" class="inline">
          <label>
            {t('admin.tokenLabel')}
            <input name="label" maxLength={100} />
          </label>
          <button type="submit" class="secondary">
            {t('admin.issueToken')}
          </button>
        </ActionForm>
        {!props.self && (
          <ActionForm
            view={view}
            action={`${base}/${member.disabledAt ? 'enable' : 'disable'}`}
            target="#staff"
            class="inline"
          >
            <button type="submit" class={member.disabledAt ? 'secondary' : 'danger'}>
              {t(member.disabledAt ? 'admin.enable' : 'admin.disable')}
            </button>
          </ActionForm>
        )}
      </div>
      <details>
        <summary>{t('admin.edit')}</summary>
        <ActionForm view={view} action={base} target="#staff" class="stack">
          <label>
            {t('admin.name')}
            <input name="name" value={member.name} required maxLength={100} />
          </label>
          <RoleChoices view={view} chosen={member.roles} legend={t('admin.roles')} />
          <label>
            {t('admin.stationId')}
            <input name="stationId" value={member.stationId ?? ''} pattern="[A-Za-z0-9_-]{1,64}" />
          </label>
          <button type="submit">{t('admin.save')}</button>
        </ActionForm>
      </details>
    </li>
  );
}

function Staff(props: { view: View; staff: StaffMember[]; zone: string; outcome?: Outcome }) {
  const { view, outcome } = props;
  return (
    <>
      {outcome && (
        <Notice kind={outcome.kind}>
          {outcome.text}
          {outcome.secret && (
            <>
              {' '}
              {outcome.secret.label}
              <output class="secret" data-secret="">
                {outcome.secret.value}
              </output>
            </>
          )}
        </Notice>
      )}
      <ol class="staff-list">
        {props.staff.map((member) => (
          <StaffRow view={view} member={member} zone={props.zone} self={member.userId === view.user?.userId} />
        ))}
      </ol>
    </>
  );
}

function NewUser(props: { view: View }) {
  const { view } = props;
  const { t } = view;
  return (
    <ActionForm view={view} action="/admin/users" target="#staff" class="card stack" id="new-user">
      <label>
        {t('admin.login')}
        <input name="userId" required pattern="[a-z][a-z0-9._\-]{2,31}" autocomplete="off" />
      </label>
      <label>
        {t('admin.name')}
        <input name="name" required maxLength={100} />
      </label>
      <RoleChoices view={view} chosen={[]} legend={t('admin.roles')} />
      <label>
        {t('admin.stationId')}
        <input name="stationId" pattern="[A-Za-z0-9_-]{1,64}" />
      </label>
      <button type="submit">{t('admin.newUser')}</button>
    </ActionForm>
  );
}

export default async function admin(app: FastifyInstance, { services, timeZone }: ConsoleOptions) {
  const access = { public: true, console: MAY.administer } as const;
  const staff = async (request: FastifyRequest) =>
    (await services.users.staff(userOf(request), { limit: STAFF_PAGE })).items;
  const enrollmentUrl = (request: FastifyRequest, token: string) =>
    `${request.protocol}://${request.host}/enroll/${token}`;

  async function render(request: FastifyRequest, reply: FastifyReply, outcome?: Outcome, status = 200) {
    const view = viewFor(request, reply);
    const list = <Staff view={view} staff={await staff(request)} zone={timeZone} outcome={outcome} />;
    if (isHtmx(request)) return sendHtml(reply, html(list), status);
    return sendHtml(
      reply,
      document(
        <Page view={view} title={view.t('admin.title')}>
          <section aria-labelledby="new-user-title">
            <h2 id="new-user-title">{view.t('admin.newUser')}</h2>
            <NewUser view={view} />
          </section>
          <section aria-labelledby="staff-title">
            <h2 id="staff-title">{view.t('admin.staff')}</h2>
            <div id="staff" aria-live="polite">
              {list}
            </div>
          </section>
        </Page>,
      ),
      status,
    );
  }

  /** Runs one admin action and answers with the staff list and what was done (or why not). */
  function act(path: string, run: (request: FastifyRequest, form: Form, view: View) => Promise<Outcome>) {
    app.post(path, { config: access }, async (request, reply) => {
      const view = viewFor(request, reply);
      try {
        return await render(request, reply, await run(request, (request.body ?? {}) as Form, view));
      } catch (error) {
        if (!isRefusal(error) || error.code === 'unauthenticated') throw error;
        return render(request, reply, { kind: 'error', text: sayRefusal(error, view.t) }, REFUSAL_STATUS[error.code]);
      }
    });
  }
  const userIdOf = (request: FastifyRequest) => (request.params as { userId: string }).userId;

  app.get('/admin', { config: access }, (request, reply) => render(request, reply));

  act('/admin/users', async (request, form, { t }) => {
    const user = userOf(request);
    const created = await services.users.create(user, {
      userId: form.userId?.trim() || undefined,
      name: form.name?.trim() ?? '',
      roles: rolesFrom(form),
      stationId: form.stationId?.trim() || undefined,
    });
    const { token } = await services.sessions.enroll(user, created.userId);
    return {
      kind: 'info',
      text: t('admin.created', { name: created.name, login: created.userId }),
      secret: { label: t('admin.enrollmentLink'), value: enrollmentUrl(request, token) },
    };
  });

  act('/admin/users/:userId', async (request, form, { t }) => {
    const stationId = form.stationId?.trim();
    const changed = await services.users.update(userOf(request), userIdOf(request), {
      name: form.name?.trim(),
      roles: rolesFrom(form),
      stationId: stationId ? stationId : null,
    });
    return { kind: 'info', text: t('admin.saved', { name: changed.name }) };
  });

  act('/admin/users/:userId/reset-password', async (request, _form, { t }) => {
    const { token, user } = await services.sessions.enroll(userOf(request), userIdOf(request), { resetPassword: true });
    return {
      kind: 'info',
      text: t('admin.passwordReset', { name: user.name }),
      secret: { label: t('admin.enrollmentLink'), value: enrollmentUrl(request, token) },
    };
  });

  act('/admin/users/:userId/tokens', async (request, form, { t }) => {
    const { token } = await services.users.issueToken(userOf(request), userIdOf(request), form.label?.trim() || null);
    return {
      kind: 'info',
      text: t('admin.tokenIssued', { login: userIdOf(request) }),
      secret: { label: t('admin.tokenOnce'), value: token },
    };
  });

  act('/admin/users/:userId/tokens/:tokenId/revoke', async (request, _form, { t }) => {
    const { tokenId } = request.params as { tokenId: string };
    await services.users.revokeToken(userOf(request), userIdOf(request), tokenId);
    return { kind: 'info', text: t('admin.revoked', { login: userIdOf(request) }) };
  });

  for (const disabled of [true, false])
    act(`/admin/users/:userId/${disabled ? 'disable' : 'enable'}`, async (request, _form, { t }) => {
      const changed = await services.users.update(userOf(request), userIdOf(request), { disabled });
      return { kind: 'info', text: t(disabled ? 'admin.disabledNow' : 'admin.enabledNow', { name: changed.name }) };
    });
}

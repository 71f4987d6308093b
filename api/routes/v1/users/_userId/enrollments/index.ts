import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { problem } from '#api/schemas/common.js';
import { Type } from 'typebox';
import { EnrollmentSchema, NewEnrollmentSchema, UserIdParams } from '#api/schemas/users.js';
import { MAY } from '#domain/roles.js';

// A new user's first password, or a forgotten one: the admin hands over the link and never learns the password.
const enrollments: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'createEnrollment',
        tags: ['users'],
        summary: 'A one-time link (valid 24 h) for the user to set their console password',
        params: UserIdParams,
        body: Type.Optional(NewEnrollmentSchema),
        response: { 201: EnrollmentSchema, 404: problem('No such user') },
      },
    },
    async (request, reply) => {
      const resetPassword = request.body?.resetPassword === true;
      const { token, expiresAt } = await app.services.sessions.enroll(request.user, request.params.userId, {
        resetPassword,
      });
      request.log.info({ userId: request.params.userId, resetPassword }, 'enrollment link issued');
      const url = `${request.protocol}://${request.host}/enroll/${token}`;
      return reply.status(201).send({ url, expiresAt: expiresAt.toISOString() });
    },
  );
};

export default enrollments;

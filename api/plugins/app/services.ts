/** The business services as one decorator: routes turn HTTP into calls on them and their answers back into HTTP. */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createServices, type Services } from '#services/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

export default fp(
  async function services(app: FastifyInstance) {
    app.decorate(
      'services',
      createServices({ db: app.db, temporal: app.temporal, config: app.config, users: app.users }),
    );
  },
  { name: 'services' },
);

/**
 * GET /live: the page's Server-Sent Events. Driven from the database (live_changes), not from memory,
 * so any API process serves any page and resumes a stream from its Last-Event-ID. Each event is
 * filtered for the person before it is sent (services/live.ts); console.js refreshes what changed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { userOf, type ConsoleOptions } from './index.js';

const POLL_MS = 300;

export default async function live(app: FastifyInstance, { services }: ConsoleOptions) {
  // Open streams never end by themselves: a closing server ends them, or it would wait for them forever.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get('/live', { sse: true, config: { public: true, console: 'signed-in' } }, async (request, reply) => {
    const user = userOf(request);
    const resumeFrom = Number(reply.sse.lastEventId ?? (request.query as { after?: string }).after);
    let cursor = Number.isSafeInteger(resumeFrom) && resumeFrom >= 0 ? resumeFrom : await services.live.newest();
    reply.sse.keepAlive();
    const end = () => reply.sse.close();
    open.add(end);
    reply.sse.onClose(() => open.delete(end));
    // The stream's first event says where it stands, so a reconnect resumes from here.
    await reply.sse.send({ id: String(cursor), event: 'ready', data: {} });
    void (async () => {
      while (reply.sse.isConnected) {
        try {
          const { events, next } = await services.live.after(user, cursor);
          for (const event of events)
            await reply.sse.send({
              id: String(event.id),
              event: 'change',
              data: { caseType: event.caseType, state: event.state },
            });
          if (next !== cursor && events.length === 0)
            await reply.sse.send({ id: String(next), event: 'tick', data: {} });
          cursor = next;
        } catch (error) {
          request.log.warn({ err: error }, 'live feed read failed; retrying');
        }
        await sleep(POLL_MS);
      }
    })();
  });
}

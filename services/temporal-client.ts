import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { FanzhaConfig } from '#config/index.js';

/**
 * A lazy connection: the API starts (and /readyz can say what is down) even while Temporal is
 * unreachable, and reconnects by itself when it comes back.
 */
export function createTemporalClient(config: FanzhaConfig): Client {
  const connection = Connection.lazy(config.temporal.connect.connectionOptions as ConnectionOptions);
  return new Client({ connection, namespace: config.temporal.namespace });
}

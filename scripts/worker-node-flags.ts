/**
 * Prints the node flags a worker is started with (config workerNodeFlags, from FANZHA_WORKER_MEMORY_MB):
 * `npm run worker` puts them on its command line, since a heap limit is fixed when a process starts.
 * A configuration error prints nothing: the worker itself then says what is wrong.
 */
import { loadConfig, workerNodeFlags } from '#config/index.js';

try {
  console.log(workerNodeFlags(loadConfig()).join(' '));
} catch {
  // The worker reports it, with its exit code.
}

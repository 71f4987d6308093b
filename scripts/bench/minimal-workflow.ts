/**
 * The smallest open workflow there is, for the bench's engine limit: started, one workflow task that
 * says so (a sink, counted by the bench's own worker) and starts one timer, then nothing for an hour.
 * Bundled on its own: it is not part of the system's workflows.
 */
import { proxySinks, sleep, type Sinks } from '@temporalio/workflow';

export interface BenchSinks extends Sinks {
  bench: { firstTask(): void };
}

const { bench } = proxySinks<BenchSinks>();

export async function MinimalWorkflow(): Promise<void> {
  bench.firstTask();
  await sleep('1 hour');
}

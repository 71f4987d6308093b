/**
 * Preloaded into a process to profile (`node --import ./scripts/cpu-profile-on-signal.ts …`): the first
 * SIGWINCH (a signal nothing else here handles; close-with-grace takes SIGUSR2) starts V8's CPU profiler, the next one stops it and writes `<FANZHA_CPU_PROFILE>` (a
 * .cpuprofile that Chrome DevTools, speedscope or `scripts/profile-decision.ts --summarize` read).
 * Unlike `node --cpu-prof` it covers only the window asked for, not the start-up and the set-up.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const file = process.env.FANZHA_CPU_PROFILE ?? `cpu-${process.pid}.cpuprofile`;
const session = new Session();
session.connect();
let profiling = false;
process.on('SIGWINCH', () => {
  void (async () => {
    if (!profiling) {
      profiling = true;
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return;
    }
    profiling = false;
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    process.stderr.write(`cpu profile written to ${file}\n`);
  })();
});

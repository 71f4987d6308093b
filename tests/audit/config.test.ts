/** The audit settings: how often the archiver runs, and which workflow code replays use. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#config/index.js';

describe('audit configuration', () => {
  it('archives every minute unless FANZHA_ARCHIVE_EVERY says otherwise', () => {
    expect(loadConfig({}).audit).toEqual({ archiveEveryMs: 60_000, replayBundlePath: null, key: null });
    expect(loadConfig({ FANZHA_ARCHIVE_EVERY: '30s' }).audit.archiveEveryMs).toBe(30_000);
    expect(loadConfig({ FANZHA_ARCHIVE_EVERY: '1h' }).audit.archiveEveryMs).toBe(3_600_000);
    expect(loadConfig({ FANZHA_ARCHIVE_EVERY: '5000' }).audit.archiveEveryMs).toBe(5_000);
  });

  it('refuses an interval it cannot read, or shorter than a second, naming the variable', () => {
    for (const bad of ['soon', '500ms', '0', '-1m'])
      expect(() => loadConfig({ FANZHA_ARCHIVE_EVERY: bad }), bad).toThrow(
        expect.objectContaining({ variable: 'FANZHA_ARCHIVE_EVERY' }),
      );
    expect(() => loadConfig({ FANZHA_ARCHIVE_EVERY: 'soon' })).toThrow(ConfigError);
  });

  it('replays against FANZHA_REPLAY_BUNDLE when given (resolved to an absolute path)', () => {
    expect(loadConfig({ FANZHA_REPLAY_BUNDLE: 'build/workflow-bundle.js' }).audit.replayBundlePath).toBe(
      path.resolve('build/workflow-bundle.js'),
    );
  });
});

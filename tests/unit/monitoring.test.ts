/**
 * The monitoring that ships in docs/: Prometheus alert rules that promtool accepts and that fire as
 * their cases say (tests/unit/prometheus-rules.test.yml), each with a runbook section an on-call person
 * can open, and a Grafana dashboard whose queries name only metrics Fanzha serves. promtool comes from
 * Debian's `prometheus` package, which `npm test`'s pretest installs (scripts/prepare-tests.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  if (run.error)
    throw new Error(
      `promtool did not run (${run.error.message}): npm test's pretest installs Debian's prometheus package`,
    );
  return run;
}

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}
const rules: Rule[] = (parse(read('docs/prometheus-rules.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

/** GitHub's heading anchors, for the headings the runbook uses (letters, digits, spaces). */
const anchors = new Set(
  [...read('docs/runbook.md').matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/\s+/g, '-')),
);

/** Metric names a PromQL expression reads (functions, labels and keywords aside). */
const metricNames = (expr: string) =>
  [...expr.replace(/\{[^}]*\}/g, '').matchAll(/\b(fanzha_\w+|http_request_\w+|temporal_\w+)\b/g)].map((m) =>
    m[1]!.replace(/_(total|bucket|count|sum)$/, ''),
  );

/** Every metric Fanzha itself declares, by the source that declares it. */
const declared = [
  read('api/routes/metrics.ts'),
  read('api/plugins/external/prometheus.ts'),
  read('activities/bank.ts'),
].join('\n');

describe('Prometheus alert rules', () => {
  it('pass `promtool check rules`', () => {
    const run = promtool('check', 'rules', 'docs/prometheus-rules.yml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('fire as their cases say (`promtool test rules`): once for figures every API process reports', () => {
    const run = promtool('test', 'rules', 'tests/unit/prometheus-rules.test.yml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('link each alert to its own section of docs/runbook.md', () => {
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) {
      const url = rule.annotations.runbook_url;
      expect(url, rule.alert).toBe(`docs/runbook.md#${rule.alert.toLowerCase()}`);
      expect(anchors.has(rule.alert.toLowerCase()), `runbook section for ${rule.alert}`).toBe(true);
    }
  });

  it('read only metrics Fanzha serves', () => {
    for (const rule of rules)
      for (const name of metricNames(rule.expr).filter((n) => !n.startsWith('temporal_')))
        expect(declared, `${rule.alert} reads ${name}`).toContain(`'${name}'`);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(read('docs/grafana-dashboard.json')) as {
    uid: string;
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('shows every signal an alert rule watches', () => {
    const shown = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const rule of rules)
      for (const name of metricNames(rule.expr)) expect(shown.has(name), `${rule.alert}: ${name}`).toBe(true);
  });

  it('queries only metrics Fanzha serves, through the chosen data source', () => {
    expect(dashboard.uid).toBe('fanzha-operations');
    for (const { panel, expr } of queries)
      for (const name of metricNames(expr).filter((n) => !n.startsWith('temporal_')))
        expect(declared, `${panel} reads ${name}`).toContain(`'${name}'`);
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|fanzha-operations)/);
  });
});

/**
 * Imports flow one way between the top-level folders (README, "Developing"):
 *
 *   entry points   api/ (which also serves console/)  console/  worker/  scripts/  (and the standalone simulators/)
 *        ↓
 *   modules        services/ → audit/, read-model/      activities/ → audit/, read-model/, backup/
 *                  backup/ (backup and restore) → audit/
 *        ↓
 *   foundations    db/ → config/ → domain/             workflows/ (deterministic code) → domain/
 *
 * A type-only import of a workflow function or of its activities' types is Temporal's own pattern
 * (typed starts, proxyActivities) and carries no code, so it is allowed across layers.
 * `npm test` runs this check; `npx depcruise -c .dependency-cruiser.cjs .` shows it.
 */
const ENTRY = '^(api|console|worker|scripts|simulators)/';
const MODULES = '^(services|activities|audit|backup|read-model)/';

/** Everything `from` may not import, as a path pattern. */
const forbid = (name, comment, from, to, options = {}) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to, ...options },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one; split them or move the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    forbid(
      'domain-is-plain',
      'domain/ holds plain types and pure functions: it imports no other folder.',
      '^domain/',
      '^(?!domain/)[^/]+/',
      { pathNot: '^node_modules/' },
    ),
    forbid(
      'config-above-domain-only',
      'config/ reads the environment into domain values.',
      '^config/',
      '^(?!config/|domain/)[^/]+/',
      { pathNot: '^node_modules/' },
    ),
    forbid(
      'db-below-modules',
      'db/ is storage: it knows config and domain, nothing above.',
      '^db/',
      '^(?!db/|config/|domain/)[^/]+/',
      { pathNot: '^node_modules/' },
    ),
    forbid(
      'workflows-deterministic',
      'Workflow code imports only workflows/ and domain/ (plus type-only imports of its activities): no database, no client, no services.',
      '^workflows/',
      '^(?!workflows/|domain/)[^/]+/',
      { pathNot: '^node_modules/', dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'foundations-never-reach-up',
      'db/, config/ and domain/ never import modules or entry points.',
      '^(db|config|domain)/',
      `${MODULES}|${ENTRY}|^workflows/`,
    ),
    forbid(
      'modules-never-import-entry-points',
      'services/, activities/, audit/ and read-model/ are used by entry points, never the other way round.',
      MODULES,
      ENTRY,
    ),
    forbid(
      'modules-import-workflows-only-as-types',
      'Modules talk to workflows through workflows/messages.ts; other workflow files only for types.',
      MODULES,
      '^workflows/(?!messages\\.ts$)',
      { dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'audit-and-read-model-below-services',
      'audit/ and read-model/ serve services/ and activities/, never the reverse.',
      '^(audit|read-model)/',
      '^(services|activities)/',
    ),
    forbid(
      'backup-below-services-and-activities',
      'backup/ serves scripts/ and activities/ (the scheduled backup), never the reverse.',
      '^backup/',
      '^(services|activities)/',
    ),
    forbid('read-model-below-audit', 'read-model/ does not depend on audit/.', '^read-model/', '^audit/'),
    forbid(
      'services-and-activities-apart',
      'services/ (for entry points) and activities/ (for the worker) share audit/ and read-model/, not each other.',
      '^services/',
      '^activities/',
    ),
    forbid(
      'activities-apart-from-services',
      'services/ (for entry points) and activities/ (for the worker) share audit/ and read-model/, not each other.',
      '^activities/',
      '^services/',
    ),
    forbid(
      'simulator-stands-alone',
      'The bank simulator imports only domain/ (the bank contract).',
      '^simulators/',
      '^(?!simulators/|domain/)[^/]+/',
      { pathNot: '^node_modules/' },
    ),
    forbid(
      'console-apart',
      'The console is an entry point of its own on the services: it imports no other entry point.',
      '^console/',
      '^(api|worker|scripts)/',
    ),
    forbid(
      'api-and-worker-apart',
      'The API and the worker are separate processes: neither imports the other.',
      '^api/',
      '^worker/',
    ),
    forbid(
      'worker-and-api-apart',
      'The API and the worker are separate processes: neither imports the other.',
      '^worker/',
      '^api/',
    ),
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data|bench/results|tests/histories)/' },
    includeOnly:
      '^(activities|api|audit|backup|config|db|domain|read-model|scripts|services|simulators|worker|workflows|tests)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

/**
 * The layer order of src/, written once: each layer may import its own and any lower layer,
 * never a higher one, and no module may take part in an import cycle. `npm test` runs this
 * check (test/architecture/layers.test.ts); `npx depcruise src` runs it by hand.
 *
 * Layers, lowest first. A path belongs to the first layer whose pattern matches it, so
 * narrower patterns (metrics/stats) come before the folder they sit in.
 */
const LAYERS = [
  {
    name: 'base',
    // The webhook catalogue and signature format are plain constants and crypto that the
    // configuration schema validates against; the rest of webhooks/ sits above config.
    paths: ['src/util/', 'src/errors\\.ts', 'src/clock\\.ts', 'src/logger\\.ts', 'src/webhooks/(catalogue|sign)\\.ts'],
  },
  { name: 'config+db', paths: ['src/config/', 'src/db/', 'migrations/'] },
  { name: 'statistics', paths: ['src/metrics/stats/'] },
  {
    name: 'records+io',
    paths: ['src/shop/', 'src/consent/', 'src/delivery/', 'src/queue/', 'src/tracking/', 'src/webhooks/'],
  },
  { name: 'domain', paths: ['src/dormancy/', 'src/templates/', 'src/sequences/(?!simulate/)'] },
  // Queries and the report contract; engine policies that act on them live in engine/.
  { name: 'metrics', paths: ['src/metrics/(?!stats/)'] },
  { name: 'engine', paths: ['src/engine/', 'src/app\\.ts', 'src/integrations/'] },
  { name: 'simulate', paths: ['src/simulate/'] },
  {
    name: 'surfaces',
    paths: ['src/worker/', 'src/server/', 'src/dashboard/', 'src/studio/', 'src/demo/', 'src/project/'],
  },
  { name: 'entry', paths: ['src/cli/', 'src/index\\.ts', 'src/testing\\.ts', 'src/models\\.ts'] },
];

/**
 * Known upward imports that are not fixed yet, each with the reason it still exists (none now). The check
 * fails on any upward import not listed here; an entry allows exactly its one edge (`from` is
 * in `layer`).
 */
const EXCEPTIONS = [];

const anyOf = (paths) => `^(${paths.join('|')})`;
const pathsOf = (layers) => layers.flatMap((l) => l.paths);

/**
 * One rule per layer: nothing in it may import from a layer above. A module matches the lowest
 * layer whose pattern fits, so each rule leaves out what lower layers claim.
 */
const upward = LAYERS.slice(0, -1).flatMap((layer, i) => {
  const own = anyOf(layer.paths);
  const below = pathsOf(LAYERS.slice(0, i));
  const notUp = anyOf(pathsOf(LAYERS.slice(0, i + 1)));
  const up = anyOf(pathsOf(LAYERS.slice(i + 1)));
  const comment = `${layer.name} may not import from a higher layer (${LAYERS.slice(i + 1)
    .map((l) => l.name)
    .join(', ')})`;
  const excepted = EXCEPTIONS.filter((e) => e.layer === layer.name);
  const rule = {
    name: `layer-${layer.name}`,
    comment,
    severity: 'error',
    from: { path: own, pathNot: [...below.map((p) => `^${p}`), ...excepted.map((e) => e.from)] },
    to: { path: up, pathNot: notUp },
  };
  const narrowed = excepted.map((e, j) => ({
    name: `layer-${layer.name}-except-${j + 1}`,
    comment: `${comment}; one listed exception`,
    severity: 'error',
    from: { path: e.from },
    to: { path: up, pathNot: [notUp, e.to] },
  }));
  return [rule, ...narrowed];
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle ties modules into one unit; split the shared part out',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'layer-unassigned',
      comment: 'every module under src/ belongs to a layer: add its folder to LAYERS',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(LAYERS.flatMap((l) => l.paths)) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

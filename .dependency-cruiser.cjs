// Structure rules for functions/ (run by `npm run lint`): no import cycles, and every folder imports
// only from folders on a lower floor. Floors, bottom up (a folder may import its own floor's root
// files and anything below, never above, never a sibling folder on the same floor):
//
//   0  ground       config.ts, log.ts, log-events.ts, ids.ts, messages.ts, run-limited.ts, pubsub-topic.ts,
//                   time/, read-models/
//   1  google       calendar/
//   2  storage      store/
//   3  services     credentials/, changes/
//   4  view         occurrences/
//   5  engine       sync/
//   6  lifecycle    channels/
//   7  entries      webhook/, worker/, renewal/
//   8  operator     cli/
//   9  registration index.ts, startup.ts
/** @type {string[][]} folder (or root file) names per floor */
const FLOORS = [
  [
    'config\\.ts',
    'log\\.ts',
    'log-events\\.ts',
    'ids\\.ts',
    'messages\\.ts',
    'run-limited\\.ts',
    'pubsub-topic\\.ts',
    'time/',
    'read-models/',
  ],
  ['calendar/'],
  ['store/'],
  ['credentials/', 'changes/'],
  ['occurrences/'],
  ['sync/'],
  ['channels/'],
  ['webhook/', 'worker/', 'renewal/'],
  ['cli/'],
  ['index\\.ts', 'startup\\.ts'],
];

const path = (names) => `^functions/(${names.join('|')})`;

const upward = FLOORS.flatMap((floor, rank) => {
  const above = FLOORS.slice(rank + 1).flat();
  if (above.length === 0) return [];
  return [
    {
      name: `floor-${rank}-imports-upward`,
      comment: `functions/${floor.join(', ')} (floor ${rank}) must not import from a higher floor`,
      severity: 'error',
      from: { path: path(floor) },
      to: { path: path(above) },
    },
  ];
});

// Folders on the same floor stay independent of each other (a sibling import would be a hidden floor).
const siblings = FLOORS.flatMap((floor, rank) =>
  rank === 0
    ? []
    : floor
        .filter((name) => name.endsWith('/'))
        .map((name) => {
          const others = floor.filter((o) => o !== name);
          return others.length === 0
            ? undefined
            : {
                name: `floor-${rank}-sibling-${name.replace('/', '')}`,
                comment: `functions/${name} must not import its sibling folders on floor ${rank}`,
                severity: 'error',
                from: { path: path([name]) },
                to: { path: path(others) },
              };
        })
        .filter(Boolean),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere in functions/',
      severity: 'error',
      from: { path: '^functions/' },
      to: { circular: true },
    },
    {
      name: 'production-imports-no-tests',
      comment: 'Production code never imports test code',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(test|scripts)/' },
    },
    ...upward,
    ...siblings,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count too: a type import upward is still a wall in the wrong place.
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

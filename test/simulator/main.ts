// Standalone CLI: `npm run simulator -- --port 8790 [--seed N] [--realism google] [--log]`, serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startSimulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8790' },
    seed: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    log: { type: 'boolean', default: false },
    realism: { type: 'string' },
  },
});

if (values.realism !== undefined && values.realism !== 'google' && values.realism !== 'off') {
  console.error(`invalid --realism: ${values.realism} (google or off)`);
  process.exit(2);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port: ${values.port}`);
  process.exit(2);
}

const sim = await startSimulator({
  port,
  seed: values.seed === undefined ? undefined : Number(values.seed),
  clientId: values['client-id'],
  clientSecret: values['client-secret'],
  log: values.log,
  realism: values.realism as 'google' | 'off' | undefined,
});
console.log(
  `Calendar API simulator listening on ${sim.url}${values.realism === 'google' ? " (realism: 'google')" : ''}`,
);

const stop = (): void => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

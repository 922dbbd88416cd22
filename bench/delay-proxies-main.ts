import { startDelayProxy } from './delay-proxy.js';

/** Child process: one delaying proxy per `listen:target` pair in argv[3…], delay argv[2] ms; says "ready". */
const delayMs = Number(process.argv[2]);
await Promise.all(
  process.argv.slice(3).map((pair) => {
    const [listen, target] = pair.split(':').map(Number);
    return startDelayProxy(listen ?? 0, target ?? 0, delayMs);
  }),
);
process.stdout.write('ready\n');

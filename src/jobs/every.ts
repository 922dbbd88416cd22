/**
 * Runs `tick` every `ms` until stopped, one tick at a time; a failing tick goes to `failed`, never thrown. Each
 * wait holds one abort listener and removes it when it ends, so a loop can run for months.
 */
export function every(
  ms: number,
  tick: () => Promise<void>,
  failed: (error: unknown) => void,
): { stop: () => void; done: Promise<void> } {
  const controller = new AbortController();
  const { signal } = controller;
  const done = (async () => {
    while (!signal.aborted) {
      await tick().catch(failed);
      await new Promise<void>((resolve) => {
        const stop = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', stop);
          resolve();
        }, ms);
        signal.addEventListener('abort', stop, { once: true });
      });
    }
  })();
  return { stop: () => controller.abort(), done };
}

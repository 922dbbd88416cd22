import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { useDockerEngine } from '../support/docker-engine.js';
import { buildAppImage, docker, ensureNodeImage, TEST_LABEL, testRun } from '../support/docker-images.js';
import { freePort } from '../support/free-port.js';
import { localBackend, type RedisBackend } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'docker-image-test-secret';
let backend: RedisBackend;
let cluster: TestCluster;
let recorder: SlackRecorder;
let image: string;
let container: string | undefined;
let port: number;

beforeAll(async () => {
  const engine = await useDockerEngine();
  const base = await ensureNodeImage();
  const app = await buildAppImage(base.tag);
  image = app.tag;
  process.stdout.write(
    `[slotwatch tests] docker-image: Docker ${engine}; base ${base.tag} ${base.built ? `built in ${base.ms} ms` : 'cached'}; ` +
      `${app.tag} built in ${app.ms} ms\n`,
  );
  backend = localBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  port = await freePort();
}, 600_000);
afterAll(async () => {
  if (container) await docker(['rm', '--force', container]).catch(() => {});
  await recorder?.stop();
  await cluster?.stop();
  await backend?.stopAll();
});

const inspect = async (format: string) => docker(['inspect', '--format', format, container ?? '']);

describe('the Docker image, built from the Dockerfile on a local Node base', () => {
  it('serves health, readiness and a signed /redis status from the container, then stops cleanly', async () => {
    container = await docker([
      'run',
      '--detach',
      '--network',
      'host',
      '--label',
      `${TEST_LABEL}=${testRun()}`,
      '--env',
      'SLACK_BOT_TOKEN=xoxb-docker-test',
      '--env',
      `SLACK_SIGNING_SECRET=${SECRET}`,
      '--env',
      `SLACK_API_URL=${recorder.apiUrl}`,
      '--env',
      `CLUSTERS=prod=${cluster.seeds.join(',')}`,
      '--env',
      `PORT=${port}`,
      image,
    ]);
    await waitFor(
      'the container to listen',
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
      {
        timeoutMs: 30_000,
      },
    );

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    const ack = await postToSlack(
      port,
      slashCommandBody({ text: 'status prod', responseUrl: recorder.responseUrl('docker') }),
      { secret: SECRET },
    );
    const response = await recorder.nextResponse('docker');
    const unsigned = await postToSlack(port, slashCommandBody({ text: 'status', responseUrl: 'x' }), {
      signature: null,
    });
    const healthcheck = JSON.parse(await inspect('{{json .Config.Healthcheck.Test}}')) as string[];
    const probe = await docker(['exec', container, 'sh', '-c', `${healthcheck[1]} && echo healthy`]);
    const user = await inspect('{{.Config.User}}');
    await docker(['stop', '--time', '20', container]);

    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
    expect(ack.status).toBe(200);
    expect(response.body).toMatchObject({
      response_type: 'in_channel',
      text: expect.stringMatching(/^prod: OK/),
    });
    expect(unsigned.status).toBe(401);
    expect(healthcheck[0]).toBe('CMD-SHELL');
    expect(probe).toBe('healthy');
    expect(user).toBe('node');
    expect(await inspect('{{.State.ExitCode}}')).toBe('0');
    expect(await docker(['logs', container])).toContain('"msg":"stopped"');
  });
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

/** Where `scripts/dockerd.sh start` (and so `.ci/run`) puts the engine's socket. */
export const SLOTWATCH_DOCKER_SOCKET = '/run/slotwatch-docker/docker.sock';

/**
 * Points this process at a Docker engine and tells testcontainers what it cannot find out here: Ryuk cannot be
 * pulled (containers are stopped by the harness), and every container uses the host network, so the host is
 * loopback (testcontainers would otherwise look for a bridge network, which the engine does not create).
 * Throws, saying why and what to do, when no engine answers.
 */
export async function useDockerEngine(): Promise<string> {
  if (!process.env.DOCKER_HOST && existsSync(SLOTWATCH_DOCKER_SOCKET)) {
    process.env.DOCKER_HOST = `unix://${SLOTWATCH_DOCKER_SOCKET}`;
  }
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  try {
    const { stdout } = await promisify(execFile)('docker', ['version', '--format', '{{.Server.Version}}'], {
      timeout: 15_000,
    });
    return stdout.trim();
  } catch (error) {
    const reason = error instanceof Error ? error.message.trim() : String(error);
    throw new Error(
      `no Docker engine answers at ${process.env.DOCKER_HOST ?? 'the default socket'}: ${reason}\n` +
        'Start one with `eval "$(scripts/dockerd.sh start)"` (as root, docker.io installed); .ci/run does it.',
    );
  }
}

import { execFile, spawn } from 'node:child_process';
import {
  chmod,
  chown,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REDIS_IMAGE = 'slotwatch-test/redis:7.0';
export const NODE_MAJOR = process.versions.node.split('.')[0] ?? '20';
export const NODE_IMAGE = `slotwatch-local/node:${NODE_MAJOR}`;
export const APP_IMAGE = 'slotwatch-test/app:local';

const SOURCE_LABEL = 'slotwatch.source';
/** On every container the tests start, valued with the run's id, so that leftovers can be found and removed. */
export const TEST_LABEL = 'slotwatch.test.run';
export const testRun = (): string => process.env.SLOTWATCH_TEST_RUN ?? 'adhoc';

export interface BuiltImage {
  readonly tag: string;
  /** False when an image built from the same binaries was already there. */
  readonly built: boolean;
  readonly ms: number;
}

export async function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('docker', [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** The path a command runs from, symlink kept: redis-server is a link whose name selects the program. */
async function which(command: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', `command -v ${command}`]);
  return stdout.trim();
}

/** The shared libraries `ldd` lists for a binary, the dynamic loader included. */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return stdout
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}

/** Copies each file to the same path under `root`, symlinks followed. */
async function copyInto(root: string, paths: Iterable<string>): Promise<void> {
  for (const path of new Set(paths)) {
    await mkdir(join(root, dirname(path)), { recursive: true });
    await copyFile(await realpath(path), join(root, path));
    await chmod(join(root, path), 0o755);
  }
}

async function withBinaries(root: string, binaries: readonly string[]): Promise<void> {
  const libraries = (await Promise.all(binaries.map(librariesOf))).flat();
  await copyInto(root, [...binaries, ...libraries]);
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
}

async function sourceLabel(tag: string): Promise<string | null> {
  try {
    return await docker(['image', 'inspect', '--format', `{{index .Config.Labels "${SOURCE_LABEL}"}}`, tag]);
  } catch {
    return null;
  }
}

/** `tar` of the root filesystem piped into `docker import`. */
function importRoot(root: string, tag: string, changes: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '-c', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const importer = spawn('docker', ['import', ...changes.flatMap((c) => ['--change', c]), '-', tag], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let errors = '';
    tar.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    importer.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    tar.stdout.pipe(importer.stdin);
    tar.once('error', reject);
    importer.once('error', reject);
    importer.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`docker import ${tag} failed (${code}): ${errors.trim()}`)),
    );
  });
}

async function ensureImage(
  tag: string,
  source: string,
  fill: (root: string) => Promise<void>,
  changes: readonly string[],
): Promise<BuiltImage> {
  const began = Date.now();
  if ((await sourceLabel(tag)) === source) return { tag, built: false, ms: Date.now() - began };
  const root = await mkdtemp(join(tmpdir(), 'slotwatch-rootfs-'));
  try {
    await fill(root);
    await importRoot(root, tag, [...changes, `LABEL ${SOURCE_LABEL}="${source}"`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return { tag, built: true, ms: Date.now() - began };
}

/** A Redis image holding this machine's redis-server and the libraries it links, nothing else. */
export async function ensureRedisImage(tag = REDIS_IMAGE): Promise<BuiltImage> {
  const redisServer = await which('redis-server');
  const { stdout } = await run(redisServer, ['--version']);
  return ensureImage(
    tag,
    stdout.trim().replaceAll('"', ''),
    async (root) => {
      await withBinaries(root, [redisServer]);
      await mkdir(join(root, 'data'), { recursive: true });
    },
    ['WORKDIR /data', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', 'CMD ["redis-server"]'],
  );
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n';
const GROUP = 'root:x:0:\nnode:x:1000:\n';

/**
 * A Node base image made of this machine's node and npm, a POSIX shell, `env` (npm's shebangs), CA certificates
 * and a `node` user (uid 1000) like the official image's.
 */
export async function ensureNodeImage(tag = NODE_IMAGE): Promise<BuiltImage> {
  const node = await realpath(process.execPath);
  const npmCli = await realpath(await which('npm'));
  const npmRoot = dirname(dirname(npmCli));
  const shell = await which('sh');
  const env = await which('env');
  return ensureImage(
    tag,
    `node ${process.version}, ${npmRoot}, extra CA`,
    async (root) => {
      await withBinaries(root, [node, shell, env]);
      await mkdir(join(root, 'bin'), { recursive: true });
      await copyFile(shell, join(root, 'bin/sh'));
      await chmod(join(root, 'bin/sh'), 0o755);
      await mkdir(join(root, 'usr/local/bin'), { recursive: true });
      await cp(npmRoot, join(root, npmRoot), { recursive: true, verbatimSymlinks: true });
      await symlink(join(npmRoot, 'bin/npm-cli.js'), join(root, 'usr/local/bin/npm'));
      await symlink(join(npmRoot, 'bin/npx-cli.js'), join(root, 'usr/local/bin/npx'));
      await copyInto(root, ['/etc/ssl/certs/ca-certificates.crt']);
      await chmod(join(root, 'etc/ssl/certs/ca-certificates.crt'), 0o644);
      await writeFile(join(root, 'etc/passwd'), PASSWD);
      await writeFile(join(root, 'etc/group'), GROUP);
      await mkdir(join(root, 'root'), { recursive: true });
      await mkdir(join(root, 'home/node'), { recursive: true });
      if (process.getuid?.() === 0) await chown(join(root, 'home/node'), 1000, 1000);
    },
    [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      // The machine's bundle, so that npm inside a build trusts what npm on the machine trusts.
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      'CMD ["node"]',
    ],
  );
}

/**
 * Builds the project's Dockerfile on a base image. The build runs on the host network: `npm ci` needs the
 * npm registry and no container bridge exists.
 */
export async function buildAppImage(baseImage = NODE_IMAGE, tag = APP_IMAGE): Promise<BuiltImage> {
  const began = Date.now();
  await docker(
    ['build', '--force-rm', '--network', 'host', '--build-arg', `NODE_IMAGE=${baseImage}`, '-t', tag, '.'],
    600_000,
  );
  return { tag, built: true, ms: Date.now() - began };
}

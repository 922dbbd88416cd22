import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestTls {
  readonly caPem: string;
  readonly caFile: string;
  readonly serverConfig: Readonly<Record<string, string>>;
  readonly clientOptions: ConnectionOptions;
  remove(): Promise<void>;
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
export async function makeTestTls(): Promise<TestTls> {
  const dir = await mkdtemp(join(tmpdir(), 'slotwatch-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=slotwatch test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  await run('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${file('san.ext')}`]);
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.crt'),
  );
  const caPem = await readFile(file('ca.crt'), 'utf8');
  return {
    caPem,
    caFile: file('ca.crt'),
    serverConfig: {
      'tls-cert-file': file('server.crt'),
      'tls-key-file': file('server.key'),
      'tls-ca-cert-file': file('ca.crt'),
      'tls-auth-clients': 'no',
      'tls-cluster': 'yes',
      'tls-replication': 'yes',
    },
    clientOptions: { ca: caPem },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

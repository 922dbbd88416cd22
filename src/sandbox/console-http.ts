import type { IncomingMessage } from 'node:http';

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The Web API client uploads as multipart/form-data: keep the file part's bytes only. */
export function fileFromUpload(req: IncomingMessage, bytes: Buffer): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return bytes;
  const start = bytes.indexOf(Buffer.from('\r\n\r\n'), bytes.indexOf(Buffer.from(`--${marker}`)));
  const end = bytes.indexOf(Buffer.from(`\r\n--${marker}`), start + 4);
  return start < 0 ? bytes : bytes.subarray(start + 4, end < 0 ? bytes.length : end);
}

/** A JSON body, or a form whose `blocks` and `attachments` fields hold JSON. */
export function parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const form = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'attachments'])
    if (typeof form[key] === 'string')
      (form as Record<string, unknown>)[key] = JSON.parse(form[key] as string);
  return form;
}

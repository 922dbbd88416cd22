/** What the local Slack console remembers: channels of messages, ephemeral notes, threads. */
export interface ConsoleMessage {
  readonly id: number;
  readonly channel: string;
  ts: string;
  threadTs: string | null;
  text: string;
  blocks: unknown[];
  user: string;
  ephemeralTo: string | null;
  readonly at: number;
  files: string[];
}

export class ConsoleState {
  readonly messages: ConsoleMessage[] = [];
  readonly files = new Map<string, Buffer>();
  /** The Home tab view the bot last published for each user. */
  readonly homes = new Map<string, unknown>();
  private seq = 0;

  add(message: Omit<ConsoleMessage, 'id' | 'ts' | 'at' | 'files'> & { files?: string[] }): ConsoleMessage {
    this.seq++;
    const stored: ConsoleMessage = {
      ...message,
      id: this.seq,
      ts: `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`,
      at: Date.now(),
      files: message.files ?? [],
    };
    this.messages.push(stored);
    return stored;
  }

  /** Forgets every message, file and Home tab (the sandbox's reset). */
  clear(): void {
    this.messages.length = 0;
    this.files.clear();
    this.homes.clear();
  }

  update(channel: string, ts: string, patch: { text?: string; blocks?: unknown[] }): boolean {
    const found = this.messages.find((m) => m.channel === channel && m.ts === ts);
    if (!found) return false;
    if (patch.text !== undefined) found.text = patch.text;
    if (patch.blocks !== undefined) found.blocks = patch.blocks;
    return true;
  }
}

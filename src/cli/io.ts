/** What the CLI touches of the outside world, passed in so tests run it in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => Promise<string>;
  readonly color: boolean;
  /** Asks a question on a terminal; absent when there is none (then nothing interactive happens). */
  readonly prompt?: (question: string) => Promise<string>;
}

/** A usage mistake or a failure to diagnose: one line on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** Print the usage text after the message (the command line itself was wrong). */
  readonly showUsage: boolean;

  constructor(message: string, { showUsage = false } = {}) {
    super(message);
    this.showUsage = showUsage;
  }
}

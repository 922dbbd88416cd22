/**
 * Counts the bytes a node sends while requests are outstanding. The window starts when the oldest
 * unanswered request was sent (or at the last answer when none is outstanding), so one request's reply,
 * or the replies of requests sent together, may not pass `maxBytes`.
 */
export class ReplyMeter {
  private received = 0;
  private idleSince = 0;
  private nextToken = 0;
  private readonly outstanding = new Map<number, number>();
  private tripped = false;

  constructor(
    readonly maxBytes: number,
    private readonly onExceeded: () => void,
  ) {}

  get exceeded(): boolean {
    return this.tripped;
  }

  begin(): number {
    const token = this.nextToken++;
    this.outstanding.set(token, this.received);
    return token;
  }

  end(token: number): void {
    this.outstanding.delete(token);
    if (this.outstanding.size === 0) this.idleSince = this.received;
  }

  count(bytes: number): void {
    this.received += bytes;
    const [oldest] = this.outstanding.values();
    if (this.tripped || this.received - (oldest ?? this.idleSince) <= this.maxBytes) return;
    this.tripped = true;
    this.onExceeded();
  }
}

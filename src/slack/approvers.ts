import type { WebClient } from '@slack/web-api';

/** Decides who may vote: listed user ids, or members of listed user groups (resolved through the Web API). */
export class Approvers {
  private readonly cache = new Map<string, { members: Set<string>; at: number }>();

  constructor(
    private readonly listed: readonly string[],
    private readonly client: WebClient,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get configured(): boolean {
    return this.listed.length > 0;
  }

  async includes(user: string): Promise<boolean> {
    if (this.listed.includes(user)) return true;
    for (const group of this.listed.filter((id) => id.startsWith('S'))) {
      if ((await this.members(group)).has(user)) return true;
    }
    return false;
  }

  /** Who may approve a request of `requester` (never the requester); groups Slack would not list stay unresolved. */
  async eligible(requester: string): Promise<{ users: string[]; unresolvedGroups: string[] }> {
    const users = new Set(this.listed.filter((id) => !id.startsWith('S')));
    const unresolvedGroups: string[] = [];
    for (const group of this.listed.filter((id) => id.startsWith('S'))) {
      const members = await this.members(group).catch(() => null);
      if (members) for (const member of members) users.add(member);
      else unresolvedGroups.push(group);
    }
    users.delete(requester);
    return { users: [...users], unresolvedGroups };
  }

  private async members(group: string): Promise<Set<string>> {
    const cached = this.cache.get(group);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.members;
    const reply = await this.client.usergroups.users.list({ usergroup: group });
    const members = new Set(reply.users ?? []);
    this.cache.set(group, { members, at: Date.now() });
    return members;
  }
}

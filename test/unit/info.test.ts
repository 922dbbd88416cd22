import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyspaceKeys, parseClusterInfo, parseInfo } from '../../src/core/info.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('parseClusterInfo', () => {
  it('parses captured CLUSTER INFO of a failed cluster', () => {
    const parsed = parseClusterInfo(fixture('cluster-info-fail.txt'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value).toMatchObject({
      state: 'fail',
      slotsAssigned: 16384,
      slotsOk: 10922,
      slotsPfail: 0,
      slotsFail: 5462,
      knownNodes: 6,
      size: 3,
      currentEpoch: 6,
      myEpoch: 1,
    });
    expect(parsed.value.fields.cluster_stats_messages_sent).toBe('56');
  });

  it.each([
    ['cluster_state:maybe', 'cluster_state is "maybe"'],
    ['cluster_state:ok\r\ncluster_slots_assigned:x', 'cluster_slots_assigned is missing or not an integer'],
    ['no colon here', 'is not a key:value line'],
  ])('returns a typed error for %j', (text, message) => {
    const parsed = parseClusterInfo(text);
    expect(parsed.ok ? '' : parsed.error.message).toContain(message);
  });
});

describe('parseInfo', () => {
  it('splits captured INFO into sections', () => {
    const parsed = parseInfo(fixture('info-standalone.txt'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value.server?.redis_version).toBe('7.0.15');
    expect(parsed.value.replication?.role).toBe('master');
    expect(parsed.value.cluster?.cluster_enabled).toBe('0');
  });

  it('reads key counts from the keyspace section', () => {
    const parsed = parseInfo('# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\n');
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(keyspaceKeys(parsed.value)).toBe(12);
    expect(keyspaceKeys(parsed.value, 'db1')).toBe(0);
  });

  it('rejects empty or malformed replies with a typed error and never throws', () => {
    expect(parseInfo('').ok).toBe(false);
    expect(parseInfo('# Server\r\nbroken line\r\n').ok).toBe(false);
    fc.assert(fc.property(fc.string(), (text) => typeof parseInfo(text).ok === 'boolean'));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertContext, MAX_LINK_LENGTH, mergeAlerts, safeUrl } from '../../src/alerts/context.js';

const TOO_LONG = 'a link over the length bound';
const LONG_URL = `https://example.com/${'a'.repeat(MAX_LINK_LENGTH)}`;

describe('safeUrl', () => {
  it.each([
    ['https://runbooks.example/redis#down', 'https://runbooks.example/redis#down'],
    ['  http://grafana:3000/d/abc?viewPanel=2  ', 'http://grafana:3000/d/abc?viewPanel=2'],
    ['javascript:alert(1)', null],
    ['JAVASCRIPT:alert(1)', null],
    ['data:text/html,<script>x</script>', null],
    ['slack://open?team=T1', null],
    ['//evil.example/x', null],
    ['/relative/path', null],
    ['https://user:secret@grafana.example/d/1', null],
    [TOO_LONG, null],
    ['', null],
    [42, null],
  ])('reads %s as %j', (given, expected) => {
    expect(safeUrl(given === TOO_LONG ? LONG_URL : given)).toBe(expected);
  });

  it('never returns anything but a bounded http(s) URL, whatever it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          fc.webUrl().map((u) => u.replace(/^https?/, 'ftp')),
        ),
        (text) => {
          const url = safeUrl(text);
          if (url === null) return;
          expect(url.length).toBeLessThanOrEqual(MAX_LINK_LENGTH);
          expect(new URL(url).protocol).toMatch(/^https?:$/);
        },
      ),
    );
  });
});

describe('alertContext', () => {
  it('reads name, severity, summary and the links Alertmanager and Grafana send, dropping bad ones', () => {
    const context = alertContext({
      status: 'firing',
      labels: { alertname: 'RedisClusterStateNotOk', severity: 'critical' },
      annotations: { summary: 'state <!here>', runbook_url: 'https://runbooks.example/a' },
      generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
      dashboardURL: 'javascript:alert(1)',
      panelURL: 'https://grafana.example/d/1?viewPanel=3',
    });

    expect(context).toEqual({
      name: 'RedisClusterStateNotOk',
      status: 'firing',
      severity: 'critical',
      summary: 'state <!here>',
      links: [
        { kind: 'runbook', url: 'https://runbooks.example/a' },
        { kind: 'panel', url: 'https://grafana.example/d/1?viewPanel=3' },
        { kind: 'source', url: 'http://prometheus:9090/graph?g0.expr=x' },
      ],
    });
  });

  it('bounds the texts it keeps', () => {
    const context = alertContext({
      status: 'firing',
      labels: { alertname: 'A'.repeat(500) },
      annotations: { description: 'd'.repeat(5000) },
    });

    expect(context.name).toHaveLength(120);
    expect(context.summary).toHaveLength(300);
    expect(context.severity).toBeNull();
  });
});

describe('mergeAlerts', () => {
  it('keeps one entry per alert name, newest first, at most five', () => {
    const alert = (name: string, status: 'firing' | 'resolved' = 'firing') => ({
      name,
      status,
      severity: null,
      summary: null,
      links: [],
    });

    const merged = mergeAlerts(
      [alert('A'), alert('B')],
      [alert('C'), alert('A', 'resolved'), alert('D'), alert('E'), alert('F')],
    );

    expect(merged.map((a) => `${a.name} ${a.status}`)).toEqual([
      'F firing',
      'E firing',
      'D firing',
      'A resolved',
      'C firing',
    ]);
  });
});

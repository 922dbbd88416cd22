import type { Alert, AlertContext, AlertLink } from './payloads.js';

/** Slack refuses button URLs over 3000 characters; links longer than this are dropped, not cut. */
export const MAX_LINK_LENGTH = 2000;
/** How many alerts of one cluster one signal carries (the rest are counted in the summary only). */
export const MAX_ALERTS_PER_SIGNAL = 5;

/** An absolute http(s) URL without credentials and within the length bound, or null. */
export function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text.length === 0 || text.length > MAX_LINK_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  return url.href.length > MAX_LINK_LENGTH ? null : url.href;
}

const bounded = (value: unknown, max: number): string | null => {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!text) return null;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
};

function links(candidates: readonly [AlertLink['kind'], unknown][]): AlertLink[] {
  const seen = new Set<string>();
  const found: AlertLink[] = [];
  for (const [kind, value] of candidates) {
    const url = safeUrl(value);
    if (!url || seen.has(url)) continue;
    seen.add(url);
    found.push({ kind, url });
  }
  return found;
}

/** What an Alertmanager or Grafana alert says about itself: name, severity, summary and its links. */
export function alertContext(alert: Alert): AlertContext {
  const annotations = alert.annotations ?? {};
  return {
    name: bounded(alert.labels.alertname, 120) ?? 'alert',
    status: alert.status,
    severity: bounded(alert.labels.severity ?? annotations.severity, 30),
    summary: bounded(annotations.summary ?? annotations.description ?? annotations.message, 300),
    links: links([
      ['runbook', annotations.runbook_url ?? annotations.runbook],
      ['dashboard', alert.dashboardURL],
      ['panel', alert.panelURL],
      ['source', alert.generatorURL],
    ]),
  };
}

/** The generic webhook's optional fields, read the same way. */
export function genericContext(payload: {
  status: 'firing' | 'resolved';
  alertname?: string | undefined;
  severity?: string | undefined;
  summary?: string | undefined;
  runbook_url?: string | undefined;
  dashboard_url?: string | undefined;
  source_url?: string | undefined;
}): AlertContext {
  return {
    name: bounded(payload.alertname, 120) ?? 'generic alert',
    status: payload.status,
    severity: bounded(payload.severity, 30),
    summary: bounded(payload.summary, 300),
    links: links([
      ['runbook', payload.runbook_url],
      ['dashboard', payload.dashboard_url],
      ['source', payload.source_url],
    ]),
  };
}

/** Adds `incoming` to `known` by alert name (the newer state wins), keeping at most `max`. */
export function mergeAlerts(
  known: readonly AlertContext[],
  incoming: readonly AlertContext[],
  max = MAX_ALERTS_PER_SIGNAL,
): AlertContext[] {
  const merged = [...known];
  for (const alert of incoming) {
    const at = merged.findIndex((a) => a.name === alert.name);
    if (at >= 0) merged.splice(at, 1);
    merged.unshift(alert);
  }
  return merged.slice(0, max);
}

import type { Timeline } from '../jobs/timeline.js';

export const timelineFile = (t: Timeline): string => `timeline-${t.incident.id}.json`;

/** A time Slack shows in each reader's own time zone; the fallback is UTC for clients that cannot. */
export function slackDate(ms: number, format = '{date_short_pretty} {time}'): string {
  const fallback = new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d+Z$/, ' UTC');
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}

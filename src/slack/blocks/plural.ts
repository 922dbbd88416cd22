/** "1 error", "2 errors", "1,024 slots": a count with its noun (English regular plurals only). */
export const plural = (count: number, noun: string, many = `${noun}s`): string =>
  `${count.toLocaleString('en-US')} ${count === 1 ? noun : many}`;

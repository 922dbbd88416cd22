/** Expected failures in the core are values, like zod's safeParse. */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

export interface ParseError {
  readonly code: 'PARSE_ERROR';
  readonly what: 'cluster-nodes' | 'cluster-info' | 'info' | 'slot-range';
  readonly line: number;
  readonly message: string;
  readonly input: string;
}

export const parseError = (
  what: ParseError['what'],
  line: number,
  message: string,
  input: string,
): ParseError => ({
  code: 'PARSE_ERROR',
  what,
  line,
  message,
  input: input.length > 200 ? `${input.slice(0, 200)}…` : input,
});

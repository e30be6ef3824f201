import { pino, type Logger } from 'pino';

/** `json`: one pino JSON object per line, for log collectors; `text`: `warning: message (key=value)` for people. */
export type LogFormat = 'json' | 'text';

/** Who reads the log: a one-shot command's user, or a long-running service's collector (or a person at its terminal). */
export type LogAudience = 'command' | 'service';

export interface LoggerOptions {
  /** pino level; default COMEBACK_LOG, else `warn`. */
  level?: string;
  /** Default `service`: what a library embedding Comeback gets. */
  audience?: LogAudience;
}

/**
 * The log on stderr. One rule: a one-shot command writes plain text lines; a long-running service
 * (`worker`, `serve`, the library) writes JSON lines, or plain text when stderr is a terminal.
 * COMEBACK_LOG_FORMAT=json|text overrides the format, COMEBACK_LOG the level (default `warn`).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.COMEBACK_LOG ?? 'warn';
  const format = logFormat(options.audience ?? 'service');
  if (format === 'json') return pino({ level, base: { app: 'comeback' } }, pino.destination(2));
  return pino(
    { level, base: undefined, timestamp: false },
    { write: (line: string) => void process.stderr.write(textLine(line)) },
  );
}

/** The format for an audience, after COMEBACK_LOG_FORMAT. */
export function logFormat(audience: LogAudience): LogFormat {
  const chosen = process.env.COMEBACK_LOG_FORMAT;
  if (chosen === 'json' || chosen === 'text') return chosen;
  return audience === 'command' || process.stderr.isTTY ? 'text' : 'json';
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/** One pino JSON line as text: `warning: message (key=value, ...)`, a list of strings one per line below. */
export function textLine(json: string): string {
  const { level, msg, ...fields } = JSON.parse(json) as Record<string, unknown>;
  const inline: string[] = [];
  const below: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) below.push(...value.map((v) => `  - ${v}`));
    else if (key === 'err' && value && typeof value === 'object')
      inline.push(`error=${(value as { message?: string }).message}`);
    else inline.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  const head = `${LEVELS[level as number] ?? String(level)}: ${String(msg ?? '')}${inline.length ? ` (${inline.join(', ')})` : ''}`;
  return [head, ...below].join('\n') + '\n';
}

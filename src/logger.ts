import { pino, type Logger } from 'pino';

/** Structured JSON logs on stderr; level from COMEBACK_LOG (default `warn`, so CLI output stays readable). */
export function createLogger(level = process.env.COMEBACK_LOG ?? 'warn'): Logger {
  return pino({ level, base: { app: 'comeback' } }, pino.destination(2));
}

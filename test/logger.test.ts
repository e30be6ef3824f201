/**
 * One rule for logs: one-shot commands write plain text, services JSON (text on a terminal),
 * COMEBACK_LOG_FORMAT overrides both.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, logFormat, textLine } from '../src/logger.js';

const stderr = process.stderr as { isTTY?: boolean };
const wasTTY = stderr.isTTY;
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.COMEBACK_LOG_FORMAT;
  stderr.isTTY = wasTTY;
});

describe('the log', () => {
  it('is text for commands, JSON for services off a terminal, and what COMEBACK_LOG_FORMAT says', () => {
    stderr.isTTY = false;
    expect([logFormat('command'), logFormat('service')]).toEqual(['text', 'json']);
    process.env.COMEBACK_LOG_FORMAT = 'json';
    expect([logFormat('command'), logFormat('service')]).toEqual(['json', 'json']);
    process.env.COMEBACK_LOG_FORMAT = 'text';
    expect(logFormat('service')).toBe('text');
    delete process.env.COMEBACK_LOG_FORMAT;
    stderr.isTTY = true;
    expect(logFormat('service')).toBe('text');
  });

  it('writes a text line with its fields, a list one item per line, an error by its message', () => {
    const line = JSON.stringify({
      level: 40,
      msg: 'demo settings with the smtp transport',
      transport: 'smtp',
      problems: ['secret: the development value', 'publicUrl: localhost'],
    });
    expect(textLine(line)).toBe(
      'warning: demo settings with the smtp transport (transport=smtp)\n  - secret: the development value\n  - publicUrl: localhost\n',
    );
    expect(
      textLine(
        JSON.stringify({ level: 50, msg: 'send failed', err: { type: 'Error', message: 'boom', stack: '...' }, id: 7 }),
      ),
    ).toBe('error: send failed (error=boom, id=7)\n');
  });

  it('a command logger writes text on stderr, at warn unless told otherwise', () => {
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation(
      (chunk: string | Uint8Array) => ((err += String(chunk)), true),
    );
    const log = createLogger({ audience: 'command', level: 'warn' });
    log.info('not shown');
    log.warn({ sequencesDir: '/x/sequences' }, 'no sequences loaded');
    expect(err).toBe('warning: no sequences loaded (sequencesDir=/x/sequences)\n');
  });
});

/**
 * Error classes with stable codes. Callers branch on `code`, never on message text.
 * Retryable failures are thrown; permanent outcomes are recorded where they happen.
 */

/** Every code a `ComebackError` carries; stable across releases (a new code is a new entry). */
export type ErrorCode =
  | 'E_VALIDATION'
  | 'E_CONFIG'
  | 'E_NOT_FOUND'
  | 'E_INPUT'
  | 'E_IMPORT_ROW'
  | 'E_TEMPLATE'
  | 'E_TEMPLATE_UNUSABLE'
  | 'E_SEND_TRANSIENT'
  | 'E_SEND_UNREACHABLE'
  | 'E_SEND_UNKNOWN'
  | 'E_SEND_PERMANENT'
  | 'E_CLAIM_LOST'
  | 'E_NO_SCORES'
  | 'E_SCORING'
  | 'E_SHOP_API'
  | 'E_SHOP_UNREACHABLE'
  | 'E_STUDIO'
  | 'E_SEED_LIST';

/** Base class of every error Comeback raises on purpose. */
export class ComebackError extends Error {
  /** Stable machine-readable code, e.g. `E_VALIDATION`. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in a file, with its position (1-based line and column). */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Path inside the document, e.g. `steps[1].wait`; empty for the whole file. */
  path: string;
  message: string;
}

/** Formats a problem as `file:line:col path: message`, the form editors and CI logs understand. */
export function formatProblem(p: Problem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where} ${p.message}`;
}

/** A file (sequence, template, config) is invalid; carries every problem found, not just the first. */
export class ValidationError extends ComebackError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super('E_VALIDATION', problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** The engine configuration is invalid; the message names the field and the fix. */
export class ConfigError extends ComebackError {
  constructor(message: string) {
    super('E_CONFIG', message);
  }
}

/** Something that was asked for by id does not exist (sequence, customer, step). */
export class NotFoundError extends ComebackError {
  constructor(what: string, id: string, hint?: string) {
    super('E_NOT_FOUND', `${what} "${id}" not found${hint ? `. ${hint}` : ''}`);
  }
}

/** A row of an import file is invalid. */
export class ImportRowError extends ComebackError {
  readonly line: number;
  constructor(line: number, message: string) {
    super('E_IMPORT_ROW', `line ${line}: ${message}`);
    this.line = line;
  }
}

/** A template failed to compile or render (missing variable, compliance check). */
export class TemplateError extends ComebackError {
  constructor(message: string, code: 'E_TEMPLATE' | 'E_TEMPLATE_UNUSABLE' = 'E_TEMPLATE') {
    super(code, message);
  }
}

/**
 * The template itself cannot be used (missing file, compile errors, no subject for the locale):
 * every mail of it would fail, so the sender pauses its sequence instead of failing each mail.
 */
export class TemplateUnusableError extends TemplateError {
  constructor(message: string) {
    super(message, 'E_TEMPLATE_UNUSABLE');
  }
}

/** A transport failed in a way that may succeed later (4xx SMTP, timeout before acceptance). */
export class TransientSendError extends ComebackError {
  constructor(
    message: string,
    options?: { cause?: unknown },
    code: 'E_SEND_TRANSIENT' | 'E_SEND_UNREACHABLE' = 'E_SEND_TRANSIENT',
  ) {
    super(code, message, options);
  }
}

/**
 * The provider could not be reached at all (connection refused, DNS, greeting or login refused):
 * nothing was handed over and the message is not to blame, so the sender pauses and the message
 * waits without using up one of its attempts.
 */
export class ProviderUnreachableError extends TransientSendError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'E_SEND_UNREACHABLE');
  }
}

/** A transport failed for good for this message (5xx recipient, policy block). */
export class PermanentSendError extends ComebackError {
  /** `hard_bounce` suppresses the address; `policy` pauses the sender instead. */
  readonly kind: 'hard_bounce' | 'policy' | 'other';
  constructor(message: string, kind: 'hard_bounce' | 'policy' | 'other', options?: { cause?: unknown }) {
    super('E_SEND_PERMANENT', message, options);
    this.kind = kind;
  }
}

/**
 * A send failed after the point of no return (connection lost or timed out after the message was
 * handed over): the provider may or may not have it. Recorded as `uncertain`, never resent blindly.
 */
export class DeliveryUnknownError extends ComebackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SEND_UNKNOWN', message, options);
  }
}

/** Input to the library API (a customer, an order, a consent) is invalid; names each field. */
export class InputError extends ComebackError {
  constructor(what: string, issues: string[]) {
    super('E_INPUT', `invalid ${what}: ${issues.join('; ')}`);
  }
}

/**
 * The connected shop's API cannot be reached or keeps failing (connection refused, timeout, 5xx):
 * a mail whose coupon must first exist in the shop waits, like a mail during a provider outage.
 */
export class ShopUnreachableError extends ComebackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SHOP_UNREACHABLE', message, options);
  }
}

/** The shop refused a call for good (wrong credentials, missing scope, an invalid request). */
export class ShopApiError extends ComebackError {
  constructor(message: string) {
    super('E_SHOP_API', message);
  }
}

import { ComebackError } from '../errors.js';

/** A scoring run failed (a bug guard tripped, or a run is already in progress and waiting was asked for). */
export class ScoringError extends ComebackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SCORING', message, options);
  }
}

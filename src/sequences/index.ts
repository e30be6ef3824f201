export * from './schema.js';
export { parseDuration, isDuration } from './duration.js';
export {
  loadSequences,
  parseSequence,
  parseFiles,
  crossCheck,
  fileResult,
  type LoadedSequence,
  type ParsedSequence,
  type FileResult,
} from './loader.js';
export {
  decide,
  resolveMail,
  pickVariant,
  firstDueAt,
  NO_FACTS,
  type Decision,
  type Facts,
  type EnrollmentState,
  type ResolvedMail,
  type Next,
} from './machine.js';
export {
  checkExpression,
  evaluate,
  type ExpressionCheck,
  type ExpressionProblem,
  type ExpressionScope,
} from './expressions.js';
export { CUSTOMER_FIELDS, ENGAGEMENT_FACTS, type CustomerField, type CustomerValues, type FieldDoc } from './fields.js';

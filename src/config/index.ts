import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import { EngineConfig, type EngineConfigInput } from './schema.js';

export { EngineConfig, TransportConfig, SenderConfig, maxInDoubtOf } from './schema.js';
export type { EngineConfigInput } from './schema.js';

/** Keys a user may write at a given object path of the config, for "did you mean". */
function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks zod's schema internals, which have no public type
  let s: any = schema;
  for (const key of path) {
    while (s?.def?.innerType) s = s.def.innerType; // unwrap default/optional
    s = s?.shape?.[key as string];
  }
  while (s?.def?.innerType) s = s.def.innerType;
  return s?.shape ? Object.keys(s.shape) : [];
}

/** Formats zod issues as one line each: `config.worker.batchSze: unknown field (did you mean "batchSize"?)`. */
export function formatConfigIssues(
  schema: z.ZodType,
  issues: z.core.$ZodIssue[],
  root = 'config',
  locate: (path: PropertyKey[]) => string | undefined = () => undefined,
): string {
  const where = (path: PropertyKey[]) => {
    const at = locate(path);
    return at ? `${at} ` : '';
  };
  return issues
    .map((issue) => {
      const at = [root, ...issue.path.map(String)].join('.');
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map(
            (k) =>
              `${where([...issue.path, k])}${at}.${k}: unknown field${didYouMean(k, knownKeys(schema, issue.path))}`,
          )
          .join('\n');
      }
      return `${where(issue.path)}${at}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates and fills defaults; throws ConfigError naming each wrong field. */
export function parseConfig(input: EngineConfigInput | undefined): EngineConfig {
  const result = EngineConfig.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(`invalid configuration:\n${formatConfigIssues(EngineConfig, result.error.issues)}`);
  }
  return result.data;
}

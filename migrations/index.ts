import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m002 from './002_consent_requests.js';
import * as m003 from './003_customer_scores.js';
import * as m004 from './004_delivery.js';
import * as m005 from './005_sequence_guard.js';
import * as m006 from './006_enrollment_lookup.js';
import * as m007 from './007_events_provider_partial.js';
import * as m008 from './008_enrollment_address.js';
import * as m009 from './009_message_id_header.js';
import * as m010 from './010_park_offset.js';
import * as m011 from './011_order_original_amount.js';
import * as m012 from './012_return_score.js';
import * as m013 from './013_webhook_outbox.js';
import * as m014 from './014_shop_sync.js';
import * as m015 from './015_preferences.js';
import * as m016 from './016_operators.js';
import * as m017 from './017_test_sends.js';
import * as m018 from './018_experiments.js';
import * as m019 from './019_cohort_allocation.js';

/**
 * Every migration, in order. A static list (not a directory scan) so the same files run from
 * TypeScript sources in tests and from the compiled build, on SQLite and PostgreSQL alike.
 * Add a new file as `NNN_name.ts` and list it here.
 */
export const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_consent_requests': m002,
  '003_customer_scores': m003,
  '004_delivery': m004,
  '005_sequence_guard': m005,
  '006_enrollment_lookup': m006,
  '007_events_provider_partial': m007,
  '008_enrollment_address': m008,
  '009_message_id_header': m009,
  '010_park_offset': m010,
  '011_order_original_amount': m011,
  '012_return_score': m012,
  '013_webhook_outbox': m013,
  '014_shop_sync': m014,
  '015_preferences': m015,
  '016_operators': m016,
  '017_test_sends': m017,
  '018_experiments': m018,
  '019_cohort_allocation': m019,
};

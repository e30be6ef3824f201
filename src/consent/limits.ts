/** Double opt-in limits: the defaults of the `consent` configuration and of `requestOptIn`. */

/** How long a confirmation link stays valid unless configured otherwise: 72 hours. */
export const DEFAULT_OPT_IN_TTL_HOURS = 72;
/** At most this many confirmation mails per address and 24 hours (a form must not become a mail cannon). */
export const MAX_REQUESTS_PER_DAY = 3;

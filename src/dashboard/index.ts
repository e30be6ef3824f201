/**
 * The success dashboard at `/dashboard` of `comeback serve`: sequences overview, funnel per step,
 * uplift with its interval, variants over time, deliverability health and recently returned
 * customers, rendered from the same stats report `comeback stats --json` prints.
 */
export { dashboardPlugin, DASHBOARD_PATH } from './plugin.js';
export { checkAuth, isConfigured, UNCONFIGURED_MESSAGE, SESSION_COOKIE, type AuthVerdict } from './auth.js';
export { renderPage, type PageInput } from './render.js';
export { variantTimelines, type VariantTimeline } from './timeline.js';

/** The tracking server: `buildServer(deps)` builds it, `listen` starts it, `closeOnSignal` stops it gracefully. */
export { buildServer, CORE_ROUTES, type BuildServerOptions } from './build.js';
export { listen, closeOnSignal, type ListenOptions, type SignalSource } from './listen.js';
export { shapeOf, type ServerContext, type ServerPlugin } from './context.js';
export { createMetrics, type ServerMetrics } from './metrics.js';
export { esc, page, pageHeaders, sendInvalid, textFor, PAGE_TEXT } from './pages.js';
export { renderWebView, type WebView } from './webview.js';
export { PIXEL_GIF } from './routes/pixel.js';
export { UNSUBSCRIBE_REASONS } from './routes/unsubscribe.js';

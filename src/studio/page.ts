/**
 * The studio's one HTML page: the layout the client script fills in. The token is in a meta tag
 * (the page itself was only served to a request that had it) so the script can send it along.
 */
import { esc } from '../server/pages.js';

/** The page for a token. */
export function studioPage(token: string): string {
  const t = esc(encodeURIComponent(token));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="referrer" content="no-referrer">
<meta name="studio-token" content="${esc(token)}">
<title>Comeback studio</title>
<link rel="stylesheet" href="/assets/studio.css?token=${t}">
</head><body>
<header><strong>Comeback studio</strong> <span id="file-name"></span> <span id="status" data-state="idle"></span>
<button id="save" type="button" disabled>Save</button> <span id="save-status" role="status"></span></header>
<main>
<nav id="files" aria-label="Files"></nav>
<section id="edit"><div id="version-note" hidden></div><div id="editor"></div><ul id="problems" aria-label="Problems"></ul></section>
<section id="side">
<div class="tabs" role="tablist"><button data-tab="flow" class="on">Flow</button><button data-tab="preview">Preview</button><button data-tab="forecast">Forecast</button></div>
<div id="tab-flow" class="tab"><label><input type="checkbox" id="overlay"> live figures (stats)</label><div id="node-panel" hidden></div><div id="flow"></div></div>
<div id="tab-preview" class="tab" hidden>
<form id="pv-form"><label>Step <select id="pv-step"></select></label> <label>Variant <select id="pv-variant"><option value="">step itself</option></select></label>
<label>Customer <input id="pv-customer" list="pv-customers" placeholder="id or email; empty: a sample customer"></label><datalist id="pv-customers"></datalist>
<label>Language <select id="pv-locale"><option>de</option><option>en</option></select></label> <button id="pv-render" type="submit">Preview</button></form>
<div id="pv-out" hidden><dl><dt>Subject</dt><dd id="pv-subject"></dd><dt>Preheader</dt><dd id="pv-preheader"></dd><dt>From / to</dt><dd id="pv-from"></dd><dt>Template</dt><dd id="pv-template"></dd></dl>
<ul id="pv-warnings"></ul>
<div class="frames"><figure><figcaption>375 px</figcaption><iframe id="pv-375" sandbox="" width="375" height="640" title="375 px"></iframe></figure>
<figure><figcaption>800 px</figcaption><iframe id="pv-800" sandbox="" width="800" height="640" title="800 px"></iframe></figure>
<figure><figcaption>Text part</figcaption><pre id="pv-text"></pre></figure></div>
<h4>Links and their tracked targets</h4><ol id="pv-links" start="0"></ol>
<form id="ts-form"><label>Test send to <select id="ts-to"></select></label> <button id="ts-send" type="submit">Send test</button> <span id="ts-result" role="status"></span></form></div>
<p id="pv-error" class="error" hidden></p></div>
<div id="tab-forecast" class="tab" hidden><button id="fc-run" type="button">Forecast the next 30 days</button><div id="fc-out"></div></div>
</section></main>
<script type="module" src="/assets/studio.js?token=${t}"></script>
</body></html>`;
}

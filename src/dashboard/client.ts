/**
 * The dashboard's only script, served as `/dashboard/assets/dashboard.js`: it draws the charts
 * listed in the page's JSON block with Chart.js and marks `<body data-charts="N">` when done (so
 * a headless browser knows when to take its screenshot). No data is fetched: the numbers are
 * already in the HTML.
 */
export const CLIENT_JS = `(function () {
  'use strict';
  var block = document.getElementById('dashboard-charts');
  var specs = block ? JSON.parse(block.textContent || '[]') : [];
  if (typeof Chart === 'undefined') {
    document.body.setAttribute('data-charts', 'unavailable');
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  var pct = function (v) { return Math.round(v * 1000) / 10 + '%'; };
  var drawn = 0;
  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.canvas);
    if (!canvas) return;
    var config = spec.config;
    var axis = config.options && config.options.percentAxis;
    if (axis) {
      delete config.options.percentAxis;
      var scale = (config.options.scales = config.options.scales || {})[axis] = config.options.scales[axis] || {};
      scale.ticks = Object.assign({}, scale.ticks, { callback: pct });
      config.options.plugins = config.options.plugins || {};
      config.options.plugins.tooltip = { callbacks: { label: function (c) { return c.dataset.label + ': ' + pct(c.parsed.y); } } };
    }
    new Chart(canvas, config);
    drawn++;
  });
  document.body.setAttribute('data-charts', String(drawn));
})();
`;

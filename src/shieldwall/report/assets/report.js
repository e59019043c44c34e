/* shieldwall run report: replay map, horizon-limited coverage, charts, sortable tables.
 * Reads the JSON documents #replay-data (shieldwall.report.replay) and #chart-data
 * (shieldwall.report.charts). No network access of any kind. */
(function () {
  'use strict';

  // ------------------------------------------------------------------ data
  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function i32(b64) {
    var s = atob(b64 || ''), n = s.length, u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = s.charCodeAt(i);
    return new Int32Array(u.buffer);
  }
  var R = readJson('replay-data');
  var CH = readJson('chart-data');
  var D = R ? R.duration_s : 0;

  function points(doc) {
    return {off: i32(doc.offsets), x: i32(doc.x), y: i32(doc.y), t: i32(doc.t)};
  }
  var TH = R ? Object.assign(points(R.threats), {
    n: R.threats.id.length, start: i32(R.threats.start_ms), end: i32(R.threats.end_ms),
    tracked: i32(R.threats.tracked_ms)
  }) : null;
  var IN = R ? Object.assign(points(R.interceptors), {n: R.interceptors.id.length}) : null;
  var MK = R ? {kind: R.marks.kind, t: i32(R.marks.t), x: i32(R.marks.x), y: i32(R.marks.y),
    n: R.marks.kind.length} : null;
  var threatIndex = {};
  if (R) R.threats.id.forEach(function (id, i) { threatIndex[id] = i; });

  // ------------------------------------------------------------------ state
  var state = {
    t: D, view: 'theatre', altitude: R ? R.coverage.default_m : 100, playing: false,
    speed: 30, showFinished: true, hover: null, selected: -1, lastFrame: 0
  };
  var stages = {};
  document.querySelectorAll('.stage').forEach(function (el) {
    var canvas = el.querySelector('canvas');
    stages[el.getAttribute('data-view')] = {
      el: el, svg: el.querySelector('svg.map'), canvas: canvas, ctx: canvas.getContext('2d')
    };
  });
  var slider = document.getElementById('time-slider');
  var clock = document.getElementById('clock');
  var playButton = document.getElementById('play');
  var speedSelect = document.getElementById('play-speed');
  var altitudeSelect = document.getElementById('coverage-altitude');
  var liveCounts = document.getElementById('live-counts');
  var hoverInfo = document.getElementById('hover-info');
  var panel = document.getElementById('map-panel');

  function layerOn(name) {
    var box = document.querySelector('input[data-layer="' + name + '"]');
    return !box || box.checked;
  }

  // ------------------------------------------------------------------ geometry
  // Index of the last point of polyline [a, b) whose time is <= tms (a - 1 if none).
  function lastAtOrBefore(tt, a, b, tms) {
    var lo = a, hi = b - 1;
    if (b <= a || tt[a] > tms) return a - 1;
    if (tt[hi] <= tms) return hi;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (tt[mid] <= tms) lo = mid; else hi = mid;
    }
    return lo;
  }
  // Position (metres) at tms on a polyline, linearly interpolated in time; null if outside.
  function positionAt(P, i, tms) {
    var a = P.off[i], b = P.off[i + 1];
    var j = lastAtOrBefore(P.t, a, b, tms);
    if (j < a) return null;
    if (j >= b - 1) return [P.x[b - 1], P.y[b - 1], j];
    var span = P.t[j + 1] - P.t[j];
    var u = span > 0 ? (tms - P.t[j]) / span : 0;
    return [P.x[j] + u * (P.x[j + 1] - P.x[j]), P.y[j] + u * (P.y[j + 1] - P.y[j]), j];
  }
  function horizonRange(antennaAlt, targetAlt) {
    var re = R.coverage.k * R.coverage.earth_radius_m;
    var ha = Math.max(antennaAlt, 0), ht = Math.max(targetAlt, 0);
    return Math.sqrt(2 * re * ha + ha * ha) + Math.sqrt(2 * re * ht + ht * ht);
  }
  function coverageRange(site, targetAlt) {
    return Math.min(site.range_m, horizonRange(site.antenna_alt_m, targetAlt));
  }
  function sectorPath(cx, cy, r, centre, half) {
    var a0 = centre - half, a1 = centre + half;
    var x0 = cx + r * Math.sin(a0), y0 = cy - r * Math.cos(a0);
    var x1 = cx + r * Math.sin(a1), y1 = cy - r * Math.cos(a1);
    var large = 2 * half > Math.PI ? 1 : 0;
    return 'M' + cx.toFixed(1) + ' ' + cy.toFixed(1) + 'L' + x0.toFixed(1) + ' ' +
      y0.toFixed(1) + 'A' + r.toFixed(1) + ' ' + r.toFixed(1) + ' 0 ' + large + ' 1 ' +
      x1.toFixed(1) + ' ' + y1.toFixed(1) + 'Z';
  }

  // ------------------------------------------------------------------ formatting
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function fmtT(s) { return (Math.round(s * 10) / 10).toFixed(1) + ' s'; }
  function clockText(s) {
    var a = Math.abs(s), m = Math.floor(a / 60), sec = Math.floor(a - 60 * m);
    return 't = ' + s.toFixed(1) + ' s (' + (s < 0 ? '-' : '') + m + ':' +
      (sec < 10 ? '0' : '') + sec + ')';
  }
  function km(m) { return (m / 1000).toFixed(m < 10000 ? 1 : 0) + ' km'; }

  // ------------------------------------------------------------------ counts
  function threatsInFlight(tms) {
    var n = 0;
    for (var i = 0; i < TH.n; i++) if (TH.start[i] <= tms && tms <= TH.end[i]) n++;
    return n;
  }
  function interceptorsInFlight(tms) {
    var n = 0;
    for (var i = 0; i < IN.n; i++) {
      var a = IN.off[i], b = IN.off[i + 1];
      if (b > a && IN.t[a] <= tms && tms <= IN.t[b - 1]) n++;
    }
    return n;
  }

  // ------------------------------------------------------------------ drawing
  var heads = {threat: null, interceptor: null};

  function sizeCanvas(st) {
    var r = st.svg.getBoundingClientRect();
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (st.canvas.width !== w || st.canvas.height !== h) {
      st.canvas.width = w;
      st.canvas.height = h;
      st.canvas.style.width = r.width + 'px';
      st.canvas.style.height = r.height + 'px';
    }
    return r.width > 0 ? (w / R.views[state.view].svg_width) : 0;
  }

  function trailPath(ctx, P, i, jEnd, tail, F) {
    var a = P.off[i];
    ctx.moveTo(F.x0 + F.scale * P.x[a], F.y0 - F.scale * P.y[a]);
    for (var j = a + 1; j <= jEnd; j++) ctx.lineTo(F.x0 + F.scale * P.x[j], F.y0 - F.scale * P.y[j]);
    if (tail) ctx.lineTo(F.x0 + F.scale * tail[0], F.y0 - F.scale * tail[1]);
  }

  function drawThreats(ctx, F, tms) {
    var nf = R.fates.length, i, f;
    var hx = new Float32Array(TH.n).fill(NaN), hy = new Float32Array(TH.n).fill(NaN);
    var fateOf = R.threats.fate;
    var showTracks = layerOn('layer-tracks');
    if (showTracks) {
      for (var pass = 0; pass < 2; pass++) {   // 0: finished (faint), 1: in flight
        for (f = 0; f < nf; f++) {
          ctx.beginPath();
          var any = false;
          for (i = 0; i < TH.n; i++) {
            if (fateOf[i] !== f || TH.start[i] > tms) continue;
            var a = TH.off[i], b = TH.off[i + 1];
            if (b <= a) continue;
            var active = tms <= TH.end[i];
            if ((pass === 1) !== active) continue;
            if (!active && !state.showFinished) continue;
            if (active) {
              var p = positionAt(TH, i, tms);
              if (!p) continue;
              trailPath(ctx, TH, i, p[2], p[2] < b - 1 ? p : null, F);
            } else {
              trailPath(ctx, TH, i, b - 1, null, F);
            }
            any = true;
          }
          if (!any) continue;
          ctx.strokeStyle = R.fate_colours[f];
          ctx.globalAlpha = pass === 1 ? 0.9 : 0.3;
          ctx.lineWidth = pass === 1 ? 1.4 : 1.0;
          ctx.stroke();
        }
      }
      ctx.globalAlpha = 1;
    }
    // Current positions: filled once a track was confirmed, hollow before.
    for (i = 0; i < TH.n; i++) {
      if (TH.start[i] > tms || tms > TH.end[i] || TH.off[i + 1] <= TH.off[i]) continue;
      var q = positionAt(TH, i, tms);
      if (!q) continue;
      var x = F.x0 + F.scale * q[0], y = F.y0 - F.scale * q[1];
      hx[i] = x; hy[i] = y;
      if (!showTracks) continue;
      var tracked = TH.tracked[i] >= 0 && TH.tracked[i] <= tms;
      ctx.beginPath();
      ctx.arc(x, y, 3, 0, 2 * Math.PI);
      if (tracked) {
        ctx.fillStyle = R.fate_colours[fateOf[i]];
        ctx.fill();
        ctx.lineWidth = 0.8; ctx.strokeStyle = '#fff'; ctx.stroke();
      } else {
        ctx.fillStyle = '#fff'; ctx.fill();
        ctx.lineWidth = 1.5; ctx.strokeStyle = R.fate_colours[fateOf[i]]; ctx.stroke();
      }
    }
    heads.threat = {x: hx, y: hy};
  }

  function drawInterceptors(ctx, F, tms) {
    var hx = new Float32Array(IN.n).fill(NaN), hy = new Float32Array(IN.n).fill(NaN);
    if (!layerOn('layer-flyouts')) { heads.interceptor = {x: hx, y: hy}; return; }
    for (var pass = 0; pass < 2; pass++) {
      ctx.beginPath();
      for (var i = 0; i < IN.n; i++) {
        var a = IN.off[i], b = IN.off[i + 1];
        if (b <= a || IN.t[a] > tms) continue;
        var active = tms <= IN.t[b - 1];
        if ((pass === 1) !== active || (!active && !state.showFinished)) continue;
        if (active) {
          var p = positionAt(IN, i, tms);
          trailPath(ctx, IN, i, p[2], p[2] < b - 1 ? p : null, F);
          hx[i] = F.x0 + F.scale * p[0]; hy[i] = F.y0 - F.scale * p[1];
        } else {
          trailPath(ctx, IN, i, b - 1, null, F);
        }
      }
      ctx.strokeStyle = '#1f77d0';
      ctx.globalAlpha = pass === 1 ? 0.95 : 0.22;
      ctx.lineWidth = pass === 1 ? 1.3 : 0.8;
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = '#0b3f78';
    for (var k = 0; k < IN.n; k++) {
      if (isNaN(hx[k])) continue;
      ctx.beginPath(); ctx.arc(hx[k], hy[k], 2, 0, 2 * Math.PI); ctx.fill();
    }
    heads.interceptor = {x: hx, y: hy};
  }

  var MARK_LAYERS = {intercept_kill: 'layer-intercepts', intercept_miss: 'layer-misses',
    leak: 'layer-impacts', crash: 'layer-crashes'};
  function drawMarks(ctx, F, tms) {
    var kinds = R.marks.kinds, on = kinds.map(function (k) { return layerOn(MARK_LAYERS[k]); });
    var flash = Math.max(5, state.speed) * 1000;  // about one second of wall time
    var order = ['crash', 'intercept_miss', 'leak', 'intercept_kill'];
    order.forEach(function (name) {
      var k = kinds.indexOf(name);
      if (k < 0 || !on[k]) return;
      for (var j = 0; j < MK.n; j++) {
        if (MK.kind[j] !== k || MK.t[j] > tms) continue;
        var x = F.x0 + F.scale * MK.x[j], y = F.y0 - F.scale * MK.y[j];
        var age = tms - MK.t[j];
        if (age < flash) {
          ctx.beginPath();
          ctx.arc(x, y, 4 + 14 * age / flash, 0, 2 * Math.PI);
          ctx.globalAlpha = 1 - age / flash;
          ctx.lineWidth = 1.5;
          ctx.strokeStyle = name === 'leak' ? '#d62728' : name === 'intercept_kill' ? '#135f25' : '#666';
          ctx.stroke();
          ctx.globalAlpha = 1;
        }
        if (name === 'intercept_kill' || name === 'intercept_miss') {
          var s = name === 'intercept_kill' ? 4 : 3;
          ctx.beginPath();
          ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s);
          ctx.moveTo(x - s, y + s); ctx.lineTo(x + s, y - s);
          ctx.lineWidth = name === 'intercept_kill' ? 1.7 : 0.9;
          ctx.strokeStyle = name === 'intercept_kill' ? '#135f25' : '#666';
          ctx.stroke();
        } else {
          ctx.beginPath();
          ctx.arc(x, y, name === 'leak' ? 3.5 : 2.2, 0, 2 * Math.PI);
          ctx.fillStyle = name === 'leak' ? '#d62728' : '#8c8c8c';
          ctx.fill();
          ctx.lineWidth = name === 'leak' ? 0.8 : 0.5;
          ctx.strokeStyle = name === 'leak' ? '#5a0000' : '#444';
          ctx.stroke();
        }
      }
    });
  }

  function drawHighlight(ctx, F, tms) {
    var i = state.selected >= 0 ? state.selected :
      (state.hover && state.hover.kind === 'threat' ? state.hover.index : -1);
    if (i < 0 || TH.off[i + 1] <= TH.off[i] || TH.start[i] > tms) return;
    var b = TH.off[i + 1];
    var p = tms <= TH.end[i] ? positionAt(TH, i, tms) : null;
    ctx.beginPath();
    if (p) trailPath(ctx, TH, i, p[2], p[2] < b - 1 ? p : null, F);
    else trailPath(ctx, TH, i, b - 1, null, F);
    ctx.lineWidth = 4; ctx.strokeStyle = 'rgba(255,255,255,.9)'; ctx.stroke();
    ctx.lineWidth = 2.2; ctx.strokeStyle = '#111'; ctx.stroke();
  }

  function draw() {
    if (!R) return;
    var st = stages[state.view];
    if (!st) return;
    var k = sizeCanvas(st);
    var ctx = st.ctx, F = R.views[state.view];
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, st.canvas.width, st.canvas.height);
    if (!k) return;
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.save();
    ctx.beginPath(); ctx.rect(F.left, F.top, F.width, F.height); ctx.clip();
    ctx.lineJoin = 'round'; ctx.lineCap = 'round';
    var tms = state.t * 1000;
    drawInterceptors(ctx, F, tms);
    drawThreats(ctx, F, tms);
    drawMarks(ctx, F, tms);
    drawHighlight(ctx, F, tms);
    ctx.restore();
  }

  // ------------------------------------------------------------------ time
  var CHART_IDS = ['chart-gantt', 'chart-inventory', 'chart-inflight'];
  // The time cursor over a chart: a positioned line (a plotly relayout per tick is too slow).
  function placeCursor(id) {
    var div = document.getElementById(id);
    var cursor = div && div.parentNode.querySelector('.time-cursor');
    var fl = div && div._fullLayout;
    if (!cursor || !fl || !fl.xaxis || !fl.yaxis || !fl.xaxis.l2p) return;
    var xa = fl.xaxis, ya = fl.yaxis;
    var x = xa._offset + xa.l2p(state.t);
    cursor.hidden = !(x >= xa._offset - 0.5 && x <= xa._offset + xa._length + 0.5);
    cursor.style.left = (div.offsetLeft + x) + 'px';
    cursor.style.top = (div.offsetTop + ya._offset) + 'px';
    cursor.style.height = ya._length + 'px';
  }
  function moveChartCursors() { CHART_IDS.forEach(placeCursor); }
  function scheduleCursor() { moveChartCursors(); }
  function updateLabels() {
    var tms = state.t * 1000;
    clock.textContent = clockText(state.t);
    if (liveCounts) {
      liveCounts.textContent = 'in flight: ' + threatsInFlight(tms) + ' threats, ' +
        interceptorsInFlight(tms) + ' interceptors';
    }
  }
  function setTime(t) {
    t = Number(t);
    if (!isFinite(t)) return state.t;
    state.t = Math.min(Math.max(t, 0), D);
    if (slider && Number(slider.value) !== state.t) slider.value = String(state.t);
    updateLabels();
    draw();
    if (state.hover) showHover(state.hover, state.hoverXY);
    scheduleCursor();
    return state.t;
  }

  function tick(now) {
    if (!state.playing) return;
    var dt = Math.min((now - state.lastFrame) / 1000, 0.25);
    state.lastFrame = now;
    setTime(state.t + dt * state.speed);
    if (state.t >= D) { stop(); return; }
    requestAnimationFrame(tick);
  }
  function play() {
    if (state.t >= D) setTime(0);
    state.playing = true;
    playButton.setAttribute('aria-pressed', 'true');
    playButton.innerHTML = '&#10074;&#10074; Pause';
    state.lastFrame = performance.now();
    requestAnimationFrame(tick);
  }
  function stop() {
    state.playing = false;
    playButton.setAttribute('aria-pressed', 'false');
    playButton.innerHTML = '&#9654; Play';
  }

  // ------------------------------------------------------------------ coverage
  function setCoverageAltitude(m) {
    m = Number(m);
    if (!isFinite(m) || m < 0) return state.altitude;
    state.altitude = m;
    if (altitudeSelect) {
      var value = String(m), found = false;
      Array.prototype.forEach.call(altitudeSelect.options, function (o) {
        if (Number(o.value) === m) { found = true; value = o.value; }
      });
      if (!found) {
        var opt = document.createElement('option');
        opt.value = value; opt.textContent = m.toLocaleString('en') + ' m';
        altitudeSelect.appendChild(opt);
      }
      altitudeSelect.value = value;
    }
    document.querySelectorAll('.hcov[data-site], .hcov-ew[data-site]').forEach(function (el) {
      var site = R.coverage.sites[Number(el.getAttribute('data-site'))];
      if (!site) return;
      var r = coverageRange(site, m) * Number(el.getAttribute('data-scale'));
      var cx = Number(el.getAttribute('data-cx')), cy = Number(el.getAttribute('data-cy'));
      var half = el.getAttribute('data-half-rad');
      if (el.tagName.toLowerCase() === 'circle') {
        el.setAttribute('r', r.toFixed(1));
      } else {
        el.setAttribute('d', sectorPath(cx, cy, r, Number(el.getAttribute('data-heading-rad')),
          Number(half)));
      }
      el.setAttribute('data-coverage-m', coverageRange(site, m).toFixed(1));
    });
    var table = document.getElementById('table-coverage');
    if (table) {
      table.querySelectorAll('tbody tr').forEach(function (row) {
        var site = R.coverage.sites[Number(row.getAttribute('data-site'))];
        if (!site) return;
        var h = horizonRange(site.antenna_alt_m, m), reach = Math.min(h, site.range_m);
        row.cells[4].textContent = km(h);
        row.cells[4].setAttribute('data-value', h.toFixed(1));
        row.cells[5].textContent = km(reach);
        row.cells[5].setAttribute('data-value', reach.toFixed(1));
      });
    }
    if (state.hover) showHover(state.hover, state.hoverXY);
    return state.altitude;
  }

  // ------------------------------------------------------------------ hover
  function threatHtml(i) {
    var T = R.threats, tms = state.t * 1000;
    var f = T.fate[i], fate = R.fates[f];
    var html = '<div class="h"><span class="sw" style="background:' + R.fate_colours[f] +
      '"></span>Threat ' + esc(T.id[i]) + '</div>';
    html += esc(T.type[i] >= 0 ? R.types[T.type[i]] : '?') + ' &middot; ' +
      esc(T['class'][i] >= 0 ? R.classes[T['class'][i]] : '?') + '<br>';
    html += '<span class="k">fate</span> ' + esc(fate) +
      (T.fate_ms[i] !== null ? ' at ' + fmtT(T.fate_ms[i] / 1000) : '') + '<br>';
    html += '<span class="k">in flight</span> ' + fmtT(TH.start[i] / 1000) + ' &ndash; ' +
      fmtT(TH.end[i] / 1000) + (TH.start[i] <= tms && tms <= TH.end[i] ? ' (now in flight)' : '') + '<br>';
    if (TH.tracked[i] >= 0) {
      html += '<span class="k">first confirmed track</span> ' + fmtT(TH.tracked[i] / 1000) +
        ' (' + ((TH.tracked[i] - TH.start[i]) / 1000).toFixed(1) + ' s after it appeared)';
    } else {
      html += '<span class="k">never tracked</span>';
    }
    if (T.tracks[i].length) html += '<br><span class="k">track ids</span> ' + esc(T.tracks[i].join(', '));
    var engs = T.engagements[i];
    if (engs.length) {
      html += '<br><span class="k">engagements</span><ul>';
      engs.slice(0, 8).forEach(function (m) { html += '<li>' + engagementText(m) + '</li>'; });
      if (engs.length > 8) html += '<li>&hellip; ' + (engs.length - 8) + ' more</li>';
      html += '</ul>';
    } else {
      html += '<br><span class="k">not engaged</span>';
    }
    if (T.hold[i]) html += '<br><span class="k">last hold:</span> ' + esc(T.hold[i]);
    return html;
  }
  function engagementText(m) {
    var E = R.engagements;
    var pk = E.pk[m] === null ? '?' : E.pk[m].toFixed(2);
    var result = R.results[E.result[m]];
    return '#' + esc(E.id[m]) + ' ' + esc(R.batteries[E.battery[m]] ? R.batteries[E.battery[m]].id : '?') +
      ', ' + esc(R.interceptor_types[E.type[m]] || '?') + ' &times;' + E.launched[m] + ', Pk ' + pk +
      (E.track[m] >= 0 ? ', track ' + E.track[m] : '') + ' &rarr; <b>' + esc(result) + '</b>' +
      (result !== 'pending' ? ' at ' + fmtT(E.end_s[m]) : '');
  }
  function batteryHtml(k) {
    var B = R.batteries[k], tms = state.t * 1000;
    var html = '<div class="h">Battery ' + esc(B.id) + '</div>' + esc(B.system) + '<br>';
    html += '<span class="k">interceptors left at ' + fmtT(state.t) + '</span><ul>';
    Object.keys(B.inventory).forEach(function (type) {
      var fired = (B.launch_ms[type] || []).filter(function (x) { return x <= tms; }).length;
      html += '<li>' + esc(type) + ': ' + (B.inventory[type] - fired) + ' of ' + B.inventory[type] +
        ' (' + fired + ' fired)</li>';
    });
    html += '</ul>';
    var E = R.engagements, counts = [0, 0, 0], n = 0;
    for (var m = 0; m < E.id.length; m++) {
      if (E.battery[m] === k && E.start_s[m] * 1000 <= tms) { n++; counts[E.result[m]]++; }
    }
    html += '<span class="k">engagements so far</span> ' + n + ' (final results: ' +
      counts[0] + ' kill, ' + counts[1] + ' miss, ' + counts[2] + ' pending)<br>';
    if (B.site >= 0) html += siteCoverageText(R.coverage.sites[B.site]);
    if (B.engagement_range_m) html += '<br><span class="k">engagement range</span> ' + km(B.engagement_range_m);
    return html;
  }
  function siteCoverageText(site) {
    return '<span class="k">radar</span> instrumented ' + km(site.range_m) + '; sees a target at ' +
      state.altitude.toLocaleString('en') + ' m out to ' + km(coverageRange(site, state.altitude)) +
      ' (antenna ' + site.antenna_alt_m.toFixed(0) + ' m' +
      (site.heights_known ? '' : ', assumed') + ')';
  }
  function sensorHtml(k) {
    var S = R.sensors[k];
    var html = '<div class="h">Sensor ' + esc(S.id) + '</div>' + esc(S.radar) + '<br>';
    if (S.site >= 0) html += siteCoverageText(R.coverage.sites[S.site]);
    return html;
  }
  function assetHtml(k) {
    var A = R.assets[k];
    var lost = A.value_lost || 0, value = A.value || 0;
    return '<div class="h">' + esc(A.id) + '</div>' + esc(String(A.kind).replace(/_/g, ' ')) +
      '<br><span class="k">value</span> ' + value.toLocaleString('en') +
      ', <span class="k">lost (whole run)</span> ' + lost.toFixed(1) +
      (value > 0 ? ' (' + (100 * lost / value).toFixed(0) + ' %)' : '') +
      ', <span class="k">hits</span> ' + (A.hits || 0);
  }
  function interceptorHtml(i) {
    var I = R.interceptors, tms = state.t * 1000;
    var a = IN.off[i], b = IN.off[i + 1];
    var status = I.result[i] || 'no outcome logged';
    if (b > a && tms <= IN.t[b - 1] && tms >= IN.t[a]) status = 'in flight (final: ' + status + ')';
    var bat = R.batteries[I.battery[i]];
    var html = '<div class="h">Interceptor #' + esc(I.id[i]) + '</div>' +
      esc(R.interceptor_types[I.type[i]] || '?') + ' from ' + esc(bat ? bat.id : '?') + '<br>';
    if (b > a) {
      html += '<span class="k">flight</span> ' + fmtT(IN.t[a] / 1000) + ' &ndash; ' +
        fmtT(IN.t[b - 1] / 1000) + '<br>';
    }
    html += '<span class="k">target</span> ' + (I.target[i] >= 0 ? 'threat ' + esc(I.target[i]) : '?');
    if (I.engagement[i] >= 0) {
      var m = I.engagement[i];
      if (R.engagements.track[m] >= 0) html += ' (track ' + R.engagements.track[m] + ')';
      html += ', engagement #' + esc(R.engagements.id[m]);
    }
    return html + '<br><span class="k">result</span> ' + esc(status);
  }
  function markHtml(j) {
    var names = {intercept_kill: 'Intercept (kill)', intercept_miss: 'Intercept attempt (miss)',
      leak: 'Leaker impact', crash: 'Crash'};
    var kind = R.marks.kinds[MK.kind[j]];
    var html = '<div class="h">' + names[kind] + ' at ' + fmtT(MK.t[j] / 1000) + '</div>';
    if (R.marks.interceptor[j] >= 0) {
      html += 'interceptor #' + R.marks.interceptor[j] + ' from ' + esc(R.marks.battery[j]) + '<br>';
    }
    var ti = threatIndex[R.marks.threat[j]];
    return html + (ti !== undefined ? '<hr>' + threatHtml(ti) : '');
  }

  function showHover(hit, xy) {
    if (!hit) { hoverInfo.hidden = true; return; }
    var html = {threat: threatHtml, battery: batteryHtml, sensor: sensorHtml, asset: assetHtml,
      interceptor: interceptorHtml, mark: markHtml}[hit.kind](hit.index);
    hoverInfo.innerHTML = html;
    hoverInfo.hidden = false;
    if (xy) {
      var pr = panel.getBoundingClientRect();
      var x = xy[0] - pr.left + 16, y = xy[1] - pr.top + 16;
      var w = hoverInfo.offsetWidth, h = hoverInfo.offsetHeight;
      if (x + w > pr.width) x = Math.max(0, xy[0] - pr.left - w - 12);
      if (y + h > pr.height) y = Math.max(0, xy[1] - pr.top - h - 12);
      hoverInfo.style.left = x + 'px';
      hoverInfo.style.top = y + 'px';
    }
  }

  function segDist(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    var u = l2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
    return Math.hypot(px - ax - u * dx, py - ay - u * dy);
  }
  function nearestSite(list, F, mx, my, layer, radius) {
    if (!layerOn(layer)) return -1;
    var best = -1, bestD = radius;
    list.forEach(function (s, k) {
      if (s.east_m === null) return;
      var d = Math.hypot(F.x0 + F.scale * s.east_m - mx, F.y0 - F.scale * s.north_m - my);
      if (d <= bestD) { best = k; bestD = d; }
    });
    return best;
  }
  function nearestTrail(P, n, visible, F, mx, my, radius, tms) {
    var best = -1, bestD = radius;
    for (var i = 0; i < n; i++) {
      if (!visible(i)) continue;
      var a = P.off[i], b = P.off[i + 1];
      if (b <= a) continue;
      var p = positionAt(P, i, Math.min(tms, P.t[b - 1]));
      if (!p) continue;
      var jEnd = p[2];
      var px = F.x0 + F.scale * P.x[a], py = F.y0 - F.scale * P.y[a];
      for (var j = a + 1; j <= jEnd + 1 && j < b; j++) {
        var last = j > jEnd;
        var qx = last ? F.x0 + F.scale * p[0] : F.x0 + F.scale * P.x[j];
        var qy = last ? F.y0 - F.scale * p[1] : F.y0 - F.scale * P.y[j];
        var d = segDist(mx, my, px, py, qx, qy);
        if (d < bestD) { bestD = d; best = i; }
        px = qx; py = qy;
      }
    }
    return best;
  }
  function nearestHead(h, mx, my, radius) {
    if (!h) return -1;
    var best = -1, bestD = radius;
    for (var i = 0; i < h.x.length; i++) {
      if (isNaN(h.x[i])) continue;
      var d = Math.hypot(h.x[i] - mx, h.y[i] - my);
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }
  function hitTest(mx, my) {
    var F = R.views[state.view], tms = state.t * 1000, k;
    if (mx < F.left || mx > F.left + F.width || my < F.top || my > F.top + F.height) return null;
    if ((k = nearestSite(R.batteries, F, mx, my, 'layer-batteries', 8)) >= 0) return {kind: 'battery', index: k};
    if ((k = nearestSite(R.sensors, F, mx, my, 'layer-batteries', 8)) >= 0) return {kind: 'sensor', index: k};
    if (layerOn('layer-tracks') && (k = nearestHead(heads.threat, mx, my, 7)) >= 0) return {kind: 'threat', index: k};
    if ((k = nearestHead(heads.interceptor, mx, my, 6)) >= 0) return {kind: 'interceptor', index: k};
    var bestMark = -1, bestD = 6;
    for (var j = 0; j < MK.n; j++) {
      if (MK.t[j] > tms || !layerOn(MARK_LAYERS[R.marks.kinds[MK.kind[j]]])) continue;
      var d = Math.hypot(F.x0 + F.scale * MK.x[j] - mx, F.y0 - F.scale * MK.y[j] - my);
      if (d < bestD) { bestD = d; bestMark = j; }
    }
    if (bestMark >= 0) return {kind: 'mark', index: bestMark};
    if ((k = nearestSite(R.assets, F, mx, my, 'layer-assets', 8)) >= 0) return {kind: 'asset', index: k};
    if (layerOn('layer-tracks')) {
      k = nearestTrail(TH, TH.n, function (i) {
        return TH.start[i] <= tms && (state.showFinished || tms <= TH.end[i]);
      }, F, mx, my, 5, tms);
      if (k >= 0) return {kind: 'threat', index: k};
    }
    if (layerOn('layer-flyouts')) {
      k = nearestTrail(IN, IN.n, function (i) {
        var a = IN.off[i], b = IN.off[i + 1];
        return b > a && IN.t[a] <= tms && (state.showFinished || tms <= IN.t[b - 1]);
      }, F, mx, my, 4, tms);
      if (k >= 0) return {kind: 'interceptor', index: k};
    }
    return null;
  }
  function eventToMap(ev) {
    var st = stages[state.view], r = st.svg.getBoundingClientRect(), F = R.views[state.view];
    if (!r.width) return null;
    return [(ev.clientX - r.left) * F.svg_width / r.width, (ev.clientY - r.top) * F.svg_height / r.height];
  }
  var hoverPending = null;
  function onMove(ev) {
    hoverPending = ev;
    requestAnimationFrame(function () {
      if (!hoverPending) return;
      var e = hoverPending; hoverPending = null;
      var m = eventToMap(e);
      var hit = m ? hitTest(m[0], m[1]) : null;
      var before = state.hover;
      state.hover = hit; state.hoverXY = [e.clientX, e.clientY];
      showHover(hit, state.hoverXY);
      var wasThreat = before && before.kind === 'threat' ? before.index : -1;
      var isThreat = hit && hit.kind === 'threat' ? hit.index : -1;
      if (wasThreat !== isThreat && state.selected < 0) draw();
    });
  }
  Object.keys(stages).forEach(function (v) {
    var st = stages[v];
    st.el.addEventListener('mousemove', onMove);
    st.el.addEventListener('mouseleave', function () {
      hoverPending = null; state.hover = null; showHover(null); draw();
    });
    st.el.addEventListener('click', function (ev) {
      var m = eventToMap(ev), hit = m ? hitTest(m[0], m[1]) : null;
      var idx = -1;
      if (hit && hit.kind === 'threat') idx = hit.index;
      else if (hit && hit.kind === 'mark') {
        var ti = threatIndex[R.marks.threat[hit.index]];
        if (ti !== undefined) idx = ti;
      }
      state.selected = idx === state.selected ? -1 : idx;
      draw();
    });
  });

  // ------------------------------------------------------------------ controls
  if (slider) slider.addEventListener('input', function () { setTime(Number(slider.value)); });
  if (playButton) playButton.addEventListener('click', function () { if (state.playing) stop(); else play(); });
  if (speedSelect) {
    state.speed = Number(speedSelect.value) || 30;
    speedSelect.addEventListener('change', function () { state.speed = Number(speedSelect.value) || 30; });
  }
  if (altitudeSelect) altitudeSelect.addEventListener('change', function () { setCoverageAltitude(altitudeSelect.value); });
  var finished = document.getElementById('show-finished');
  if (finished) finished.addEventListener('change', function () { state.showFinished = finished.checked; draw(); });
  document.querySelectorAll('input[name="map-view"]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      if (!radio.checked) return;
      state.view = radio.value;
      Object.keys(stages).forEach(function (v) { stages[v].el.hidden = v !== state.view; });
      draw();
    });
  });
  document.querySelectorAll('input[data-layer]').forEach(function (box) {
    box.addEventListener('change', function () {
      var name = box.getAttribute('data-layer');
      document.querySelectorAll('g.' + name).forEach(function (g) {
        g.style.display = box.checked ? '' : 'none';
      });
      draw();
    });
  });
  window.addEventListener('resize', function () { draw(); moveChartCursors(); });

  // ------------------------------------------------------------------ tables
  var filter = document.getElementById('engagement-filter');
  var engagementTable = document.getElementById('table-engagements');
  if (filter && engagementTable) {
    filter.addEventListener('input', function () {
      var q = filter.value.toLowerCase();
      engagementTable.querySelectorAll('tbody tr').forEach(function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(q) === -1 ? 'none' : '';
      });
    });
  }
  if (engagementTable) {
    engagementTable.addEventListener('click', function (ev) {
      var row = ev.target.closest('tbody tr');
      if (!row) return;
      var tid = Number(row.getAttribute('data-threat-id'));
      if (threatIndex[tid] !== undefined) state.selected = threatIndex[tid];
      setTime(Number(row.getAttribute('data-t')));
      panel.scrollIntoView({behavior: 'smooth', block: 'start'});
    });
  }
  function sortKey(cell, numeric) {
    if (!cell) return numeric ? -Infinity : '';
    if (numeric) {
      var v = parseFloat(cell.hasAttribute('data-value') ? cell.getAttribute('data-value') : cell.textContent);
      return isNaN(v) ? -Infinity : v;
    }
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll('table th[data-sort]').forEach(function (th) {
    th.addEventListener('click', function () {
      var table = th.closest('table'), body = table.tBodies[0];
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var numeric = th.getAttribute('data-sort') === 'num';
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      table.querySelectorAll('th[data-sort]').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      var rows = Array.prototype.map.call(body.rows, function (r, i) {
        return {r: r, k: sortKey(r.cells[col], numeric), i: i};
      });
      rows.sort(function (a, b) {
        if (a.k < b.k) return -dir;
        if (a.k > b.k) return dir;
        return a.i - b.i;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (x) { frag.appendChild(x.r); });
      body.appendChild(frag);
    });
  });

  // ------------------------------------------------------------------ API and start
  window.shieldwallReport = {
    setTime: setTime,
    get time() { return state.t; },
    duration_s: D,
    visibleThreats: function () { return TH ? threatsInFlight(state.t * 1000) : 0; },
    setCoverageAltitude: setCoverageAltitude
  };

  function charts() {
    if (!window.Plotly || !CH) return Promise.resolve();
    var config = {displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['lasso2d', 'select2d']};
    var jobs = [['chart-gantt', CH.gantt], ['chart-inventory', CH.inventory],
      ['chart-inflight', CH.inflight]].map(function (pair) {
      var div = document.getElementById(pair[0]);
      if (!div || !pair[1]) return Promise.resolve();
      return Plotly.newPlot(div, pair[1].data, pair[1].layout, config).then(function () {
        div.on('plotly_afterplot', function () { placeCursor(pair[0]); });
        div.on('plotly_click', function (ev) {
          if (!ev || !ev.points || !ev.points.length) return;
          var p = ev.points[0];
          if (pair[0] === 'chart-gantt') {
            var m = R.engagements.id.indexOf(p.customdata);
            if (m >= 0) {
              var ti = threatIndex[R.engagements.threat[m]];
              if (ti !== undefined) state.selected = ti;
              setTime(R.engagements.start_s[m]);
            }
          } else {
            setTime(p.x);
          }
        });
      });
    });
    return Promise.all(jobs);
  }

  if (R) {
    setTime(D);
    setCoverageAltitude(state.altitude);
  }
  charts().then(function () {
    moveChartCursors();
    draw();
    document.body.dataset.ready = '1';
  }, function (err) {
    document.body.dataset.ready = '1';
    throw err;
  });
})();

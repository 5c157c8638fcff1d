// Orientation on the map: place labels from our own data (/api/labels, glyphs from /fonts),
// the county outline, a place search (/api/search), a legend that stays on the map and
// "Spara bild" (the current view as PNG with legend, period and attribution).
// Loaded after app.js; uses its globals map, origin, api, openProfile, selectWalk, state.
'use strict';

(function () {
  const LABEL_FONT = ['DejaVu Sans Book'];
  const LABEL_FONT_BOLD = ['DejaVu Sans Bold'];
  const halo = { 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.6, 'text-halo-blur': 0.3 };
  const KIND_SV = { regso: 'RegSO', deso: 'DeSO', police_area: 'Polisens område', kommun: 'Kommun', walk: 'Trygghetsvandring' };

  // Is a basemap drawn under our layers? Then the municipalities stop hiding it.
  function basemapKind() {
    const m = map.getStyle().metadata || {};
    return m['lagesbild:basemap'] || 'style';
  }

  function addLabelLayers() {
    map.addSource('labels', { type: 'geojson', data: origin + '/api/labels' });
    if (basemapKind() !== 'none' && map.getLayer('municipalities-fill')) map.setPaintProperty('municipalities-fill', 'fill-opacity', 0);
    map.addLayer({ id: 'county-line', type: 'line', source: 'labels', filter: ['==', ['get', 'kind'], 'lan'], paint: { 'line-color': '#222', 'line-width': 2.6, 'line-opacity': 0.8 } });
    const sym = (id, kind, minzoom, maxzoom, size, font, colour, extra) => map.addLayer({
      id, type: 'symbol', source: 'labels', minzoom, maxzoom,
      filter: ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'kind'], kind]],
      layout: { 'text-field': ['get', 'name'], 'text-font': font, 'text-size': size, 'text-max-width': 8, 'text-padding': 3, ...(extra || {}) },
      paint: { 'text-color': colour, ...halo },
    });
    // Highest priority last in the symbol order is drawn first by MapLibre's collision: sort key.
    sym('labels-deso', 'deso', 14, 24, 10, LABEL_FONT, '#555');
    sym('labels-regso', 'regso', 10.5, 24, 12.5, LABEL_FONT, '#1d1d1d', { 'symbol-sort-key': 2 });
    sym('labels-police', 'police_area', 10, 24, 12, LABEL_FONT_BOLD, '#7a1010', { 'text-offset': [0, 1.2], 'symbol-sort-key': 1 });
    sym('labels-kommun', 'kommun', 7, 11.5, ['interpolate', ['linear'], ['zoom'], 7, 11, 11, 15], LABEL_FONT_BOLD, '#333', { 'text-transform': 'uppercase', 'text-letter-spacing': 0.08 });
  }

  // ---- Search ----
  let searchTimer = null;
  let lastHits = [];

  function renderHits(hits) {
    const ul = document.getElementById('search-results');
    lastHits = hits;
    ul.innerHTML = hits.map((h, k) => `<li role="option" data-k="${k}" tabindex="-1"><b>${escapeHtml(h.name)}</b> <span class="muted small">${KIND_SV[h.kind] || h.kind}${h.kind === 'deso' ? '' : ' · ' + escapeHtml(h.id)}</span></li>`).join('')
      || (document.getElementById('search').value.trim() ? '<li class="muted">Inga träffar</li>' : '');
    ul.hidden = !ul.innerHTML;
    ul.querySelectorAll('li[data-k]').forEach((li) => li.addEventListener('click', () => pick(lastHits[+li.dataset.k])));
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  async function runSearch() {
    const q = document.getElementById('search').value.trim();
    if (!q) { renderHits([]); return; }
    try {
      const r = await api('/api/search?q=' + encodeURIComponent(q.slice(0, 100)) + '&limit=8');
      renderHits(r.hits);
    } catch (e) {
      document.getElementById('search-results').innerHTML = `<li class="muted">Sökningen misslyckades: ${escapeHtml(e.message)}</li>`;
    }
  }

  function pick(hit) {
    if (!hit) return;
    document.getElementById('search-results').hidden = true;
    document.getElementById('search').value = hit.name;
    const [w, s, e, n] = hit.bbox;
    map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: hit.kind === 'kommun' ? 12 : 15, duration: 800 });
    window.lagesbildSearch.last = hit;
    if (hit.kind === 'deso' || hit.kind === 'regso') {
      if (hit.kind === 'deso') {
        if (state.selected) map.setFeatureState({ source: 'deso', sourceLayer: 'deso', id: state.selected }, { selected: false });
        state.selected = hit.id;
        map.setFeatureState({ source: 'deso', sourceLayer: 'deso', id: hit.id }, { selected: true });
      }
      openProfile(hit.id);
    } else if (hit.kind === 'walk') {
      loadWalks().then(() => selectWalk(hit.id)).catch(() => {});
    } else {
      new maplibregl.Popup({ closeButton: true }).setLngLat([(w + e) / 2, (s + n) / 2]).setHTML(`<b>${escapeHtml(hit.name)}</b><br><span class="muted small">${KIND_SV[hit.kind]}</span>`).addTo(map);
    }
  }

  function setupSearch() {
    const input = document.getElementById('search');
    input.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 200); });
    input.addEventListener('keydown', async (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        clearTimeout(searchTimer);
        await runSearch();
        pick(lastHits[0]);
      } else if (ev.key === 'Escape') {
        document.getElementById('search-results').hidden = true;
      }
    });
  }

  // ---- Spara bild ----
  // "Period: v. 1 2025 – v. 46 2026 (2024-12-30 – 2026-11-15)".
  function periodText() {
    const parse = (id) => {
      const el = document.getElementById(id);
      return el && el.value.trim() && window.lagesbildDates ? window.lagesbildDates.parsePeriod(el.value, new Date().getFullYear()) : null;
    };
    const a = parse('from'); const b = parse('to');
    if (!a && !b) return 'Period: hela perioden i data';
    const span = `${a ? a.start : '…'} – ${b ? b.end : '…'}`;
    return `Period: ${a ? a.label : 'från början'} – ${b ? b.label : 'till senaste'} (${span})`;
  }

  function legendEntries() {
    const out = [];
    document.querySelectorAll('#legend > *').forEach((el) => {
      if (el.classList.contains('legend-title')) out.push({ title: el.textContent });
      else if (el.classList.contains('legend-item')) {
        const sw = el.querySelector('.swatch');
        out.push({ colour: sw ? getComputedStyle(sw).backgroundColor : '#fff', label: el.textContent.trim() });
      }
    });
    return out;
  }

  function wrap(ctx, text, maxWidth) {
    const words = text.split(' '); const lines = []; let line = '';
    words.forEach((w) => { const t = line ? line + ' ' + w : w; if (ctx.measureText(t).width > maxWidth && line) { lines.push(line); line = w; } else line = t; });
    if (line) lines.push(line);
    return lines;
  }

  // The view as it is drawn now, composed with a legend column and a footer.
  function composeImage() {
    const src = map.getCanvas();
    const ratio = src.width / src.clientWidth || 1;
    const mapW = src.width; const mapH = src.height;
    const legendW = Math.round(260 * ratio); const footerH = Math.round(64 * ratio);
    const out = document.createElement('canvas');
    out.width = mapW + legendW; out.height = mapH + footerH;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(src, 0, 0);
    ctx.strokeStyle = '#999'; ctx.strokeRect(0.5, 0.5, mapW - 1, mapH - 1);
    const fs = (px, bold) => `${bold ? '600 ' : ''}${Math.round(px * ratio)}px "DejaVu Sans", system-ui, sans-serif`;
    let y = Math.round(22 * ratio); const x0 = mapW + Math.round(12 * ratio);
    ctx.fillStyle = '#111'; ctx.font = fs(16, true); ctx.fillText('Lägesbild', x0, y); y += Math.round(18 * ratio);
    ctx.font = fs(11); ctx.fillStyle = '#444';
    wrap(ctx, periodText(), legendW - 24 * ratio).forEach((l) => { ctx.fillText(l, x0, y); y += Math.round(14 * ratio); });
    y += Math.round(6 * ratio);
    legendEntries().forEach((e) => {
      if (y > mapH + footerH - 10 * ratio) return;
      if (e.title) { y += Math.round(6 * ratio); ctx.font = fs(12, true); ctx.fillStyle = '#111'; wrap(ctx, e.title, legendW - 24 * ratio).forEach((l) => { ctx.fillText(l, x0, y); y += Math.round(15 * ratio); }); return; }
      ctx.fillStyle = e.colour; ctx.fillRect(x0, y - 10 * ratio, 16 * ratio, 11 * ratio);
      ctx.strokeStyle = '#999'; ctx.strokeRect(x0, y - 10 * ratio, 16 * ratio, 11 * ratio);
      ctx.font = fs(11); ctx.fillStyle = '#222';
      wrap(ctx, e.label, legendW - 48 * ratio).forEach((l) => { ctx.fillText(l, x0 + 22 * ratio, y); y += Math.round(14 * ratio); });
    });
    // Scale bar as MapLibre draws it.
    const scale = document.querySelector('.maplibregl-ctrl-scale');
    const fy = mapH + Math.round(20 * ratio);
    if (scale) {
      const w = scale.getBoundingClientRect().width * ratio;
      ctx.strokeStyle = '#333'; ctx.lineWidth = 2 * ratio;
      ctx.beginPath(); ctx.moveTo(12 * ratio, fy - 8 * ratio); ctx.lineTo(12 * ratio, fy); ctx.lineTo(12 * ratio + w, fy); ctx.lineTo(12 * ratio + w, fy - 8 * ratio); ctx.stroke();
      ctx.font = fs(11); ctx.fillStyle = '#222'; ctx.fillText(scale.textContent, 16 * ratio + w, fy);
    }
    const attrib = (document.querySelector('.maplibregl-ctrl-attrib-inner') || {}).textContent || '';
    ctx.font = fs(11); ctx.fillStyle = '#444';
    const today = new Date();
    ctx.fillText(attrib.trim() || 'Källa: SCB, Polisen', 12 * ratio, fy + 18 * ratio);
    ctx.fillText(`Utskriven ${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')} · ${periodText()}`, 12 * ratio, fy + 34 * ratio);
    return out;
  }

  // Waits for a fresh frame so the drawing buffer holds the current view.
  function afterRender() {
    return new Promise((resolve) => { map.once('render', () => resolve()); map.triggerRepaint(); });
  }

  async function saveImage() {
    await afterRender();
    const canvas = composeImage();
    const url = canvas.toDataURL('image/png');
    const a = document.createElement('a');
    const d = new Date();
    a.href = url;
    a.download = `lagesbild-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.png`;
    document.body.appendChild(a); a.click(); a.remove();
    return { width: canvas.width, height: canvas.height };
  }

  window.lagesbildSearch = { run: runSearch, pick, last: null };
  window.lagesbildSaveImage = saveImage;

  setupSearch();
  document.getElementById('save-image').addEventListener('click', () => { saveImage().catch((e) => { document.getElementById('legend').insertAdjacentHTML('beforeend', `<p class="muted small">Bilden kunde inte sparas: ${escapeHtml(e.message)}</p>`); }); });
  document.getElementById('legend-toggle').addEventListener('click', () => {
    const box = document.getElementById('legend-box');
    box.classList.toggle('collapsed');
    document.getElementById('legend-toggle').setAttribute('aria-expanded', box.classList.contains('collapsed') ? 'false' : 'true');
  });
  // On a phone the legend starts folded to its header so that the map stays visible.
  if (window.matchMedia && window.matchMedia('(max-width: 700px)').matches) {
    document.getElementById('legend-box').classList.add('collapsed');
    document.getElementById('legend-toggle').setAttribute('aria-expanded', 'false');
  }
  if (map.loaded()) addLabelLayers(); else map.on('load', addLabelLayers);
}());

// Swedish date and week fields. HTML date inputs follow the browser's locale (mm/dd/yyyy in an
// English browser), so the map uses plain text fields written as ÅÅÅÅ-MM-DD or as ISO weeks
// ("v. 12", "v. 12 2025", "2025-W12"), checks them as they are typed and tells what they mean.
'use strict';

(function () {
  const pad = (n) => String(n).padStart(2, '0');
  const ymd = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

  // A real calendar date (2025-02-30 is refused), as a UTC Date.
  function parseDate(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
    if (!m) return null;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return ymd(d) === `${m[1]}-${m[2]}-${m[3]}` ? d : null;
  }

  // ISO 8601 week of a date: the week with that year's first Thursday is week 1.
  function isoWeek(d) {
    const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    const day = t.getUTCDay() || 7;
    t.setUTCDate(t.getUTCDate() + 4 - day);
    const year = t.getUTCFullYear();
    const week = Math.ceil(((t - Date.UTC(year, 0, 1)) / 86400000 + 1) / 7);
    return { year, week };
  }

  function weeksInYear(year) {
    return isoWeek(new Date(Date.UTC(year, 11, 28))).week;
  }

  // Monday of an ISO week.
  function weekMonday(year, week) {
    const jan4 = new Date(Date.UTC(year, 0, 4));
    const monday = new Date(jan4);
    monday.setUTCDate(jan4.getUTCDate() - ((jan4.getUTCDay() || 7) - 1) + 7 * (week - 1));
    return monday;
  }

  // "v. 12", "v12", "vecka 12", "v. 12 2025", "2025 v. 12", "2025-W12" → { year, week }.
  function parseWeek(s, defaultYear) {
    const t = s.trim().toLowerCase();
    let m = /^(\d{4})-?w(\d{1,2})$/.exec(t);
    let year; let week;
    if (m) { year = +m[1]; week = +m[2]; } else {
      m = /^(?:(\d{4})\s+)?(?:v\.?|vecka)\s*(\d{1,2})(?:\s*,?\s*(\d{4}))?$/.exec(t);
      if (!m) return null;
      year = +(m[1] || m[3] || defaultYear); week = +m[2];
    }
    if (week < 1 || week > weeksInYear(year)) return null;
    return { year, week };
  }

  // A period field: a date or a week. Returns what the API takes and a Swedish explanation.
  function parsePeriod(s, defaultYear) {
    if (!s.trim()) return { api: '', text: '' };
    const d = parseDate(s);
    if (d) {
      const w = isoWeek(d);
      return { api: ymd(d), text: `${ymd(d)} (v. ${w.week} ${w.year})`, label: ymd(d), start: ymd(d), end: ymd(d) };
    }
    const w = parseWeek(s, defaultYear);
    if (w) {
      const mon = weekMonday(w.year, w.week);
      const sun = new Date(mon); sun.setUTCDate(mon.getUTCDate() + 6);
      return { api: `${w.year}-W${pad(w.week)}`, text: `v. ${w.week} ${w.year}: ${ymd(mon)} – ${ymd(sun)}`, label: `v. ${w.week} ${w.year}`, start: ymd(mon), end: ymd(sun) };
    }
    return null;
  }

  function hintFor(input) {
    let h = input.parentElement.querySelector(`.hint[data-for="${input.id}"]`);
    if (!h) {
      h = document.createElement('span');
      h.className = 'hint small';
      h.dataset.for = input.id;
      h.setAttribute('aria-live', 'polite');
      input.insertAdjacentElement('afterend', h);
    }
    return h;
  }

  function check(input) {
    const kind = input.dataset.sv;
    const v = input.value;
    let ok; let text = ''; let api = v.trim();
    if (kind === 'date') {
      ok = !v.trim() || !!parseDate(v);
      if (!ok) text = 'Skriv datum som ÅÅÅÅ-MM-DD';
    } else if (kind === 'datetime') {
      const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})$/.exec(v.trim());
      ok = !!m && !!parseDate(m[1]) && +m[2] < 24 && +m[3] < 60;
      if (ok) api = `${m[1]}T${m[2]}:${m[3]}`; else text = 'Skriv ÅÅÅÅ-MM-DD TT:MM';
    } else {
      const p = parsePeriod(v, new Date().getFullYear());
      ok = !!p;
      if (p) { api = p.api; text = p.text; } else text = 'Skriv ÅÅÅÅ-MM-DD eller vecka som v. 12 (v. 12 2025)';
    }
    input.dataset.api = ok ? api : '';
    input.setAttribute('aria-invalid', ok ? 'false' : 'true');
    input.classList.toggle('invalid', !ok);
    hintFor(input).textContent = text;
    return ok;
  }

  // The value to send for a checked field (null when it does not parse).
  function apiValue(input) {
    return check(input) ? input.dataset.api : null;
  }

  function enhance(root) {
    (root || document).querySelectorAll('input[data-sv]').forEach((input) => {
      if (input.dataset.svBound) return;
      input.dataset.svBound = '1';
      input.addEventListener('input', () => check(input));
      input.addEventListener('blur', () => check(input));
      if (input.value) check(input);
    });
  }

  window.lagesbildDates = { parseDate, parseWeek, parsePeriod, isoWeek, weekMonday, apiValue, check, enhance };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => enhance());
  else enhance();
}());

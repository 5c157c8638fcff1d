//! The route report of a walk: length and walking time, DeSO and RegSO crossed with their
//! områdestyp and index class, incidents within a buffer by category and week (aggregated for
//! roles without raw access), hotspot cells crossed, and the observations with their status.
//! As JSON, a printable Swedish HTML page with an SVG map, GPX and GeoJSON. And suggested stops.

use super::{category_label, Observation, Walk};
use crate::model::Incident;
use geo::{Distance, Euclidean, Intersects, Length};
use serde::Serialize;
use std::collections::BTreeMap;

/// Walking speed for the time estimate (a group walk with stops, km/h).
pub const WALKING_KMH: f64 = 3.0;

#[derive(Debug, Clone, Serialize)]
pub struct AreaCrossed {
    pub deso: String,
    pub regso_name: String,
    pub omradestyp: Option<u8>,
    pub index_quintile: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotspotCrossed {
    pub cell_id: String,
    pub gi_bin: i8,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearIncident {
    pub id: String,
    pub category: String,
    pub occurred_at: String,
    pub distance_m: f64,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    pub walk: Walk,
    pub route_wgs84: Vec<[f64; 2]>,
    pub length_m: f64,
    pub walking_minutes: f64,
    pub buffer_m: f64,
    pub period: (Option<String>, Option<String>),
    pub areas: Vec<AreaCrossed>,
    pub incidents_total: Option<u64>,
    /// (category, Swedish label, count); a count below the threshold is None for public roles.
    pub incidents_by_category: Vec<(String, String, Option<u64>)>,
    pub incidents_by_week: Vec<(String, Option<u64>)>,
    /// Only for roles with raw access.
    pub incidents: Option<Vec<NearIncident>>,
    pub hotspots: Vec<HotspotCrossed>,
    pub observations: Vec<(Observation, [f64; 2])>,
    /// Photos of the observations as data URIs (observation id → URI), so the printed report
    /// stands alone; empty for roles that may not see photos.
    #[serde(skip)]
    pub photos: BTreeMap<String, String>,
    /// The day overdue findings are judged against.
    pub today: chrono::NaiveDate,
}

/// Areas the route crosses: (DeSO feature geometry in 3006, code, regso name, områdestyp, index quintile).
pub type AreaInput<'a> = (&'a geo::Geometry<f64>, String, String, Option<u8>, Option<u8>);

#[allow(clippy::too_many_arguments)]
pub fn build(
    walk: &Walk,
    route_wgs84: Vec<[f64; 2]>,
    observations: Vec<(Observation, [f64; 2])>,
    areas: &[AreaInput],
    incidents: &[(&Incident, [f64; 2])],
    hotspot_cells: &[(&geo::Geometry<f64>, String, i8)],
    buffer_m: f64,
    period: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>),
    raw: bool,
    min_count: Option<u64>,
) -> RouteReport {
    let route = &walk.route;
    let length_m = Euclidean.length(route);
    let crossed: Vec<AreaCrossed> = areas
        .iter()
        .filter(|(g, ..)| g.intersects(route))
        .map(|(_, d, r, t, q)| AreaCrossed { deso: d.clone(), regso_name: r.clone(), omradestyp: *t, index_quintile: *q })
        .collect();
    let near: Vec<(&Incident, [f64; 2], f64)> = incidents
        .iter()
        .filter(|(i, _)| period.0.is_none_or(|d| i.occurred_at.date() >= d) && period.1.is_none_or(|d| i.occurred_at.date() <= d))
        .map(|(i, w)| (*i, *w, Euclidean.distance(&i.location, route)))
        .filter(|(_, _, d)| *d <= buffer_m)
        .collect();
    let hide = |n: u64| -> Option<u64> {
        match min_count {
            Some(m) if n > 0 && n < m => None,
            _ => Some(n),
        }
    };
    let mut by_cat: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_week: BTreeMap<String, u64> = BTreeMap::new();
    for (i, _, _) in &near {
        *by_cat.entry(i.category.as_str()).or_default() += 1;
        *by_week.entry(crate::model::iso_week(&i.occurred_at)).or_default() += 1;
    }
    let hotspots =
        hotspot_cells.iter().filter(|(g, _, b)| *b != 0 && g.intersects(route)).map(|(_, id, b)| HotspotCrossed { cell_id: id.clone(), gi_bin: *b }).collect();
    RouteReport {
        walk: walk.clone(),
        route_wgs84,
        length_m,
        walking_minutes: length_m / 1000.0 / WALKING_KMH * 60.0,
        buffer_m,
        period: (period.0.map(|d| d.to_string()), period.1.map(|d| d.to_string())),
        areas: crossed,
        incidents_total: hide(near.len() as u64),
        incidents_by_category: by_cat
            .into_iter()
            .map(|(c, n)| (c.to_string(), crate::model::Category::from_canonical(c).map(|x| x.label_sv()).unwrap_or(c).to_string(), hide(n)))
            .collect(),
        incidents_by_week: by_week.into_iter().map(|(w, n)| (w, hide(n))).collect(),
        incidents: raw.then(|| {
            near.iter()
                .map(|(i, w, d)| NearIncident {
                    id: i.id.clone(),
                    category: i.category.as_str().into(),
                    occurred_at: i.occurred_at.format("%Y-%m-%d %H:%M").to_string(),
                    distance_m: (*d * 10.0).round() / 10.0,
                    lon: w[0],
                    lat: w[1],
                })
                .collect()
        }),
        hotspots,
        observations,
        photos: BTreeMap::new(),
        today: chrono::Local::now().date_naive(),
    }
}

/// The protocol: who took part, where they met, and the notes of the meetings before and after.
/// Empty when the caller's role may not see it (the walk then carries no protocol).
fn protocol_html(w: &Walk) -> String {
    let mut h = String::from("<h2>Protokoll</h2>");
    if !w.meeting_point.is_empty() {
        h += &format!("<p>Samlingsplats: {}{}</p>", esc(&w.meeting_point), if w.dark_hours { " · efter mörkrets inbrott" } else { "" });
    }
    if !w.participants.is_empty() {
        h += "<table><tr><th>Organisation</th><th>Deltagare</th></tr>";
        for p in &w.participants {
            h += &format!("<tr><td>{}</td><td>{}</td></tr>", esc(&p.organisation), esc(p.name.as_deref().unwrap_or("")));
        }
        h += "</table>";
    }
    let before = h.len();
    for (title, text) in [("Mötet före vandringen", &w.notes_before), ("Vandringen", &w.notes), ("Avslutande möte", &w.notes_after)] {
        if !text.is_empty() {
            h += &format!("<h3>{title}</h3><p style=\"white-space:pre-wrap\">{}</p>", esc(text));
        }
    }
    if h.len() == before {
        h += r#"<p class="muted">Inga anteckningar från mötena (eller inte synliga för din roll).</p>"#;
    }
    h
}

/// Findings with ratings, responsible, due date (overdue in red), status and photo.
fn findings_html(r: &RouteReport) -> String {
    let mut h = String::from("<h2>Observationer</h2><table><tr><th>Nr</th><th>Kategori</th><th>Beskrivning</th><th>Betyg (0–3)</th><th>Ansvarig</th><th>Senast</th><th>Status</th><th>Foto</th></tr>");
    for (k, (o, _)) in r.observations.iter().enumerate() {
        let ratings: Vec<String> = o.ratings.iter().map(|(p, v)| format!("{} {v}", rating_label(p))).collect();
        let overdue = o.is_overdue(r.today);
        let due = o.due.map(|d| d.to_string()).unwrap_or_default();
        let photo = r.photos.get(&o.id).map(|u| format!(r#"<img src="{u}" alt="Foto {}" style="max-width:12em">"#, k + 1)).unwrap_or_default();
        h += &format!(
            r#"<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>"#,
            if overdue { r#" class="overdue" style="background:#fde2e1""# } else { "" },
            k + 1,
            category_label(&o.category),
            esc(&o.description),
            esc(&ratings.join(", ")),
            esc(&o.responsible),
            due,
            if overdue { " <b>försenad</b>" } else { "" },
            o.status.label_sv(),
            photo
        );
    }
    h + "</table>"
}

/// Swedish names of the nine rating parameters.
pub fn rating_label(p: &str) -> &'static str {
    match p {
        "lighting" => "Belysning",
        "openness" => "Öppenhet",
        "visibility" => "Synlighet",
        "people" => "Människor",
        "security" => "Bevakning",
        "walk_path" => "Gångväg",
        "public_transport" => "Kollektivtrafik",
        "gender_usage" => "Könsfördelning",
        "feeling" => "Känsla",
        _ => "Okänt",
    }
}

/// A printable invitation: when and where to meet, who is invited, the route and its stops.
pub fn invitation_html(r: &RouteReport) -> String {
    let w = &r.walk;
    let mut h = format!(
        r#"<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Inbjudan: {t}</title><style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}@media print{{body{{margin:0}}}}</style></head><body>
<h1>Välkommen på trygghetsvandring</h1><h2>{t}</h2>
<p><b>När:</b> {when}{dark}</p><p><b>Samlingsplats:</b> {meet}</p><p><b>Med:</b> {orgs}</p><p>Sträckan är {len} m, ungefär {mins} minuter i lugn takt.</p>"#,
        t = esc(&w.title),
        when = w.planned_at.format("%Y-%m-%d kl. %H:%M"),
        dark = if w.dark_hours { " (efter mörkrets inbrott – ta gärna med reflex)" } else { "" },
        meet = if w.meeting_point.is_empty() { "meddelas senare".to_string() } else { esc(&w.meeting_point) },
        orgs = esc(&w.organisations.join(", ")),
        len = n(r.length_m),
        mins = n(r.walking_minutes),
    );
    h += &svg(r);
    if !w.stops.is_empty() {
        h += "<h3>Stopp</h3><ol>";
        for s in &w.stops {
            h += &format!("<li>{}</li>", if s.look_at.is_empty() { "Stopp".to_string() } else { esc(&s.look_at) });
        }
        h += "</ol>";
    }
    h + "</body></html>"
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn n(v: f64) -> String {
    crate::model::format_number_sv((v * 10.0).round() / 10.0)
}

fn count(c: Option<u64>) -> String {
    c.map(|c| c.to_string()).unwrap_or_else(|| "<5".into())
}

/// SVG of the route, observations and (for raw roles) incidents, north up, in lon/lat scaled by cos(lat).
fn svg(r: &RouteReport) -> String {
    let mut pts: Vec<[f64; 2]> = r.route_wgs84.clone();
    pts.extend(r.observations.iter().map(|o| o.1));
    pts.extend(r.walk.stops.iter().map(|s| [s.lon, s.lat]));
    if let Some(inc) = &r.incidents {
        pts.extend(inc.iter().map(|i| [i.lon, i.lat]));
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let k = (y0.to_radians()).cos().max(0.1);
    let (w, h) = (600.0, 400.0);
    let sx = (w - 40.0) / ((x1 - x0) * k).max(1e-9);
    let sy = (h - 40.0) / (y1 - y0).max(1e-9);
    let s = sx.min(sy);
    let px = |p: &[f64; 2]| (20.0 + (p[0] - x0) * k * s, h - 20.0 - (p[1] - y0) * s);
    let mut out = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" style="border:1px solid #ccc;background:#fafaf7">"#);
    let line: Vec<String> = r
        .route_wgs84
        .iter()
        .map(|p| {
            let (x, y) = px(p);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    out += &format!(r##"<polyline points="{}" fill="none" stroke="#1f5fa8" stroke-width="4" stroke-linejoin="round"/>"##, line.join(" "));
    if let Some(inc) = &r.incidents {
        for i in inc {
            let (x, y) = px(&[i.lon, i.lat]);
            out += &format!(r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#c0392b"><title>{}</title></circle>"##, esc(&i.category));
        }
    }
    for (k2, (o, p)) in r.observations.iter().enumerate() {
        let (x, y) = px(p);
        out += &format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="7" fill="#f1c40f" stroke="#333"/><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text>"##,
            x,
            y + 3.0,
            k2 + 1
        );
        let _ = o;
    }
    for (k2, st) in r.walk.stops.iter().enumerate() {
        let (x, y) = px(&[st.lon, st.lat]);
        out += &format!(
            r##"<rect x="{:.1}" y="{:.1}" width="14" height="14" fill="#1f5fa8"/><text x="{x:.1}" y="{:.1}" font-size="10" fill="#fff" text-anchor="middle">{}</text>"##,
            x - 7.0,
            y - 7.0,
            y + 4.0,
            k2 + 1
        );
    }
    if let Some(first) = r.route_wgs84.first() {
        let (x, y) = px(first);
        out += &format!(r##"<text x="{:.1}" y="{:.1}" font-size="11">Start</text>"##, x + 6.0, y - 6.0);
    }
    out + "</svg>"
}

pub fn to_html(r: &RouteReport) -> String {
    let w = &r.walk;
    let mut h = format!(
        r#"<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Rapport: {t}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}.muted{{color:#666}}@media print{{body{{margin:0}}}}</style></head><body>
<h1>Trygghetsvandring: {t}</h1><p class="muted">Planerad {when}{area}{org} · status {status}</p>
<p>Deltagande organisationer: {orgs}</p>
<p>Sträcka: <b>{len} m</b> · beräknad gångtid <b>{mins} min</b> · buffert för händelser {buf} m{period}</p>"#,
        t = esc(&w.title),
        when = w.planned_at.format("%Y-%m-%d %H:%M"),
        area = if w.area.is_empty() { String::new() } else { format!(" · område {}", esc(&w.area)) },
        org = if w.organiser.is_empty() { String::new() } else { format!(" · arrangör {}", esc(&w.organiser)) },
        status = w.status.as_str(),
        orgs = esc(&w.organisations.join(", ")),
        len = n(r.length_m),
        mins = n(r.walking_minutes),
        buf = n(r.buffer_m),
        period = match &r.period {
            (None, None) => String::new(),
            (a, b) => format!(" · period {} – {}", a.clone().unwrap_or_default(), b.clone().unwrap_or_default()),
        }
    );
    h += &svg(r);
    h += "<h2>Områden längs vägen</h2><table><tr><th>DeSO</th><th>RegSO</th><th>Områdestyp</th><th>Indexkvintil</th></tr>";
    for a in &r.areas {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.deso),
            esc(&a.regso_name),
            a.omradestyp.map(|t| t.to_string()).unwrap_or("–".into()),
            a.index_quintile.map(|t| t.to_string()).unwrap_or("–".into())
        );
    }
    h += &format!(
        "</table><h2>Händelser inom {} m</h2><p>Totalt {}</p><table><tr><th>Kategori</th><th>Antal</th></tr>",
        n(r.buffer_m),
        count(r.incidents_total)
    );
    for (_, l, c) in &r.incidents_by_category {
        h += &format!("<tr><td>{}</td><td>{}</td></tr>", esc(l), count(*c));
    }
    h += "</table>";
    if !r.hotspots.is_empty() {
        h += "<h2>Hotspots längs vägen</h2><table><tr><th>Ruta</th><th>Konfidensklass</th></tr>";
        for s in &r.hotspots {
            h += &format!("<tr><td>{}</td><td>{}</td></tr>", esc(&s.cell_id), s.gi_bin);
        }
        h += "</table>";
    }
    h += &protocol_html(w);
    h += &findings_html(r);
    h += "<p class=\"muted\">Källa: SCB, Polisen; händelser enligt kommunens lägesbild. Skapad med lagesbild.</p></body></html>";
    h
}

pub fn to_gpx(r: &RouteReport) -> String {
    let mut g = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="lagesbild" xmlns="http://www.topografix.com/GPX/1/1">"#);
    let w = &r.walk;
    let protocol: Vec<String> = [("Före", &w.notes_before), ("Vandringen", &w.notes), ("Efter", &w.notes_after)]
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(k, t)| format!("{k}: {t}"))
        .collect();
    g += &format!("<metadata><name>{}</name><desc>{}</desc></metadata>", esc(&w.title), esc(&protocol.join("\n")));
    for (k, (o, p)) in r.observations.iter().enumerate() {
        let ratings: Vec<String> = o.ratings.iter().map(|(p, v)| format!("{} {v}", rating_label(p))).collect();
        let mut desc = vec![o.description.clone(), format!("Status: {}", o.status.label_sv())];
        desc.extend((!o.responsible.is_empty()).then(|| format!("Ansvarig: {}", o.responsible)));
        desc.extend(o.due.map(|d| format!("Senast: {d}")));
        desc.extend((!ratings.is_empty()).then(|| format!("Betyg: {}", ratings.join(", "))));
        g += &format!(
            r#"<wpt lat="{:.7}" lon="{:.7}"><name>{} {}</name><desc>{}</desc></wpt>"#,
            p[1],
            p[0],
            k + 1,
            category_label(&o.category),
            esc(&desc.into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join("\n"))
        );
    }
    g += &format!("<trk><name>{}</name><trkseg>", esc(&r.walk.title));
    for p in &r.route_wgs84 {
        g += &format!(r#"<trkpt lat="{:.7}" lon="{:.7}"/>"#, p[1], p[0]);
    }
    g + "</trkseg></trk></gpx>"
}

pub fn to_geojson(r: &RouteReport) -> serde_json::Value {
    let mut feats = vec![serde_json::json!({
        "type": "Feature", "id": r.walk.id,
        "geometry": {"type": "LineString", "coordinates": r.route_wgs84},
        "properties": {"kind": "route", "title": r.walk.title, "length_m": r.length_m, "walking_minutes": r.walking_minutes, "status": r.walk.status}
    })];
    for (o, p) in &r.observations {
        feats.push(serde_json::json!({"type": "Feature", "id": o.id, "geometry": {"type": "Point", "coordinates": p}, "properties": {"kind": "observation", "category": o.category, "description": o.description, "status": o.status, "responsible": o.responsible, "due": o.due, "overdue": o.is_overdue(r.today), "ratings": o.ratings}}));
    }
    serde_json::json!({"type": "FeatureCollection", "features": feats})
}

/// A stop proposed for a walk.
#[derive(Debug, Clone, Serialize)]
pub struct Stop {
    pub order: usize,
    pub reason: String,
    pub x: f64,
    pub y: f64,
}

/// Orders places as a short tour from `start` (nearest neighbour, then 2-opt), in SWEREF 99 TM.
pub fn order_tour(start: [f64; 2], places: &[([f64; 2], String)]) -> Vec<Stop> {
    let mut left: Vec<usize> = (0..places.len()).collect();
    let mut tour = Vec::new();
    let mut at = start;
    while !left.is_empty() {
        let (k, _) = left
            .iter()
            .enumerate()
            .map(|(k, &i)| (k, (places[i].0[0] - at[0]).hypot(places[i].0[1] - at[1])))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        let i = left.remove(k);
        at = places[i].0;
        tour.push(i);
    }
    let d = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let pos = |t: &[usize], k: usize| if k == 0 { start } else { places[t[k - 1]].0 };
    let mut improved = true;
    while improved {
        improved = false;
        for i in 0..tour.len() {
            for j in i + 1..tour.len() {
                // Reverse tour[i..=j] if that shortens the open path.
                let a = pos(&tour, i);
                let b = places[tour[i]].0;
                let c = places[tour[j]].0;
                let before = d(a, b) + tour.get(j + 1).map(|&n| d(c, places[n].0)).unwrap_or(0.0);
                let after = d(a, c) + tour.get(j + 1).map(|&n| d(b, places[n].0)).unwrap_or(0.0);
                if after + 1e-9 < before {
                    tour[i..=j].reverse();
                    improved = true;
                }
            }
        }
    }
    tour.iter().enumerate().map(|(k, &i)| Stop { order: k + 1, reason: places[i].1.clone(), x: places[i].0[0], y: places[i].0[1] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tour_visits_every_place_once_and_uncrosses_itself() {
        let places = vec![([10.0, 0.0], "a".to_string()), ([0.0, 10.0], "b".to_string()), ([10.0, 10.0], "c".to_string()), ([5.0, 0.0], "d".to_string())];
        let t = order_tour([0.0, 0.0], &places);
        let order: Vec<&str> = t.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(order, vec!["d", "a", "c", "b"]);
    }
}

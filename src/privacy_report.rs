//! The record of personal data for the data-protection officer (the basis of the record of
//! processing, GDPR art. 30): what the store holds that can be personal data, how old it is,
//! who may read what, and the retention settings. Read-only; counted with SQL so that a store
//! of millions of points is reported without loading them.

use crate::privacy::Role;
use crate::store::{Store, WalkStore};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read the store {path}: {reason}")]
    Store { path: String, reason: String },
    #[error("cannot read the audit log {path}: {reason}")]
    Audit { path: String, reason: String },
}

/// Raw incident points of one source (an import file).
#[derive(Debug, Clone, Serialize)]
pub struct PointSource {
    pub source: String,
    pub import_id: String,
    pub points: u64,
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

/// What a role may read, as `privacy.rs` decides it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleAccess {
    pub role: &'static str,
    pub raw_points: bool,
    pub points_snapped_250m: bool,
    pub small_counts_hidden: bool,
    pub photos: bool,
    pub writes: bool,
    pub privacy_report: bool,
}

/// Retention settings in force (`serve --retain-raw-days`, `--retain-walk-text-days`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Retention {
    pub raw_days: Option<u32>,
    pub walk_text_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrivacyReport {
    pub generated_at: String,
    pub store: String,
    pub raw_points_total: u64,
    pub raw_points_by_source: Vec<PointSource>,
    /// Points per year of occurrence (Swedish local time): their age.
    pub raw_points_by_year: BTreeMap<String, u64>,
    pub oldest_point: Option<String>,
    pub walks: u64,
    /// Walks naming an organiser or carrying notes: participants' names and free text.
    pub walks_with_names_or_notes: u64,
    pub observations: u64,
    pub observations_with_text: u64,
    pub oldest_observation: Option<String>,
    pub photos: u64,
    pub audit_log: Option<String>,
    pub audit_entries: u64,
    pub oldest_audit_entry: Option<String>,
    /// Static tokens per role (the secrets themselves are stored only as SHA-256).
    pub tokens_by_role: BTreeMap<String, usize>,
    pub oidc_issuer: Option<String>,
    pub retention: Retention,
    /// When raw points were last thinned out; None: never.
    pub last_gallring: Option<String>,
    /// Raw points before this day were removed; their weeks are held only as counts.
    pub thinned_before: Option<String>,
    /// ISO weeks held only as weekly counts per DeSO and category (`incident_counts_weekly`).
    pub thinned_weeks: u64,
    pub roles: Vec<RoleAccess>,
}

/// What the report is made from besides the store.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub audit_log: Option<PathBuf>,
    pub tokens_by_role: BTreeMap<String, usize>,
    pub oidc_issuer: Option<String>,
    pub retention: Retention,
}

pub fn roles() -> Vec<RoleAccess> {
    Role::ALL
        .into_iter()
        .map(|r| RoleAccess {
            role: r.as_str(),
            raw_points: r.raw_points(),
            points_snapped_250m: r.sees_points() && !r.raw_points(),
            small_counts_hidden: r.suppresses_small_counts(),
            photos: r.reads_photos(),
            writes: r.writes(),
            privacy_report: r.reads_privacy_report(),
        })
        .collect()
}

fn has_table(c: &Connection, name: &str) -> rusqlite::Result<bool> {
    c.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get::<_, i64>(0)).map(|n| n > 0)
}

fn count(c: &Connection, sql: &str) -> rusqlite::Result<u64> {
    c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0)).map(|n| n.unwrap_or(0).max(0) as u64)
}

fn text(c: &Connection, sql: &str) -> rusqlite::Result<Option<String>> {
    c.query_row(sql, [], |r| r.get::<_, Option<String>>(0)).optional().map(Option::flatten)
}

/// Counts what the store holds; a missing table (no walks yet) counts as empty.
pub fn build(store: &Path, input: &ReportInput) -> Result<PrivacyReport, ReportError> {
    let err = |e: rusqlite::Error| ReportError::Store { path: store.display().to_string(), reason: e.to_string() };
    let c = Connection::open_with_flags(store, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
    let mut r = build_empty(store.display().to_string(), input);
    if has_table(&c, "incidents").map_err(err)? {
        points(&c, &mut r).map_err(err)?;
    }
    if has_table(&c, "walks").map_err(err)? {
        r.walks = count(&c, "SELECT count(*) FROM walks").map_err(err)?;
        r.walks_with_names_or_notes = count(&c, "SELECT count(*) FROM walks WHERE coalesce(organiser, '') <> '' OR coalesce(notes, '') <> ''").map_err(err)?;
    }
    if has_table(&c, "observations").map_err(err)? {
        r.observations = count(&c, "SELECT count(*) FROM observations").map_err(err)?;
        r.observations_with_text = count(&c, "SELECT count(*) FROM observations WHERE coalesce(description, '') <> ''").map_err(err)?;
        r.oldest_observation = text(&c, "SELECT min(created_at) FROM observations").map_err(err)?;
    }
    if has_table(&c, "photos").map_err(err)? {
        r.photos = count(&c, "SELECT count(*) FROM photos").map_err(err)?;
    }
    if has_table(&c, "gallring").map_err(err)? {
        r.last_gallring = text(&c, "SELECT max(ran_at) FROM gallring").map_err(err)?;
        r.thinned_before = text(&c, "SELECT max(before) FROM gallring").map_err(err)?;
        r.thinned_weeks = count(&c, "SELECT count(DISTINCT iso_week) FROM incident_counts_weekly").map_err(err)?;
    }
    if let Some(p) = &input.audit_log {
        audit(p, &mut r)?;
    }
    Ok(r)
}

/// The same record from any store through its readers (the PostGIS store), for a store that is
/// not a GeoPackage file. Reads every incident once: the service holds them all anyway.
pub fn build_from_store(store: &dyn Store, walks: &dyn WalkStore, input: &ReportInput) -> Result<PrivacyReport, ReportError> {
    let err = |e: crate::store::StoreError| ReportError::Store { path: store.describe(), reason: e.to_string() };
    let mut r = build_empty(store.describe(), input);
    let files: BTreeMap<String, String> = store.imports().map_err(err)?.into_iter().map(|i| (i.import_id, i.file_name)).collect();
    let mut by_source: BTreeMap<String, PointSource> = BTreeMap::new();
    for i in store.incidents().map_err(err)? {
        let at = crate::model::time::to_utc_text(i.occurred_at);
        *r.raw_points_by_year.entry(at[..4].to_string()).or_default() += 1;
        let s = by_source.entry(i.import_id.clone()).or_insert_with(|| PointSource {
            source: files.get(&i.import_id).cloned().unwrap_or_else(|| i.import_id.clone()),
            import_id: i.import_id.clone(),
            points: 0,
            oldest: None,
            newest: None,
        });
        s.points += 1;
        s.oldest = Some(s.oldest.take().map_or(at.clone(), |o| o.min(at.clone())));
        s.newest = Some(s.newest.take().map_or(at.clone(), |o| o.max(at)));
    }
    r.raw_points_by_source = by_source.into_values().collect();
    r.raw_points_by_source.sort_by(|a, b| a.oldest.cmp(&b.oldest));
    r.raw_points_total = r.raw_points_by_source.iter().map(|s| s.points).sum();
    r.oldest_point = r.raw_points_by_source.iter().filter_map(|s| s.oldest.clone()).min();
    let w = walks.walks().map_err(err)?;
    r.walks = w.len() as u64;
    r.walks_with_names_or_notes =
        w.iter().filter(|w| !w.organiser.is_empty() || !w.notes.is_empty() || w.participants.iter().any(|p| p.name.is_some())).count() as u64;
    let obs = walks.observations(None).map_err(err)?;
    r.observations = obs.len() as u64;
    r.observations_with_text = obs.iter().filter(|o| !o.description.is_empty()).count() as u64;
    r.oldest_observation = obs.iter().map(|o| crate::model::time::to_utc_text(o.created_at)).min();
    r.photos = obs.iter().filter(|o| o.has_photo).count() as u64;
    let g = store.gallring_state().map_err(err)?;
    r.last_gallring = g.last_run;
    r.thinned_before = g.thinned_before.map(|d| d.to_string());
    r.thinned_weeks = g.thinned_weeks;
    if let Some(p) = &input.audit_log {
        audit(p, &mut r)?;
    }
    Ok(r)
}

fn build_empty(store: String, input: &ReportInput) -> PrivacyReport {
    PrivacyReport {
        generated_at: crate::model::time::with_offset(chrono::Local::now().naive_local()),
        store,
        raw_points_total: 0,
        raw_points_by_source: vec![],
        raw_points_by_year: BTreeMap::new(),
        oldest_point: None,
        walks: 0,
        walks_with_names_or_notes: 0,
        observations: 0,
        observations_with_text: 0,
        oldest_observation: None,
        photos: 0,
        audit_log: input.audit_log.as_ref().map(|p| p.display().to_string()),
        audit_entries: 0,
        oldest_audit_entry: None,
        tokens_by_role: input.tokens_by_role.clone(),
        oidc_issuer: input.oidc_issuer.clone(),
        retention: input.retention.clone(),
        last_gallring: None,
        thinned_before: None,
        thinned_weeks: 0,
        roles: roles(),
    }
}

fn points(c: &Connection, r: &mut PrivacyReport) -> rusqlite::Result<()> {
    let joined = has_table(c, "imports")?;
    let sql = if joined {
        "SELECT coalesce(m.file_name, i.import_id, ''), coalesce(i.import_id, ''), count(*), min(i.occurred_at), max(i.occurred_at) \
         FROM incidents i LEFT JOIN imports m ON m.import_id = i.import_id GROUP BY i.import_id ORDER BY min(i.occurred_at)"
    } else {
        "SELECT coalesce(import_id, ''), coalesce(import_id, ''), count(*), min(occurred_at), max(occurred_at) FROM incidents GROUP BY import_id"
    };
    let mut st = c.prepare(sql)?;
    let rows = st.query_map([], |row| {
        Ok(PointSource { source: row.get(0)?, import_id: row.get(1)?, points: row.get::<_, i64>(2)?.max(0) as u64, oldest: row.get(3)?, newest: row.get(4)? })
    })?;
    for s in rows {
        r.raw_points_by_source.push(s?);
    }
    r.raw_points_total = r.raw_points_by_source.iter().map(|s| s.points).sum();
    r.oldest_point = r.raw_points_by_source.iter().filter_map(|s| s.oldest.clone()).min();
    let mut st = c.prepare("SELECT substr(occurred_at, 1, 4), count(*) FROM incidents GROUP BY 1")?;
    let years = st.query_map([], |row| Ok((row.get::<_, Option<String>>(0)?.unwrap_or_default(), row.get::<_, i64>(1)?.max(0) as u64)))?;
    for y in years {
        let (year, n) = y?;
        r.raw_points_by_year.insert(year, n);
    }
    Ok(())
}

/// Entries of the audit log (JSON lines) and the time of the first.
fn audit(path: &Path, r: &mut PrivacyReport) -> Result<(), ReportError> {
    use std::io::BufRead;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ReportError::Audit { path: path.display().to_string(), reason: e.to_string() }),
    };
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| ReportError::Audit { path: path.display().to_string(), reason: e.to_string() })?;
        if line.trim().is_empty() {
            continue;
        }
        if r.audit_entries == 0 {
            r.oldest_audit_entry = serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|v| v["time"].as_str().map(String::from));
        }
        r.audit_entries += 1;
    }
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn yes(b: bool) -> &'static str {
    if b {
        "ja"
    } else {
        "nej"
    }
}

/// A printable, self-contained page in Swedish.
pub fn to_html(r: &PrivacyReport) -> String {
    let none = "–".to_string();
    let o = |v: &Option<String>| esc(v.as_ref().unwrap_or(&none));
    let mut h = String::from("<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\"><title>Personuppgifter i lägesbild</title>");
    h.push_str("<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem;text-align:left}</style></head><body>");
    h.push_str(&format!(
        "<h1>Personuppgifter i lägesbild</h1><p>Underlag för registerförteckning (GDPR art. 30). Skapad {}. Lager: {}.</p>",
        esc(&r.generated_at),
        esc(&r.store)
    ));
    h.push_str(&format!(
        "<h2>Händelsepunkter (råa)</h2><p>{} punkter; äldsta {}.</p><table><tr><th>Källa</th><th>Punkter</th><th>Äldsta</th><th>Nyaste</th></tr>",
        r.raw_points_total,
        o(&r.oldest_point)
    ));
    for s in &r.raw_points_by_source {
        h.push_str(&format!("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(&s.source), s.points, o(&s.oldest), o(&s.newest)));
    }
    h.push_str("</table><table><tr><th>År</th><th>Punkter</th></tr>");
    for (y, n) in &r.raw_points_by_year {
        h.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>", esc(y)));
    }
    h.push_str("</table>");
    h.push_str(&format!(
        "<h2>Trygghetsvandringar</h2><p>{} vandringar, varav {} med arrangörens namn eller anteckningar; {} observationer, varav {} med fritext (äldsta {}); {} foton.</p>",
        r.walks, r.walks_with_names_or_notes, r.observations, r.observations_with_text, o(&r.oldest_observation), r.photos
    ));
    h.push_str(&format!("<h2>Granskningslogg</h2><p>{}: {} poster; äldsta {}.</p>", o(&r.audit_log), r.audit_entries, o(&r.oldest_audit_entry)));
    h.push_str("<h2>Konton och token</h2><ul>");
    for (role, n) in &r.tokens_by_role {
        h.push_str(&format!("<li>{}: {n} token (lagras endast som SHA-256)</li>", esc(role)));
    }
    h.push_str(&format!("<li>OpenID Connect: {}</li></ul>", o(&r.oidc_issuer)));
    let days = |d: Option<u32>| d.map(|d| format!("{d} dagar")).unwrap_or_else(|| "ingen gallring inställd".into());
    h.push_str(&format!(
        "<h2>Gallring</h2><p>Råa punkter: {}. Fritext, namn och foton i avslutade vandringar: {}. Senaste gallring: {}. Punkter före {} är gallrade; {} veckor finns kvar endast som antal per DeSO och kategori.</p>",
        days(r.retention.raw_days),
        days(r.retention.walk_text_days),
        r.last_gallring.as_deref().map(esc).unwrap_or_else(|| "aldrig".into()),
        r.thinned_before.as_deref().map(esc).unwrap_or_else(|| "–".into()),
        r.thinned_weeks
    ));
    h.push_str("<h2>Vem får läsa vad</h2><table><tr><th>Roll</th><th>Råa punkter</th><th>Punkter i 250 m-rutor</th><th>Små antal döljs</th><th>Foton</th><th>Skriva</th><th>Denna rapport</th></tr>");
    for a in &r.roles {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.role,
            yes(a.raw_points),
            yes(a.points_snapped_250m),
            yes(a.small_counts_hidden),
            yes(a.photos),
            yes(a.writes),
            yes(a.privacy_report)
        ));
    }
    h.push_str("</table></body></html>");
    h
}

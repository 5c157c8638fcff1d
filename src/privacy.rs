//! Who may see what, in one place: the roles, which of them see raw incident points, which see
//! them moved to a 250 m grid cell, which see small counts hidden, and how a response to each
//! role may be cached. The HTTP routes, the profile and the route report ask here.

use crate::spatial::grid::GridSpec;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Aggregates only; small counts suppressed.
    Public,
    /// Aggregates (small counts suppressed) and incident points snapped to a 250 m grid.
    Partner,
    /// Raw incident points; every access is written to the audit log.
    Analyst,
    /// Analyst and writes.
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Public, Role::Partner, Role::Analyst, Role::Editor, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim().to_ascii_lowercase())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Partner => "partner",
            Role::Analyst => "analyst",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Raw incident points (audited).
    pub fn raw_points(self) -> bool {
        self >= Role::Analyst
    }

    /// Incident points at all: raw, or snapped to the 250 m grid for partners.
    pub fn sees_points(self) -> bool {
        self >= Role::Partner
    }

    /// Public and cross-organisation views hide small counts.
    pub fn suppresses_small_counts(self) -> bool {
        self < Role::Analyst
    }

    /// Reports, the åtgärdsplan and the incidents behind EST changes (which name categories and
    /// reporters per area and week): analysts and up.
    pub fn reads_reports(self) -> bool {
        self >= Role::Analyst
    }

    /// Writes to the åtgärdsplan, bedömningar and the orsaksanalys: editors and admins.
    pub fn writes_plan(self) -> bool {
        self >= Role::Editor
    }

    /// Photos of walk observations (they can show people and number plates).
    pub fn reads_photos(self) -> bool {
        self >= Role::Partner
    }

    /// Imports, undo and walk edits.
    pub fn writes(self) -> bool {
        self >= Role::Editor
    }

    /// The record of personal data (`GET /api/privacy-report`) is for the administrator.
    pub fn reads_privacy_report(self) -> bool {
        self == Role::Admin
    }

    /// The smallest count this role may see, or None when every count is shown.
    pub fn min_count(self, min: u64) -> Option<u64> {
        self.suppresses_small_counts().then_some(min)
    }
}

/// Whether a caller is held to `serve --rate-limit-anonymous`: only those without an accepted
/// token. Signed-in roles are named people or systems the municipality vouches for.
pub fn rate_limited(authenticated: bool) -> bool {
    !authenticated
}

/// Whether a count from 1 to `min − 1` must be hidden. Zero stays visible: it identifies no one.
pub fn is_small(n: u64, min: u64) -> bool {
    n > 0 && n < min
}

/// The same rule for a count stored as a number (social-services counts are indicator values).
pub fn is_small_value(v: f64, min: u64) -> bool {
    v > 0.0 && v < min as f64
}

/// A field name with a static lifetime, for the count fields of a layer that come from data
/// (social-services indicators named in the catalogue). Each name is leaked once: the set is
/// bounded by the catalogue.
pub fn count_field(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = set.get(name) {
        return *n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Counts from 1 to `min − 1` become null, with `<field>_suppressed: true`, and so do the rates
/// derived from them (a rate and a population give the count back). Zero stays zero.
pub fn suppress(p: &mut Map<String, Value>, fields: &[&str], min: u64) {
    for f in fields {
        if let Some(v) = p.get(*f).and_then(|v| v.as_f64()) {
            if v > 0.0 && v < min as f64 {
                p.insert((*f).to_string(), Value::Null);
                p.insert(format!("{f}_suppressed"), Value::Bool(true));
                for rate in [format!("{f}_per_1000"), format!("{f}_eb_per_1000"), format!("{f}_seb_per_1000")] {
                    if p.contains_key(&rate) {
                        p.insert(rate, Value::Null);
                    }
                }
            }
        }
    }
}

/// Side of the grid cell a partner's incident point moves to.
pub const PARTNER_CELL_M: f64 = 250.0;

/// A partner's view of an incident point: the centre of its 250 m cell and the cell's id.
pub fn snap_for_partner(x: f64, y: f64) -> (geo::Point<f64>, String) {
    let g = GridSpec::square(PARTNER_CELL_M);
    let cell = g.cell(&g.key_of(x, y));
    (geo::Point::new(cell.centre[0], cell.centre[1]), cell.id)
}

/// The properties of an incident a partner keeps; the rest could identify a report.
pub const PARTNER_INCIDENT_FIELDS: [&str; 3] = ["category", "category_sv", "iso_week"];

/// A partner's view of an incident: the point moves to the centre of its 250 m cell, only
/// category and week remain, and the id becomes opaque (the raw id would link partner views to
/// raw records). Returns the properties, the snapped point and the id.
pub fn partner_incident(props: &Map<String, Value>, at: &geo::Point<f64>, id: &str) -> (Map<String, Value>, geo::Point<f64>, String) {
    use sha2::{Digest, Sha256};
    let (snapped, cell_id) = snap_for_partner(at.x(), at.y());
    let mut out = Map::new();
    for k in PARTNER_INCIDENT_FIELDS {
        if let Some(v) = props.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out.insert("cell_id".into(), cell_id.into());
    out.insert("precision".into(), "grid_250m".into());
    let hash = format!("{:x}", Sha256::digest(id.as_bytes()));
    (out, snapped, format!("p{}", &hash[..16]))
}

/// How much of a trygghetsvandring a role sees. Descriptions, notes, protocols, participants'
/// names, who edited what, and photos can hold personal data: partner and up see everything;
/// anonymous and public callers see what a notice board could show. Items, the walk API and
/// the route report all ask here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkView {
    /// Everything, photos included.
    Full,
    /// Observations: category, status, due date, overdue and a position snapped to the centre
    /// of its 250 m cell; walks: no free text except the title, meeting point and organisations.
    Public,
}

pub fn walk_view(role: Role) -> WalkView {
    if role >= Role::Partner {
        WalkView::Full
    } else {
        WalkView::Public
    }
}

/// The properties of an observation the public view keeps.
pub const PUBLIC_OBSERVATION_FIELDS: [&str; 7] = ["id", "walk_id", "category", "category_sv", "status", "due", "overdue"];

/// The properties of a walk the public view keeps: the invitation, not the protocol.
pub const PUBLIC_WALK_FIELDS: [&str; 9] = ["id", "title", "planned_at", "area", "status", "meeting_point", "organisations", "dark_hours", "stops"];

impl WalkView {
    pub fn sees_photos(self) -> bool {
        self == WalkView::Full
    }

    /// The protocol (notes, participants' names, history) is for partner and up.
    pub fn sees_protocol(self) -> bool {
        self == WalkView::Full
    }

    /// An observation's properties and SWEREF 99 TM position as this view shows them.
    pub fn observation(self, mut props: Map<String, Value>, x: f64, y: f64) -> (Map<String, Value>, geo::Point<f64>) {
        match self {
            WalkView::Full => (props, geo::Point::new(x, y)),
            WalkView::Public => {
                props.retain(|k, _| PUBLIC_OBSERVATION_FIELDS.contains(&k.as_str()));
                (props, snap_for_partner(x, y).0)
            }
        }
    }

    /// A walk's properties as this view shows them. Organisations stay (they are not people);
    /// a stop keeps its place but not its free text.
    pub fn walk(self, mut props: Map<String, Value>) -> Map<String, Value> {
        if self == WalkView::Public {
            props.retain(|k, _| PUBLIC_WALK_FIELDS.contains(&k.as_str()));
            if let Some(Value::Array(stops)) = props.get_mut("stops") {
                for s in stops.iter_mut().filter_map(|s| s.as_object_mut()) {
                    s.remove("look_at");
                }
            }
        }
        props
    }
}

/// What a response carries, for its caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Aggregates, reference data, metadata, errors: the same for every caller of a role.
    Aggregate,
    /// Map tiles of aggregates (cached longer: the map asks for many).
    Tile,
    /// Incident points, photos, route reports: never in a shared cache.
    Restricted,
    /// Records that change by edits and carry an ETag (walks, observations).
    Editable,
    /// The web map's own files: the same for everyone.
    Static,
    /// A refusal or error: kept by no cache, so that a retry with a token is answered afresh.
    Error,
}

/// The Cache-Control for a role and resource. Only the public role's aggregates may sit in a
/// shared cache; a partner's or analyst's response is theirs alone (`private`).
pub fn cache_control(role: Role, what: Resource) -> &'static str {
    match (what, role) {
        (Resource::Static, _) => "public, max-age=300",
        (Resource::Error, _) => "no-store",
        (Resource::Editable, _) => "private, no-cache",
        // Data answers carry the data generation's ETag and are revalidated on every use
        // (`no-cache`): an import or an undo then shows on the next request, and an unchanged
        // answer costs a 304. Only the public role's may sit in a shared cache.
        (Resource::Restricted, _) => "private, no-cache",
        (Resource::Tile | Resource::Aggregate, Role::Public) => "public, no-cache",
        (Resource::Tile | Resource::Aggregate, _) => "private, no-cache",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_public_role_gets_shared_caching_of_aggregates() {
        for r in Role::ALL {
            let cc = cache_control(r, Resource::Aggregate);
            assert_eq!(cc.starts_with("public"), r == Role::Public, "{r:?}: {cc}");
            assert!(cache_control(r, Resource::Restricted).starts_with("private"));
        }
    }

    #[test]
    fn a_count_of_three_is_hidden_with_its_rates_and_zero_is_kept() {
        let mut p = Map::new();
        p.insert("incidents".into(), 3.into());
        p.insert("incidents_per_1000".into(), 2.5.into());
        p.insert("n_klotter".into(), 0.into());
        suppress(&mut p, &["incidents", "n_klotter"], 5);
        assert_eq!(p["incidents"], Value::Null);
        assert_eq!(p["incidents_suppressed"], Value::Bool(true));
        assert_eq!(p["incidents_per_1000"], Value::Null);
        assert_eq!(p["n_klotter"], 0);
    }

    #[test]
    fn the_public_sees_an_observation_without_free_text_at_the_centre_of_its_cell() {
        let mut p = Map::new();
        for (k, v) in [
            ("id", "o-1"),
            ("category", "belysning"),
            ("status", "ny"),
            ("due", "2026-01-31"),
            ("description", "Anna Svensson bor här"),
            ("created_by", "editor:anna"),
        ] {
            p.insert(k.into(), v.into());
        }
        let (public, at) = walk_view(Role::Public).observation(p.clone(), 667_010.0, 6_592_240.0);
        let mut keys: Vec<&str> = public.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, vec!["category", "due", "id", "status"]);
        assert_eq!((at.x(), at.y()), (667_125.0, 6_592_125.0), "the same cell centre as a partner's incident point");
        let (full, at) = walk_view(Role::Partner).observation(p.clone(), 667_010.0, 6_592_240.0);
        assert_eq!((full, (at.x(), at.y())), (p, (667_010.0, 6_592_240.0)));
    }

    #[test]
    fn the_public_sees_a_walk_without_protocol_names_or_stop_notes() {
        let v = serde_json::json!({"id": "w", "title": "Kvällsvandring", "notes_before": "Protokoll", "participants": [{"organisation": "Polisen", "name": "Per"}],
            "organisations": "Polisen", "stops": [{"lon": 17.9, "lat": 59.4, "look_at": "Kolla belysningen hos Per"}]});
        let Value::Object(m) = v else { unreachable!() };
        let public = walk_view(Role::Public).walk(m.clone());
        assert!(!public.contains_key("notes_before") && !public.contains_key("participants"));
        assert_eq!(public["stops"], serde_json::json!([{"lon": 17.9, "lat": 59.4}]));
        assert_eq!(walk_view(Role::Admin).walk(m.clone()), m);
    }

    #[test]
    fn a_partner_point_moves_to_the_centre_of_its_250_m_cell() {
        // 667 010 lies in the cell 667 000–667 250, whose centre is 667 125 (same for north).
        let (p, _) = snap_for_partner(667_010.0, 6_592_240.0);
        assert_eq!((p.x(), p.y()), (667_125.0, 6_592_125.0));
    }
}

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
    fn a_partner_point_moves_to_the_centre_of_its_250_m_cell() {
        // 667 010 lies in the cell 667 000–667 250, whose centre is 667 125 (same for north).
        let (p, _) = snap_for_partner(667_010.0, 6_592_240.0);
        assert_eq!((p.x(), p.y()), (667_125.0, 6_592_125.0));
    }
}

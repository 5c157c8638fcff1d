//! Trygghetsvandring over HTTP: walks and observations (create, read, update, delete) with
//! optimistic concurrency (ETag / If-Match: missing → 428, stale → 412), photos, history, the
//! route report and suggested stops. Writes need the `editor` role.

use super::auth::{Caller, Role};
use super::error::{check_params, ApiError};
use super::input::{self, InputError, Validate};
use super::AppState;
use crate::privacy::{cache_control, walk_view, Resource, WalkView};
use crate::store::WalkStore;
use crate::walks::{self, photo, report, HistoryEntry, Observation, ObservationStatus, Participant, Stop, Walk, WalkStatus};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the walk endpoints need besides the layer service.
#[derive(Clone)]
pub struct WalkService {
    pub store: Arc<dyn WalkStore>,
    pub rules: Arc<walks::WalkRules>,
    /// Serialises writes from this process, so two updates of one version cannot both pass.
    pub write_lock: Arc<std::sync::Mutex<()>>,
}

fn service(s: &AppState) -> Result<&WalkService, ApiError> {
    s.walks.as_ref().ok_or_else(|| ApiError::NotFound("walks need a GeoPackage store (lagesbild serve)".into()))
}

fn require_editor(c: &Caller) -> Result<(), ApiError> {
    match c.role {
        Role::Editor | Role::Admin => Ok(()),
        Role::Public if c.fingerprint.is_none() => Err(ApiError::Unauthorized("writing needs a token with the editor role".into())),
        _ => Err(ApiError::Forbidden("writing needs the editor role".into())),
    }
}

pub(super) fn who(c: &Caller) -> String {
    match &c.user {
        // A signed-in person is named, not a token fingerprint.
        Some(u) => format!("{}:{}", c.role.as_str(), u.preferred_username.as_deref().unwrap_or(&u.sub)),
        None => format!("{}:{}", c.role.as_str(), c.fingerprint.clone().unwrap_or_default()),
    }
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).expect("ASCII")
}

/// The version in `If-Match`: missing → 428.
pub(super) fn if_match(h: &HeaderMap) -> Result<i64, ApiError> {
    let v = h.get(header::IF_MATCH).ok_or(ApiError::PreconditionRequired("send If-Match with the ETag you read (e.g. \"v3\")".into()))?;
    let t = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not text".into()))?.trim().trim_start_matches("W/").trim_matches('"');
    t.trim_start_matches('v').parse().map_err(|_| ApiError::BadRequest(format!("If-Match '{t}' is not an ETag of this service (\"v3\")")))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

fn to_3006(lonlat: &[[f64; 2]]) -> Result<Vec<[f64; 2]>, ApiError> {
    if lonlat.iter().any(|p| !(-180.0..=180.0).contains(&p[0]) || !(-90.0..=90.0).contains(&p[1])) {
        return Err(ApiError::Unprocessable("coordinates must be longitude, latitude in degrees (WGS84)".into()));
    }
    Ok(crate::crs::from_wgs84(lonlat)?)
}

fn to_wgs(g: &geo::Geometry<f64>) -> geo::Geometry<f64> {
    crate::crs::to_wgs84(g).unwrap_or_else(|_| g.clone())
}

fn coords_of(g: &geo::Geometry<f64>) -> Vec<[f64; 2]> {
    use geo::CoordsIter;
    g.coords_iter().map(|c| [c.x, c.y]).collect()
}

fn route_from(v: &Value) -> Result<geo::LineString<f64>, ApiError> {
    let bad = || ApiError::Unprocessable("route must be a GeoJSON LineString in WGS84: {\"type\":\"LineString\",\"coordinates\":[[lon,lat],…]}".into());
    if v.get("type").and_then(|t| t.as_str()) != Some("LineString") {
        return Err(bad());
    }
    let pts: Vec<[f64; 2]> = v
        .get("coordinates")
        .and_then(|c| c.as_array())
        .ok_or_else(bad)?
        .iter()
        .map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    Ok(geo::LineString::from(to_3006(&pts)?.into_iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()))
}

fn point_from(v: &Value) -> Result<geo::Point<f64>, ApiError> {
    let bad = || ApiError::Unprocessable("point must be a GeoJSON Point in WGS84: {\"type\":\"Point\",\"coordinates\":[lon,lat]}".into());
    if v.get("type").and_then(|t| t.as_str()) != Some("Point") {
        return Err(bad());
    }
    let c = v.get("coordinates").and_then(|c| c.as_array()).ok_or_else(bad)?;
    let p = [c.first().and_then(|x| x.as_f64()).ok_or_else(bad)?, c.get(1).and_then(|x| x.as_f64()).ok_or_else(bad)?];
    let q = to_3006(&[p])?[0];
    Ok(geo::Point::new(q[0], q[1]))
}

fn parse_when(s: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    crate::model::parse_datetime(s).ok_or_else(|| ApiError::Unprocessable(format!("planned_at '{s}' is not a date and time (2025-11-20T18:00)")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WalkInput {
    title: String,
    planned_at: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    organiser: String,
    #[serde(default)]
    organisations: Vec<String>,
    route: Value,
    #[serde(default)]
    status: Option<WalkStatus>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    participants: Vec<Participant>,
    #[serde(default)]
    meeting_point: String,
    #[serde(default)]
    stops: Vec<Stop>,
    #[serde(default)]
    dark_hours: bool,
    #[serde(default)]
    notes_before: String,
    #[serde(default)]
    notes_after: String,
}

/// POST and PUT of a walk accept and refuse the same things.
impl Validate for WalkInput {
    fn validate(&self) -> Result<(), InputError> {
        input::title("title", &self.title)?;
        input::text_max("planned_at", &self.planned_at, input::SHORT)?;
        input::text_max("area", &self.area, input::SHORT)?;
        input::text_max("organiser", &self.organiser, input::SHORT)?;
        input::texts("organisations", &self.organisations)?;
        input::text_max("notes", &self.notes, input::LONG)?;
        input::text_max("meeting_point", &self.meeting_point, input::SHORT)?;
        input::text_max("notes_before", &self.notes_before, input::LONG)?;
        input::text_max("notes_after", &self.notes_after, input::LONG)?;
        for p in &self.participants {
            input::text_max("participants", &p.organisation, input::SHORT)?;
            p.name.as_deref().map_or(Ok(()), |n| input::text_max("participants", n, input::SHORT))?;
        }
        self.stops.iter().try_for_each(|s| input::text_max("stops", &s.look_at, input::SHORT))
    }
}

fn walk_json(w: &Walk, view: WalkView) -> Value {
    let g = to_wgs(&w.route.clone().into());
    let props = match serde_json::to_value(w) {
        Ok(Value::Object(m)) => view.walk(m),
        _ => serde_json::Map::new(),
    };
    json!({"type": "Feature", "id": w.id, "geometry": {"type": "LineString", "coordinates": coords_of(&g)}, "properties": props})
}

/// The plan fields of a walk input, checked.
fn plan_of(input: &WalkInput) -> Result<(), ApiError> {
    walks::validate_plan(&input.participants, &input.stops).map_err(ApiError::from)
}

pub(super) fn with_etag(mut r: Response, v: i64) -> Response {
    r.headers_mut().insert(header::ETAG, etag(v));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(Role::Editor, Resource::Editable)));
    r
}

pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

fn find_walk(ws: &WalkService, id: &str) -> Result<Walk, ApiError> {
    ws.store.walks()?.into_iter().find(|w| w.id == id).ok_or_else(|| ApiError::NotFound(format!("no walk '{id}'")))
}

fn find_obs(ws: &WalkService, id: &str) -> Result<Observation, ApiError> {
    ws.store.observations(None)?.into_iter().find(|o| o.id == id).ok_or_else(|| ApiError::NotFound(format!("no observation '{id}'")))
}

pub async fn list_walks(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["status", "area", "from", "to"])?;
    let ws = service(&s)?.clone();
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let (status, area) = (get("status"), get("area"));
    let from = get("from")
        .map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("from '{d}' is not a date"))))
        .transpose()?;
    let to = get("to")
        .map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("to '{d}' is not a date"))))
        .transpose()?;
    let walks = blocking(move || Ok(ws.store.walks()?)).await?;
    let feats: Vec<Value> = walks
        .iter()
        .filter(|w| status.as_deref().is_none_or(|st| w.status.as_str() == st))
        .filter(|w| area.as_deref().is_none_or(|a| crate::model::fold(&w.area).contains(&crate::model::fold(a))))
        .filter(|w| from.is_none_or(|d| w.planned_at.date() >= d) && to.is_none_or(|d| w.planned_at.date() <= d))
        .map(|w| walk_json(w, walk_view(caller.role)))
        .collect();
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], json!({"type": "FeatureCollection", "features": feats}).to_string()).into_response())
}

pub async fn create_walk(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let ws = service(&s)?.clone();
    let input: WalkInput = parse_json(&body)?;
    input.validate()?;
    let route = route_from(&input.route)?;
    walks::validate_route(&route, &ws.rules).map_err(ApiError::from)?;
    plan_of(&input)?;
    let now = chrono::Local::now().naive_local();
    let w = Walk {
        id: walks::new_id("w"),
        title: input.title.trim().into(),
        planned_at: parse_when(&input.planned_at)?,
        area: input.area,
        organiser: input.organiser,
        organisations: input.organisations,
        route,
        status: input.status.unwrap_or(WalkStatus::Planerad),
        notes: input.notes,
        participants: input.participants,
        meeting_point: input.meeting_point,
        stops: input.stops,
        dark_hours: input.dark_hours,
        notes_before: input.notes_before,
        notes_after: input.notes_after,
        created_by: who(&caller),
        created_at: now,
        updated_by: who(&caller),
        updated_at: now,
        version: 1,
    };
    let w2 = w.clone();
    blocking(move || {
        let _g = ws.write_lock.lock();
        Ok(ws.store.insert_walk(&w2)?)
    })
    .await?;
    let mut r = (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/geo+json")], walk_json(&w, WalkView::Full).to_string()).into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&format!("/walks/{}", w.id)).expect("ASCII"));
    Ok(with_etag(r, w.version))
}

pub async fn get_walk(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &[])?;
    let ws = service(&s)?.clone();
    let w = blocking(move || find_walk(&ws, &id)).await?;
    Ok(with_etag(([(header::CONTENT_TYPE, "application/geo+json")], walk_json(&w, walk_view(caller.role)).to_string()).into_response(), w.version))
}

pub async fn update_walk(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let expected = if_match(&headers)?;
    let ws = service(&s)?.clone();
    let input: WalkInput = parse_json(&body)?;
    input.validate()?;
    let route = route_from(&input.route)?;
    walks::validate_route(&route, &ws.rules).map_err(ApiError::from)?;
    plan_of(&input)?;
    let planned_at = parse_when(&input.planned_at)?;
    let by = who(&caller);
    let w = blocking(move || {
        let _g = ws.write_lock.lock();
        let old = find_walk(&ws, &id)?;
        let w = Walk {
            title: input.title.trim().into(),
            planned_at,
            area: input.area,
            organiser: input.organiser,
            organisations: input.organisations,
            route,
            status: input.status.unwrap_or(old.status),
            notes: input.notes,
            participants: input.participants,
            meeting_point: input.meeting_point,
            stops: input.stops,
            dark_hours: input.dark_hours,
            notes_before: input.notes_before,
            notes_after: input.notes_after,
            updated_by: by,
            updated_at: chrono::Local::now().naive_local(),
            version: expected + 1,
            ..old
        };
        ws.store.replace_walk(&w, expected).map_err(|e| ApiError::from_write(e, "walk"))?;
        Ok(w)
    })
    .await?;
    Ok(with_etag(([(header::CONTENT_TYPE, "application/geo+json")], walk_json(&w, WalkView::Full).to_string()).into_response(), w.version))
}

pub async fn delete_walk(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let expected = if_match(&headers)?;
    let ws = service(&s)?.clone();
    blocking(move || {
        let _g = ws.write_lock.lock();
        ws.store.delete_walk(&id, expected).map_err(|e| ApiError::from_write(e, "walk"))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservationInput {
    point: Value,
    category: String,
    #[serde(default)]
    ratings: BTreeMap<String, u8>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    status: Option<ObservationStatus>,
    #[serde(default)]
    off_route: bool,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    insats: String,
    /// Set by a phone for an observation queued offline, so that a replay stores it once.
    #[serde(default)]
    client_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservationPatch {
    point: Option<Value>,
    category: Option<String>,
    ratings: Option<BTreeMap<String, u8>>,
    description: Option<String>,
    responsible: Option<String>,
    status: Option<ObservationStatus>,
    off_route: Option<bool>,
    /// A date (2026-03-31); an empty string removes the due date.
    due: Option<String>,
    insats: Option<String>,
}

/// The rating names are keys chosen by the client: they are text fields too.
fn rating_keys(ratings: &BTreeMap<String, u8>) -> Result<(), InputError> {
    ratings.keys().try_for_each(|k| input::text_max("ratings", k, input::SHORT))
}

impl Validate for ObservationInput {
    fn validate(&self) -> Result<(), InputError> {
        input::title("category", &self.category)?;
        rating_keys(&self.ratings)?;
        input::text_max("description", &self.description, input::LONG)?;
        input::text_max("responsible", &self.responsible, input::SHORT)?;
        self.due.as_deref().map_or(Ok(()), |d| input::text_max("due", d, input::SHORT))?;
        input::text_max("insats", &self.insats, input::SHORT)?;
        input::text_max("client_id", &self.client_id, 64)
    }
}

/// The same rules as [`ObservationInput`] for the fields a patch carries.
impl Validate for ObservationPatch {
    fn validate(&self) -> Result<(), InputError> {
        self.category.as_deref().map_or(Ok(()), |c| input::title("category", c))?;
        self.ratings.as_ref().map_or(Ok(()), rating_keys)?;
        self.description.as_deref().map_or(Ok(()), |d| input::text_max("description", d, input::LONG))?;
        self.responsible.as_deref().map_or(Ok(()), |r| input::text_max("responsible", r, input::SHORT))?;
        self.due.as_deref().map_or(Ok(()), |d| input::text_max("due", d, input::SHORT))?;
        self.insats.as_deref().map_or(Ok(()), |i| input::text_max("insats", i, input::SHORT))
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// `due` as given: empty means none.
fn parse_due(s: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map(Some).map_err(|_| ApiError::Unprocessable(format!("due '{s}' is not a date (2026-03-31)")))
}

pub(crate) fn obs_json(o: &Observation, view: WalkView) -> Value {
    let mut props = match serde_json::to_value(o) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    props.insert("category_sv".into(), walks::category_label(&o.category).into());
    props.insert("overdue".into(), o.is_overdue(today()).into());
    let (props, at) = view.observation(props, o.point.x(), o.point.y());
    let c = coords_of(&to_wgs(&at.into()));
    json!({"type": "Feature", "id": o.id, "geometry": {"type": "Point", "coordinates": c.first().copied().unwrap_or([0.0, 0.0])}, "properties": props})
}

pub async fn list_observations(State(s): State<AppState>, caller: Caller, Path(walk): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &[])?;
    let ws = service(&s)?.clone();
    let obs = blocking(move || {
        find_walk(&ws, &walk)?;
        Ok(ws.store.observations(Some(&walk))?)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        json!({"type": "FeatureCollection", "features": obs.iter().map(|o| obs_json(o, walk_view(caller.role))).collect::<Vec<_>>()}).to_string(),
    )
        .into_response())
}

fn bool_param(v: Option<String>, k: &str) -> Result<Option<bool>, ApiError> {
    match v.as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(o) => Err(ApiError::BadRequest(format!("{k} must be true or false, got '{o}'"))),
    }
}

/// `GET /observations?status=ny&responsible=…&open=true&overdue=true`: the follow-up list,
/// overdue findings first, then by due date.
pub async fn all_observations(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["status", "responsible", "open", "overdue"])?;
    let ws = service(&s)?.clone();
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let (status, responsible) = (get("status"), get("responsible"));
    let (open, overdue) = (bool_param(get("open"), "open")?, bool_param(get("overdue"), "overdue")?);
    let mut obs = blocking(move || Ok(ws.store.observations(None)?)).await?;
    let day = today();
    obs.sort_by_key(|o| (!o.is_overdue(day), o.due.is_none(), o.due, o.created_at));
    let feats: Vec<Value> = obs
        .iter()
        .filter(|o| status.as_deref().is_none_or(|st| o.status.as_str() == st))
        .filter(|o| responsible.as_deref().is_none_or(|r| crate::model::fold(&o.responsible) == crate::model::fold(r)))
        .filter(|o| open.is_none_or(|x| x == o.status.is_open()))
        .filter(|o| overdue.is_none_or(|x| x == o.is_overdue(day)))
        .map(|o| obs_json(o, walk_view(caller.role)))
        .collect();
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], json!({"type": "FeatureCollection", "features": feats}).to_string()).into_response())
}

pub async fn create_observation(State(s): State<AppState>, caller: Caller, Path(walk): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let ws = service(&s)?.clone();
    let input: ObservationInput = parse_json(&body)?;
    input.validate()?;
    let point = point_from(&input.point)?;
    let due = parse_due(input.due.as_deref().unwrap_or(""))?;
    let by = who(&caller);
    let (o, created) = blocking(move || {
        let w = find_walk(&ws, &walk)?;
        // One lock around the lookup and the insert: two replays of one queued observation
        // cannot both miss it.
        let _g = ws.write_lock.lock();
        if !input.client_id.is_empty() {
            if let Some(o) = ws.store.observations(Some(&walk))?.into_iter().find(|o| o.client_id == input.client_id) {
                return Ok((o, false));
            }
        }
        let now = chrono::Local::now().naive_local();
        let o = Observation {
            id: walks::new_id("o"),
            walk_id: w.id.clone(),
            point,
            category: input.category,
            ratings: input.ratings,
            description: input.description,
            responsible: input.responsible,
            status: input.status.unwrap_or(ObservationStatus::Ny),
            off_route: input.off_route,
            has_photo: false,
            due,
            insats: input.insats,
            client_id: input.client_id,
            created_by: by.clone(),
            created_at: now,
            updated_by: by.clone(),
            updated_at: now,
            version: 1,
        };
        walks::validate_observation(&o, &w.route, &ws.rules).map_err(ApiError::from)?;
        let h = HistoryEntry {
            observation_id: o.id.clone(),
            version: 1,
            changed_by: by,
            changed_at: now,
            changes: json!({"created": {"status": o.status, "category": o.category}}).to_string(),
        };
        ws.store.insert_observation(&o, &h)?;
        Ok((o, true))
    })
    .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let mut r = (status, [(header::CONTENT_TYPE, "application/geo+json")], obs_json(&o, WalkView::Full).to_string()).into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&format!("/observations/{}", o.id)).expect("ASCII"));
    Ok(with_etag(r, o.version))
}

pub async fn get_observation(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &[])?;
    let ws = service(&s)?.clone();
    let o = blocking(move || find_obs(&ws, &id)).await?;
    Ok(with_etag(([(header::CONTENT_TYPE, "application/geo+json")], obs_json(&o, walk_view(caller.role)).to_string()).into_response(), o.version))
}

pub async fn update_observation(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let expected = if_match(&headers)?;
    let ws = service(&s)?.clone();
    let patch: ObservationPatch = parse_json(&body)?;
    patch.validate()?;
    let point = patch.point.as_ref().map(point_from).transpose()?;
    let due = patch.due.as_deref().map(parse_due).transpose()?;
    let by = who(&caller);
    let o = blocking(move || {
        let _g = ws.write_lock.lock();
        let old = find_obs(&ws, &id)?;
        let walk = find_walk(&ws, &old.walk_id)?;
        let mut o = old.clone();
        let mut changes = serde_json::Map::new();
        macro_rules! set {
            ($field:ident, $v:expr) => {
                if let Some(v) = $v {
                    if o.$field != v {
                        changes.insert(stringify!($field).into(), json!([o.$field, v]));
                        o.$field = v;
                    }
                }
            };
        }
        set!(category, patch.category);
        set!(ratings, patch.ratings);
        set!(description, patch.description);
        set!(responsible, patch.responsible);
        set!(status, patch.status);
        set!(off_route, patch.off_route);
        set!(due, due);
        set!(insats, patch.insats);
        if let Some(p) = point {
            changes.insert("point".into(), json!("moved"));
            o.point = p;
        }
        walks::validate_observation(&o, &walk.route, &ws.rules).map_err(ApiError::from)?;
        let now = chrono::Local::now().naive_local();
        o.version = expected + 1;
        o.updated_by = by.clone();
        o.updated_at = now;
        let h = HistoryEntry { observation_id: o.id.clone(), version: o.version, changed_by: by, changed_at: now, changes: Value::Object(changes).to_string() };
        ws.store.replace_observation(&o, expected, &h, None).map_err(|e| ApiError::from_write(e, "observation"))?;
        Ok(o)
    })
    .await?;
    Ok(with_etag(([(header::CONTENT_TYPE, "application/geo+json")], obs_json(&o, WalkView::Full).to_string()).into_response(), o.version))
}

pub async fn delete_observation(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let expected = if_match(&headers)?;
    let ws = service(&s)?.clone();
    blocking(move || {
        let _g = ws.write_lock.lock();
        ws.store.delete_observation(&id, expected).map_err(|e| ApiError::from_write(e, "observation"))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Partner and up: the photo, and the protocol and history, which name people.
fn require_full_view(c: &Caller, what: &str) -> Result<(), ApiError> {
    if walk_view(c.role).sees_photos() {
        return Ok(());
    }
    Err(if c.fingerprint.is_none() && c.user.is_none() {
        ApiError::Unauthorized(format!("{what} need a token"))
    } else {
        ApiError::Forbidden(format!("{what} need role partner or higher"))
    })
}

pub async fn history(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    require_full_view(&caller, "histories")?;
    let ws = service(&s)?.clone();
    let h = blocking(move || {
        find_obs(&ws, &id)?;
        Ok(ws.store.history(&id)?)
    })
    .await?;
    let items: Vec<Value> = h.iter().map(|e| json!({"version": e.version, "changed_by": e.changed_by, "changed_at": e.changed_at.format("%Y-%m-%dT%H:%M:%S").to_string(), "changes": serde_json::from_str::<Value>(&e.changes).unwrap_or(Value::Null)})).collect();
    Ok(axum::Json(json!({"observation": h.first().map(|e| e.observation_id.clone()), "history": items})).into_response())
}

pub async fn put_photo(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    require_editor(&caller)?;
    let expected = if_match(&headers)?;
    let ws = service(&s)?.clone();
    let (mime, clean) = photo::sanitise(&body, ws.rules.max_photo_bytes).map_err(|e| ApiError::Unprocessable(format!("photo: {e}")))?;
    // Read before the EXIF is gone: where the photo was taken is where the finding is.
    let taken_at = photo::exif_position(&body).and_then(|p| to_3006(&[p]).ok()).map(|q| geo::Point::new(q[0][0], q[0][1]));
    let by = who(&caller);
    let o = blocking(move || {
        let _g = ws.write_lock.lock();
        let mut o = find_obs(&ws, &id)?;
        let now = chrono::Local::now().naive_local();
        let mut changes = json!({"photo": [mime, clean.len()]});
        if let Some(p) = taken_at {
            if let Some(moved) = place_from_photo(&ws, &o, p)? {
                changes["point"] = json!("from the photo's position");
                o = moved;
            }
        }
        o.version = expected + 1;
        o.has_photo = true;
        o.updated_by = by.clone();
        o.updated_at = now;
        let h = HistoryEntry { observation_id: o.id.clone(), version: o.version, changed_by: by, changed_at: now, changes: changes.to_string() };
        ws.store.replace_observation(&o, expected, &h, Some((mime, &clean))).map_err(|e| ApiError::from_write(e, "observation"))?;
        Ok(o)
    })
    .await?;
    Ok(with_etag(([(header::CONTENT_TYPE, "application/geo+json")], obs_json(&o, WalkView::Full).to_string()).into_response(), o.version))
}

/// The observation moved to where its photo was taken: kept as on the route when it is near
/// it, marked off the route when farther, and None (unchanged) outside the municipality.
fn place_from_photo(ws: &WalkService, o: &Observation, p: geo::Point<f64>) -> Result<Option<Observation>, ApiError> {
    let walk = find_walk(ws, &o.walk_id)?;
    let mut moved = Observation { point: p, ..o.clone() };
    if walks::validate_observation(&moved, &walk.route, &ws.rules).is_ok() {
        return Ok(Some(moved));
    }
    moved.off_route = true;
    Ok(walks::validate_observation(&moved, &walk.route, &ws.rules).is_ok().then_some(moved))
}

pub async fn get_photo(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    // Photos can show people: partner and up.
    require_full_view(&caller, "photos")?;
    let ws = service(&s)?.clone();
    let p = blocking(move || Ok(ws.store.photo(&id)?)).await?;
    let (mime, bytes) = p.ok_or_else(|| ApiError::NotFound("no photo for this observation".into()))?;
    let mut r = ([(header::CONTENT_TYPE, mime)], bytes).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(caller.role, Resource::Restricted)));
    Ok(r)
}

fn date_param(pairs: &[(String, String)], k: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    pairs
        .iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("{k} '{v}' is not a date (2025-03-14)"))))
        .transpose()
}

/// A walk as `view` may show it: the public view loses the protocol, names and editors.
fn walk_for_view(w: Walk, view: WalkView) -> Walk {
    if view.sees_protocol() {
        return w;
    }
    let participants = w.participants.iter().map(|p| Participant { organisation: p.organisation.clone(), name: None }).collect();
    let stops = w.stops.iter().map(|s| Stop { look_at: String::new(), ..s.clone() }).collect();
    Walk {
        notes: String::new(),
        notes_before: String::new(),
        notes_after: String::new(),
        organiser: String::new(),
        created_by: String::new(),
        updated_by: String::new(),
        participants,
        stops,
        ..w
    }
}

/// An observation as `view` may show it: the public view keeps category, status and due date
/// at the centre of its 250 m cell.
fn observation_for_view(o: Observation, view: WalkView) -> Observation {
    let (_, at) = view.observation(serde_json::Map::new(), o.point.x(), o.point.y());
    if view.sees_protocol() {
        return o;
    }
    Observation {
        point: at,
        ratings: BTreeMap::new(),
        description: String::new(),
        responsible: String::new(),
        insats: String::new(),
        client_id: String::new(),
        has_photo: false,
        created_by: String::new(),
        updated_by: String::new(),
        ..o
    }
}

/// At most this many photos go into one printed report (each at most 5 MB).
const MAX_REPORT_PHOTOS: usize = 40;

fn photo_uris(ws: &WalkService, obs: &[(Observation, [f64; 2])]) -> Result<BTreeMap<String, String>, ApiError> {
    use base64::Engine;
    let mut out = BTreeMap::new();
    for (o, _) in obs.iter().filter(|(o, _)| o.has_photo).take(MAX_REPORT_PHOTOS) {
        if let Some((mime, bytes)) = ws.store.photo(&o.id)? {
            out.insert(o.id.clone(), format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)));
        }
    }
    Ok(out)
}

/// `GET /walks/{id}/report?format=json|html|gpx|geojson&buffer=50&from=&to=`
pub async fn route_report(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["format", "buffer", "from", "to"])?;
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.clone()).unwrap_or_else(|| "json".into());
    if !["json", "html", "gpx", "geojson", "invitation"].contains(&format.as_str()) {
        return Err(ApiError::BadRequest(format!("format '{format}' is not one of json, html, gpx, geojson, invitation")));
    }
    let buffer = match pairs.iter().find(|(k, _)| k == "buffer") {
        Some((_, v)) => {
            v.parse::<f64>().ok().filter(|b| (1.0..=2000.0).contains(b)).ok_or_else(|| ApiError::BadRequest(format!("buffer '{v}' must be 1–2000 metres")))?
        }
        None => 50.0,
    };
    let period = (date_param(&pairs, "from")?, date_param(&pairs, "to")?);
    s.layers.picture.check_point_period(period.0, period.1)?;
    let ws = service(&s)?.clone();
    let st = s.clone();
    let role = caller.role;
    let view = walk_view(role);
    let want_photos = view.sees_photos() && format == "html";
    let r = blocking(move || {
        let w = walk_for_view(find_walk(&ws, &id)?, view);
        let obs = ws.store.observations(Some(&id))?;
        let obs: Vec<(Observation, [f64; 2])> = obs
            .into_iter()
            .map(|o| {
                let o = observation_for_view(o, view);
                let c = coords_of(&to_wgs(&o.point.into()))[0];
                (o, c)
            })
            .collect();
        let photos = if want_photos { photo_uris(&ws, &obs)? } else { BTreeMap::new() };
        let route_wgs = coords_of(&to_wgs(&w.route.clone().into()));
        let picture = &st.layers.picture;
        let shapes: Vec<geo::Geometry<f64>> = picture.areas.iter().map(|f| f.area.geometry.clone().into()).collect();
        let areas: Vec<report::AreaInput> = picture
            .areas
            .iter()
            .zip(&shapes)
            .map(|(f, g)| (g, f.area.deso.clone(), f.area.regso_name.clone(), f.omradestyp, f.index.as_ref().and_then(|r| r.quintile)))
            .collect();
        let inc: Vec<(&crate::model::Incident, [f64; 2])> = picture.point_incidents().map(|i| (i, [0.0, 0.0])).collect();
        let hot = st.layers.hotspot_cells();
        let hot_shapes: Vec<(geo::Geometry<f64>, String, i8)> = match &hot.result {
            Ok(h) => h.cells.iter().zip(&h.fdr_bin).map(|(c, b)| (c.polygon.clone().into(), c.id.clone(), *b)).collect(),
            Err(_) => vec![],
        };
        let cells: Vec<(&geo::Geometry<f64>, String, i8)> = hot_shapes.iter().map(|(g, id, b)| (g, id.clone(), *b)).collect();
        let min = role.min_count(st.config.min_public_count);
        let mut r = report::build(&w, route_wgs, obs, &areas, &inc, &cells, buffer, period, role.raw_points(), min);
        r.photos = photos;
        if let Some(list) = r.incidents.as_mut() {
            for i in list.iter_mut() {
                if let Some(src) = st.layers.picture.incidents.iter().find(|x| x.id == i.id) {
                    let c = coords_of(&to_wgs(&src.location.into()))[0];
                    (i.lon, i.lat) = (c[0], c[1]);
                }
            }
        }
        Ok(r)
    })
    .await?;
    if let Some(list) = &r.incidents {
        s.audit.record(&caller, "incidents", &format!("route report {}", r.walk.id), list.len());
    }
    let mut resp = match format.as_str() {
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], report::to_html(&r)).into_response(),
        "invitation" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], report::invitation_html(&r)).into_response(),
        "gpx" => {
            let mut x = ([(header::CONTENT_TYPE, "application/gpx+xml")], report::to_gpx(&r)).into_response();
            x.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"trygghetsvandring.gpx\""));
            x
        }
        "geojson" => ([(header::CONTENT_TYPE, "application/geo+json")], report::to_geojson(&r).to_string()).into_response(),
        _ => axum::Json(&r).into_response(),
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(role, Resource::Restricted)));
    Ok(resp)
}

/// `GET /walks/suggest?area=Bagarby&start=lon,lat&from=&to=`: significant hotspot cells and
/// unresolved observations in the area, ordered as a short tour from the start.
pub async fn suggest(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["area", "start", "from", "to"])?;
    let area = pairs
        .iter()
        .find(|(k, _)| k == "area")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::BadRequest("area=DeSO code, RegSO code or RegSO name is required".into()))?;
    let start = pairs.iter().find(|(k, _)| k == "start").map(|(_, v)| v.clone());
    let (from, to) = (date_param(&pairs, "from")?, date_param(&pairs, "to")?);
    let ws = service(&s)?.clone();
    let st = s.clone();
    let body = blocking(move || {
        let areas = st.layers.picture.area_list();
        let (aref, members) = crate::profile::resolve(&areas, &area).ok_or_else(|| ApiError::NotFound(format!("no DeSO or RegSO matches '{area}'")))?;
        let mut geom = geo::MultiPolygon(vec![]);
        for a in &members {
            geom.0.extend(a.geometry.0.iter().cloned());
        }
        use geo::{Centroid, Intersects};
        let pts: Vec<[f64; 2]> = st
            .layers
            .picture
            .point_incidents()
            .filter(|i| from.is_none_or(|d| i.occurred_at.date() >= d) && to.is_none_or(|d| i.occurred_at.date() <= d))
            .map(|i| [i.location.x(), i.location.y()])
            .collect();
        let mut places: Vec<([f64; 2], String)> = match crate::stats::optimized::optimized_hot_spots(&pts, None, None, None) {
            Ok(hot) => hot
                .cells
                .iter()
                .zip(&hot.fdr_bin)
                .filter(|(c, bin)| **bin >= 2 && c.polygon.intersects(&geom))
                .filter_map(|(c, bin)| c.polygon.centroid().map(|p| ([p.x(), p.y()], format!("Hotspot {} (konfidensklass {bin})", c.id))))
                .collect(),
            Err(_) => vec![],
        };
        for o in ws.store.observations(None)? {
            if o.status.is_open() && geom.intersects(&o.point) {
                places.push(([o.point.x(), o.point.y()], format!("Öppen observation: {} – {}", walks::category_label(&o.category), o.description)));
            }
        }
        // Thin out neighbouring hotspot cells: one stop per 150 m.
        let mut thinned: Vec<([f64; 2], String)> = Vec::new();
        for p in places {
            if thinned.iter().all(|q| (q.0[0] - p.0[0]).hypot(q.0[1] - p.0[1]) > 150.0) {
                thinned.push(p);
            }
        }
        let start3006 = match start {
            Some(sv) => {
                let v: Vec<f64> = sv.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| ApiError::BadRequest(format!("start '{sv}' must be lon,lat")))?;
                if v.len() != 2 {
                    return Err(ApiError::BadRequest(format!("start '{sv}' must be lon,lat")));
                }
                to_3006(&[[v[0], v[1]]])?[0]
            }
            None => geom.centroid().map(|c| [c.x(), c.y()]).unwrap_or([0.0, 0.0]),
        };
        let stops = report::order_tour(start3006, &thinned);
        let line: Vec<[f64; 2]> = std::iter::once(start3006).chain(stops.iter().map(|s| [s.x, s.y])).collect();
        let wgs = coords_of(&to_wgs(&geo::LineString::from(line.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()).into()));
        let stops_json: Vec<Value> = stops
            .iter()
            .zip(wgs.iter().skip(1))
            .map(|(s, c)| json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": c}, "properties": {"order": s.order, "reason": s.reason}}))
            .collect();
        Ok(json!({"area": aref.name, "start": wgs.first(), "stops": {"type": "FeatureCollection", "features": stops_json}, "proposed_route": {"type": "LineString", "coordinates": wgs}}))
    })
    .await?;
    Ok(axum::Json(body).into_response())
}

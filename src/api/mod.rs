//! The HTTP layer. Modules below `api/` know nothing of HTTP; errors become responses only in
//! [`error::ApiError`].

mod actions;
mod analysis;
mod areas;
pub mod audit;
pub mod auth;
pub mod basemap;
pub mod bounded;
pub mod error;
mod est;
pub mod features;
pub mod fonts;
pub mod imports;
pub mod input;
pub mod layers;
pub mod limits;
pub mod live;
pub mod ogc_tiles;
pub mod oidc;
pub mod openapi;
pub mod plan;
mod reports;
pub mod search;
pub mod security;
pub mod tiles;
pub mod walks;
mod web;

use crate::catalog::Catalog;
use crate::picture::{AreaPicture, Rules};
use crate::store::{Store, StoreError};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;

/// Server configuration that is not data.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Public and partner aggregates below this count are suppressed (privacy).
    pub min_public_count: u64,
    /// Polisen's utsatta områden (GeoJSON), published as `police_areas` and used in profiles.
    pub police_areas: Option<PathBuf>,
    /// Municipality boundaries (GeoJSON with `kommun_kod`/`kommun`), the map's background.
    pub boundaries: Option<PathBuf>,
    /// Where raw-point accesses are logged (JSON lines).
    pub audit_log: Option<PathBuf>,
    /// Allowed CORS origins (`*` for any); none: same origin only.
    pub cors_origins: Vec<String>,
    /// `--basemap SPEC`: tile template, style JSON or local MBTiles (see [`basemap`]).
    pub basemap: Option<String>,
    /// `--basemap-attribution TEXT`, shown on the map and in the style/TileJSON.
    pub basemap_attribution: Option<String>,
    /// Largest upload to `POST /api/imports/{kind}` (`--max-upload-mb`).
    pub max_upload_mb: u64,
    /// Byte budget of the analysis result cache (`--analysis-cache-mb`).
    pub analysis_cache_mb: u64,
    /// Analyses computing at once (`--analysis-workers`).
    pub analysis_workers: usize,
    /// Analyses waiting for a worker before further ones get 503 (`--analysis-queue`).
    pub analysis_queue: usize,
    /// Goals (`serve --goals FILE`) judged in profiles, the EST theme and the reports.
    pub goals: Vec<crate::classify::goals::Goal>,
    /// Indicator catalogue (TOML) added to the built-in one (`--indicators`).
    pub indicators: Option<PathBuf>,
    /// Survey results (CSV) served at `/api/surveys` (`--surveys`).
    pub surveys: Option<PathBuf>,
    /// `--public-url`: the address users reach the service at; https adds HSTS.
    pub public_url: Option<String>,
    /// `--rate-limit-anonymous`: requests per second per client address without a token (0 = off).
    pub rate_limit_anonymous: u32,
    /// `--trusted-proxy`: peers whose `X-Forwarded-For`/`Forwarded` name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Ordinary requests end after this with 503 (analyses and uploads have their own limits).
    pub request_timeout: std::time::Duration,
    /// The store file, for the record of personal data (`GET /api/privacy-report`).
    pub store_path: Option<PathBuf>,
    /// `--retain-raw-days`, `--retain-walk-text-days`, shown in the record of personal data.
    pub retention: crate::privacy_report::Retention,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        let workers = bounded::default_workers();
        ServiceConfig {
            min_public_count: 5,
            police_areas: None,
            boundaries: None,
            audit_log: None,
            cors_origins: vec![],
            basemap: None,
            basemap_attribution: None,
            max_upload_mb: 100,
            analysis_cache_mb: 256,
            analysis_workers: workers,
            analysis_queue: 4 * workers,
            goals: vec![],
            indicators: None,
            surveys: None,
            public_url: None,
            rate_limit_anonymous: 50,
            trusted_proxies: vec![],
            request_timeout: std::time::Duration::from_secs(60),
            store_path: None,
            retention: Default::default(),
        }
    }
}

/// Municipality outlines: code, name, polygon in EPSG:3006.
pub type Boundaries = Vec<(String, String, geo::MultiPolygon<f64>)>;

/// The in-memory picture of the store: everything the read endpoints answer from. The ONE place
/// it is built, at start and on every new data generation.
pub fn load_data(
    store: &dyn Store,
    police: &[crate::classify::goals::PoliceArea],
    boundaries: &Boundaries,
    catalogue: &crate::social::Catalogue,
) -> Result<Catalog, StoreError> {
    let t = std::time::Instant::now();
    let picture = Arc::new(AreaPicture::from_store(store, Rules::default())?);
    let picture_ms = t.elapsed().as_millis() as u64;
    let mut social: Vec<String> = picture.indicators.iter().map(|v| v.indicator.clone()).filter(|n| catalogue.is_social_services(n)).collect();
    social.sort();
    social.dedup();
    let units = crate::units::Units::build(&picture, &store.places()?);
    let sources = crate::catalog::Sources { police: police.to_vec(), boundaries: boundaries.clone(), social_services: social };
    let catalog = Catalog::build(picture, units, sources);
    tracing::info!(picture_ms, layers_ms = t.elapsed().as_millis() as u64 - picture_ms, incidents = catalog.picture.incidents.len(), "picture loaded");
    Ok(catalog)
}

#[derive(Clone)]
pub struct AppState {
    /// The published collections of this data generation, with the picture they show.
    pub layers: Arc<Catalog>,
    pub config: Arc<ServiceConfig>,
    pub tokens: Arc<auth::Tokens>,
    /// OpenID Connect bearer tokens beside the static ones (`serve --oidc-issuer`).
    pub oidc: Option<Arc<oidc::Verifier>>,
    pub audit: Arc<audit::AuditLog>,
    pub tiles: Arc<tiles::TileCache>,
    /// Analysis cache and worker limits, shared by every generation.
    pub(crate) analysis: Arc<bounded::AnalysisGate>,
    police: Arc<Vec<crate::classify::goals::PoliceArea>>,
    boundaries: Arc<Boundaries>,
    pub walks: Option<walks::WalkService>,
    pub basemap: Arc<basemap::Basemap>,
    /// The store's data generation this picture was built from.
    pub generation: u64,
    pub imports: Option<imports::ImportService>,
    /// Set when the service runs live (see `live::start`).
    pub reload_signal: Option<Arc<live::ReloadSignal>>,
    /// The åtgärdsplan, bedömningar and orsaksanalyser (`with_plan`).
    pub plan: Option<Arc<dyn crate::store::PlanStore>>,
    /// The walk store the reports read observations from (`with_walks`).
    pub walk_store: Option<Arc<dyn crate::store::WalkStore>>,
    /// Serialises plan writes from this process, so two updates of one version cannot both pass.
    pub plan_lock: Arc<std::sync::Mutex<()>>,
    /// Labels, units and aggregation rules of the indicators (`indicators.toml`).
    pub catalogue: Arc<crate::social::Catalogue>,
    /// Survey results at their own geography (`--surveys`).
    pub surveys: Arc<Vec<crate::social::surveys::SurveyRow>>,
    /// Per-client request budgets of anonymous callers, kept across data generations.
    pub rate_limit: Arc<limits::ClientLimiter>,
}

/// The router's state is one `Arc<AppState>`: a handler taking `State<Arc<AppState>>` costs one
/// reference count per request, where `State<AppState>` clones every field's (a dozen). Handlers
/// that take `State<AppState>` keep working through this.
impl axum::extract::FromRef<Arc<AppState>> for AppState {
    fn from_ref(s: &Arc<AppState>) -> AppState {
        AppState::clone(s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Input(#[from] crate::io::IoError),
    #[error(transparent)]
    Tokens(#[from] auth::TokenError),
    #[error(transparent)]
    Basemap(#[from] basemap::BasemapError),
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
    #[error(transparent)]
    Catalogue(#[from] crate::social::catalogue::CatalogueError),
    #[error(transparent)]
    Surveys(#[from] crate::social::surveys::SurveyError),
}

fn read_boundaries(path: &std::path::Path) -> Result<Vec<(String, String, geo::MultiPolygon<f64>)>, crate::io::IoError> {
    let (data, polys) = crate::io::read_polygons(path)?;
    Ok(data
        .records
        .iter()
        .zip(polys)
        .map(|(r, mp)| {
            let code = r.get("kommun_kod").or_else(|| r.get("kommun")).unwrap_or("").to_string();
            let name = r.get("kommun").or_else(|| r.get("name")).unwrap_or("").to_string();
            (code, name, mp)
        })
        .collect())
}

impl AppState {
    /// Loads the store and builds the layers. Tokens come from `tokens` (a file's or the
    /// environment's, merged by the caller).
    pub fn new(store: &dyn Store, config: ServiceConfig, tokens: auth::Tokens) -> Result<AppState, StartError> {
        let police = match &config.police_areas {
            Some(p) => crate::profile::read_police_areas(p)?,
            None => vec![],
        };
        let boundaries = match &config.boundaries {
            Some(p) => read_boundaries(p)?,
            None => vec![],
        };
        let basemap = basemap::Basemap::open(config.basemap.as_deref(), config.basemap_attribution.clone())?;
        let catalogue = match &config.indicators {
            Some(p) => crate::social::Catalogue::load(p)?,
            None => crate::social::Catalogue::default(),
        };
        let surveys = match &config.surveys {
            Some(p) => crate::social::surveys::read(p, "")?,
            None => vec![],
        };
        // Read before loading: a write landing meanwhile then shows as a newer generation.
        let generation = store.data_generation()?;
        let layers = load_data(store, &police, &boundaries, &catalogue)?;
        Ok(AppState {
            layers: Arc::new(layers),
            audit: Arc::new(audit::AuditLog::new(config.audit_log.clone())),
            analysis: Arc::new(bounded::AnalysisGate::new(config.analysis_cache_mb, config.analysis_workers, config.analysis_queue)),
            rate_limit: Arc::new(limits::ClientLimiter::new(config.rate_limit_anonymous, config.trusted_proxies.clone())),
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            oidc: None,
            tiles: Default::default(),
            police: Arc::new(police),
            boundaries: Arc::new(boundaries),
            walks: None,
            basemap: Arc::new(basemap),
            generation,
            imports: None,
            reload_signal: None,
            plan: None,
            walk_store: None,
            plan_lock: Default::default(),
            catalogue: Arc::new(catalogue),
            surveys: Arc::new(surveys),
        })
    }

    /// The same service over the store's current data: a new picture and tile cache; tokens,
    /// limits, the analysis gate, walks and imports carry over.
    pub fn reload(&self, store: &dyn Store) -> Result<AppState, StartError> {
        let generation = store.data_generation()?;
        let layers = load_data(store, &self.police, &self.boundaries, &self.catalogue)?;
        let mut next = AppState { layers: Arc::new(layers), tiles: Default::default(), generation, ..self.clone() };
        if let Some(w) = &self.walks {
            next.walks = Some(walks::WalkService { rules: Arc::new(walk_rules(&next.layers)), ..w.clone() });
        }
        Ok(next)
    }

    /// Enables `/api/imports` on a writable store.
    pub fn with_imports(mut self, store: Arc<dyn Store>) -> AppState {
        let max = self.config.max_upload_mb.saturating_mul(1024 * 1024);
        self.imports = Some(imports::ImportService { store, max_upload_bytes: max, write_lock: Default::default() });
        self
    }

    /// Asks the live reloader (when running) to look at the store now.
    pub fn request_reload(&self) {
        if let Some(s) = &self.reload_signal {
            s.request();
        }
    }

    /// Enables the walk endpoints on a store; routes and observations must lie in the
    /// municipality's extent (the areas' bounding box padded by 1 km).
    pub fn with_walks(mut self, store: Arc<dyn crate::store::WalkStore>) -> AppState {
        let rules = walk_rules(&self.layers);
        self.walk_store = Some(store.clone());
        self.walks = Some(walks::WalkService { store, rules: Arc::new(rules), write_lock: Default::default() });
        self
    }

    /// Writes the audit log to the store's audit table too, when it keeps one (PostGIS).
    pub fn with_audit_store(mut self, store: Arc<dyn Store>) -> AppState {
        self.audit = Arc::new(audit::AuditLog::new(self.config.audit_log.clone()).with_store(store));
        self
    }

    /// Enables the åtgärdsplan (`/api/actions`), bedömningar (`/api/est`) and reports on a store.
    pub fn with_plan(mut self, store: Arc<dyn crate::store::PlanStore>) -> AppState {
        self.plan = Some(store);
        self
    }

    /// Accepts OpenID Connect tokens from an issuer beside the static tokens. Call inside a tokio
    /// runtime: the keys are loaded in the background.
    pub fn with_oidc(mut self, config: oidc::OidcConfig) -> Result<AppState, StartError> {
        let v = oidc::Verifier::new(config)?;
        v.spawn_refresh();
        self.oidc = Some(v);
        Ok(self)
    }

    /// With default configuration and tokens from `LAGESBILD_TOKENS`.
    pub fn from_store(store: &dyn Store, config: ServiceConfig) -> Result<AppState, StartError> {
        let tokens = match std::env::var("LAGESBILD_TOKENS") {
            Ok(v) => auth::Tokens::from_env_value(&v)?,
            Err(_) => auth::Tokens::default(),
        };
        AppState::new(store, config, tokens)
    }
}

/// Routes and observations must lie in the municipality's extent (the areas' bounding box
/// padded by 1 km).
fn walk_rules(layers: &Catalog) -> crate::walks::WalkRules {
    use geo::BoundingRect;
    let mut rules = crate::walks::WalkRules::default();
    let boxes: Vec<geo::Rect<f64>> = layers.picture.areas.iter().filter_map(|f| f.area.geometry.bounding_rect()).collect();
    if let Some(first) = boxes.first() {
        let (mut x0, mut y0, mut x1, mut y1) = (first.min().x, first.min().y, first.max().x, first.max().y);
        for r in &boxes {
            x0 = x0.min(r.min().x);
            y0 = y0.min(r.min().y);
            x1 = x1.max(r.max().x);
            y1 = y1.max(r.max().y);
        }
        rules.extent = [x0 - 1000.0, y0 - 1000.0, x1 + 1000.0, y1 + 1000.0];
    }
    rules
}

/// Paths whose responses depend only on the data generation, the URL and the caller's token.
fn generation_tagged(path: &str) -> bool {
    let walk_layer = path.starts_with("/collections/walks") || path.starts_with("/collections/observations");
    (path.starts_with("/collections") && !walk_layer && !path.ends_with("/download"))
        || path.starts_with("/tiles/")
        || path.starts_with("/analysis/")
        || path.starts_with("/api/profile/")
        || path == "/api/areas"
        || path == "/api/indicators"
        || path == "/api/surveys"
}

/// ETags from the data generation: a new import or undo changes every one of them, and a client
/// holding a current one gets 304 without the work being redone (privacy.rs marks these answers
/// `no-cache`, so every use revalidates).
async fn generation_etag(State(generation): State<u64>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.method() != axum::http::Method::GET || !generation_tagged(req.uri().path()) {
        return next.run(req).await;
    }
    let etag = etag_for(generation, req.uri(), req.headers().get(header::AUTHORIZATION));
    let matches =
        req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim().as_bytes() == etag.as_bytes()));
    if matches {
        let mut r = axum::http::StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(header::ETAG, etag);
        return r;
    }
    let mut resp = next.run(req).await;
    // Cache-Control stays privacy.rs's; the ETag is what a revalidation compares.
    if resp.status() == axum::http::StatusCode::OK {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    resp
}

/// `"g{generation}-{first 16 hex digits of SHA-256(URI, NUL, Authorization)}"`. Hashed in place:
/// this runs on every tile, where formatting the URI and the whole digest cost more than the hash.
fn etag_for(generation: u64, uri: &axum::http::Uri, authorization: Option<&HeaderValue>) -> HeaderValue {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    struct Hashing<'a>(&'a mut Sha256);
    impl Write for Hashing<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Sha256::new();
    let _ = write!(Hashing(&mut h), "{uri}");
    h.update([0]);
    h.update(authorization.map(|v| v.as_bytes()).unwrap_or(b""));
    let digest = h.finalize();
    let mut etag = String::with_capacity(40);
    let _ = write!(etag, "\"g{generation}-");
    for b in &digest[..8] {
        let _ = write!(etag, "{b:02x}");
    }
    etag.push('"');
    HeaderValue::from_maybe_shared(bytes::Bytes::from(etag)).unwrap_or(HeaderValue::from_static("\"g\""))
}

/// The router's routes with their paths recorded, so that `tests/api_contract.rs` can check each
/// is in the OpenAPI document (`route` has the signature of `Router::route`).
pub struct Routes {
    pub router: Router<Arc<AppState>>,
    pub paths: Vec<&'static str>,
}

impl Routes {
    fn route(mut self, path: &'static str, method_router: axum::routing::MethodRouter<Arc<AppState>>) -> Routes {
        self.paths.push(path);
        self.router = self.router.route(path, method_router);
        self
    }
}

/// Every route of the service but the optional Swagger UI. `max_upload_mb` bounds the import uploads.
pub fn routes(max_upload_mb: u64) -> Routes {
    let upload_limit = usize::try_from(max_upload_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    Routes { router: Router::new(), paths: vec![] }
        .route("/", get(features::landing))
        .route("/conformance", get(features::conformance))
        .route("/api", get(openapi_doc))
        .route("/openapi.json", get(openapi_doc))
        .route("/collections", get(features::collections))
        .route("/collections/{id}", get(features::collection))
        .route("/collections/{id}/items", get(features::items))
        .route("/collections/{id}/items/{fid}", get(features::item))
        .route("/collections/{id}/download", get(features::download))
        .route("/tiles/{id}/tilejson.json", get(tiles::tilejson))
        .route("/tileMatrixSets", get(ogc_tiles::tile_matrix_sets))
        .route("/tileMatrixSets/{tms}", get(ogc_tiles::tile_matrix_set))
        .route("/collections/{id}/tiles", get(ogc_tiles::tilesets))
        .route("/collections/{id}/tiles/{tms}", get(ogc_tiles::tileset))
        .route("/collections/{id}/tiles/{tms}/{m}/{row}/{col}", get(ogc_tiles::tile))
        .route("/tiles/{id}/{z}/{x}/{y}", get(tiles::tile))
        .route("/analysis/{kind}", get(analysis::run))
        .route("/api/profile", axum::routing::post(plan::plan_profile))
        .route("/api/profile/{area}", get(profile))
        .route("/api/indicators", get(plan::indicators))
        .route("/api/surveys", get(plan::surveys))
        .route("/walks", get(walks::list_walks).post(walks::create_walk))
        .route("/walks/suggest", get(walks::suggest))
        .route("/walks/{id}", get(walks::get_walk).put(walks::update_walk).delete(walks::delete_walk))
        .route("/walks/{id}/observations", get(walks::list_observations).post(walks::create_observation))
        .route("/walks/{id}/report", get(walks::route_report))
        .route("/observations", get(walks::all_observations))
        .route("/observations/{id}", get(walks::get_observation).put(walks::update_observation).delete(walks::delete_observation))
        .route("/observations/{id}/history", get(walks::history))
        .route("/observations/{id}/photo", get(walks::get_photo).put(walks::put_photo))
        .route("/api/areas", get(areas::areas))
        .route("/api/actions", get(actions::list).post(actions::create))
        .route("/api/actions/{id}", get(actions::get_one).put(actions::update).delete(actions::delete))
        .route("/api/actions/{id}/followup", get(actions::followup))
        .route("/api/est", get(est::weeks))
        .route("/api/est/{area}/{week}", get(est::one).put(est::assess))
        .route("/api/orsaksanalys/{year}", get(reports::get_cause_analysis).put(reports::put_cause_analysis))
        .route("/api/reports/{kind}", get(reports::report))
        .route("/api/search", get(search::search_handler))
        .route("/api/labels", get(search::labels_handler))
        .route("/fonts/{fontstack}/{range}", get(fonts::glyphs))
        .route("/basemap/style.json", get(basemap::style_handler))
        .route("/basemap/tilejson.json", get(basemap::tilejson_handler))
        .route("/basemap/{z}/{x}/{y}", get(basemap::tile_handler))
        .route("/api/imports", get(imports::list))
        .route(
            "/api/imports/{key}",
            axum::routing::post(imports::upload)
                .delete(imports::delete)
                // Uploads are streamed to a file, so the limit is on bytes received, not memory.
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/imports/{kind}/preview", axum::routing::post(imports::preview).layer(axum::extract::DefaultBodyLimit::max(upload_limit)))
        .route("/health", get(health))
        .route("/api/privacy-report", get(privacy_report))
        .route("/api/auth/config", get(auth_config))
        .route("/api/auth/me", get(auth_me))
        .route("/map", get(web::redirect))
        .route("/map/", get(web::index))
        .route("/map/{*path}", get(web::asset))
}

/// The whole HTTP service as a plain router: tests call it without binding a port.
pub fn app(state: AppState) -> Router {
    let cors = {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins = &state.config.cors_origins;
        let layer = CorsLayer::new()
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST, axum::http::Method::PUT, axum::http::Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH]);
        if origins.iter().any(|o| o == "*") {
            layer.allow_origin(AllowOrigin::any())
        } else {
            layer.allow_origin(AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())))
        }
    };
    let generation = state.generation;
    let policy = security_policy(&state);
    let timeout = state.config.request_timeout;
    let shared = Arc::new(state);
    let shared_state = shared.clone();
    let router = routes(shared.config.max_upload_mb).router;
    #[cfg(feature = "vendored")]
    let router = router.merge(utoipa_swagger_ui::SwaggerUi::new("/api/docs").external_url_unchecked("/api/openapi.json", openapi::document()));
    let routed: Router = router.fallback(error::not_found).with_state(shared_state);
    // The middlewares wrap the router once, as one service, instead of each route through
    // `Router::layer`: there every layer boxed the route again, and every call cloned all the
    // boxes beneath it (and, through the handlers, the state), which cost half the tile throughput.
    // Listed outermost first.
    let stack = tower::ServiceBuilder::new()
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
        .layer(cors)
        .layer(axum::middleware::from_fn(error::problem_bodies))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), limits::rate_limit))
        .layer(axum::middleware::from_fn_with_state(timeout, limits::request_timeout))
        .layer(axum::middleware::from_fn_with_state(generation, generation_etag))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), audit_writes))
        .layer(axum::middleware::from_fn_with_state(shared, privacy_headers))
        // Unknown query parameters, control characters and `f` are refused alike on every route.
        .layer(axum::middleware::from_fn(input::query_guard))
        .service(routed);
    // Outermost, so that every answer carries them: errors, 429s and 503s included.
    security::apply(Router::new().fallback_service(stack), &policy)
}

/// The page may reach beyond its own origin only for a configured basemap or identity provider.
fn security_policy(state: &AppState) -> security::Policy {
    let basemap_origins = match state.basemap.as_ref() {
        basemap::Basemap::Raster { template, .. } => security::origin_of(template).into_iter().collect(),
        basemap::Basemap::StyleUrl(url) => security::origin_of(url).into_iter().collect(),
        _ => vec![],
    };
    let identity_origins = state.oidc.as_ref().and_then(|v| security::origin_of(&v.config().issuer)).into_iter().collect();
    security::Policy { basemap_origins, identity_origins, public_url: state.config.public_url.clone() }
}

/// Every response says how it may be cached for the caller's role: routes that know better set
/// it themselves; the rest (metadata, health, errors) get the rule for aggregates.
async fn privacy_headers(State(s): State<Arc<AppState>>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = req.into_parts();
    let role = auth::Caller::from_request_parts(&mut parts, &s).await.map(|c| c.role).unwrap_or(crate::privacy::Role::Public);
    let mut resp = next.run(axum::extract::Request::from_parts(parts, body)).await;
    let what =
        if resp.status().is_client_error() || resp.status().is_server_error() { crate::privacy::Resource::Error } else { crate::privacy::Resource::Aggregate };
    let h = resp.headers_mut();
    if what == crate::privacy::Resource::Error || !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(role, what)));
    }
    if !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    }
    resp
}

/// `GET /api` and `/openapi.json`; with OpenID Connect on, the document names its issuer.
async fn openapi_doc(State(s): State<AppState>) -> Response {
    let issuer = s.oidc.as_ref().map(|v| v.config().issuer.clone());
    let body = openapi::document_for(issuer.as_deref()).to_string();
    ([(header::CONTENT_TYPE, openapi::MEDIA_TYPE)], body).into_response()
}

/// Every accepted write goes to the audit log with who made it. The caller is resolved here
/// once and handed to the handler through the request's extensions.
async fn audit_writes(State(s): State<Arc<AppState>>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::extract::FromRequestParts;
    use axum::http::Method;
    // A plan area's profile is a question sent as a body, not a write.
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::DELETE | Method::PATCH) || req.uri().path() == "/api/profile" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match auth::Caller::from_request_parts(&mut parts, &s).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(caller.clone());
    let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
    let resp = next.run(axum::extract::Request::from_parts(parts, body)).await;
    if resp.status().is_success() {
        s.audit.record_write(&caller, method.as_str(), &path, resp.status().as_u16());
    }
    resp
}

/// `GET /api/auth/config`: what the web map needs to sign in (public information only).
async fn auth_config(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<serde_json::Value>, error::ApiError> {
    error::check_params(q.as_deref(), &[])?;
    let Some(v) = &s.oidc else {
        return Ok(Json(serde_json::json!({ "oidc": false, "login": false })));
    };
    let c = v.config();
    // Without the provider's endpoints the map cannot start a login; it says so instead.
    let d = v.discovery().await.ok();
    Ok(Json(serde_json::json!({
        "oidc": true,
        "login": c.client_id.is_some() && d.is_some(),
        "issuer": c.issuer,
        "client_id": c.client_id,
        "scopes": c.scopes,
        "authorization_endpoint": d.as_ref().and_then(|d| d.authorization_endpoint.clone()),
        "token_endpoint": d.as_ref().and_then(|d| d.token_endpoint.clone()),
        "end_session_endpoint": d.as_ref().and_then(|d| d.end_session_endpoint.clone()),
    })))
}

/// `GET /api/auth/me`: the caller's role as the server sees it, and who a signed-in token names.
async fn auth_me(caller: auth::Caller, RawQuery(q): RawQuery) -> Result<Response, error::ApiError> {
    error::check_params(q.as_deref(), &[])?;
    let u = caller.user.as_ref();
    let mut resp = Json(serde_json::json!({
        "role": caller.role.as_str(),
        "authenticated": caller.authenticated(),
        "sub": u.map(|u| u.sub.clone()),
        "preferred_username": u.and_then(|u| u.preferred_username.clone()),
        "name": u.and_then(|u| u.name.clone()),
    }))
    .into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}

/// `GET /api/privacy-report?format=json|html`: the record of personal data, for admins only.
async fn privacy_report(State(s): State<AppState>, caller: auth::Caller, RawQuery(q): RawQuery) -> Result<Response, error::ApiError> {
    let pairs = error::check_params(q.as_deref(), &["format"])?;
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.clone()).unwrap_or_else(|| "json".into());
    if !["json", "html"].contains(&format.as_str()) {
        return Err(error::ApiError::BadRequest(format!("format '{format}' is not one of json, html")));
    }
    if !caller.role.reads_privacy_report() {
        return Err(if caller.authenticated() {
            error::ApiError::Forbidden("the record of personal data is for the admin role".into())
        } else {
            error::ApiError::Unauthorized("sign in as admin to read the record of personal data".into())
        });
    }
    let input = crate::privacy_report::ReportInput {
        audit_log: s.audit.path().map(|p| p.to_path_buf()),
        tokens_by_role: s.tokens.count_by_role(),
        oidc_issuer: s.oidc.as_ref().map(|v| v.config().issuer.clone()),
        retention: s.config.retention.clone(),
    };
    // A GeoPackage file is counted by SQL; another store (PostGIS) through its readers.
    let path = s.config.store_path.clone();
    let stores = s.imports.as_ref().map(|i| i.store.clone()).zip(s.walk_store.clone());
    let r = tokio::task::spawn_blocking(move || match (path, stores) {
        (Some(path), _) => crate::privacy_report::build(&path, &input),
        (None, Some((store, walks))) => crate::privacy_report::build_from_store(&*store, &*walks, &input),
        (None, None) => Err(crate::privacy_report::ReportError::Store { path: String::new(), reason: "this service has no store to report on".into() }),
    })
    .await??;
    let mut resp = match format.as_str() {
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], crate::privacy_report::to_html(&r)).into_response(),
        _ => Json(r).into_response(),
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(resp)
}

async fn health(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "areas": s.layers.picture.areas.len(),
        "incidents": s.layers.picture.incidents.len(),
        "deso_version": s.layers.picture.edition(),
        "generation": s.generation,
    }))
}

/// `GET /api/profile/{area}?format=json|html|csv`. Small incident counts are suppressed for
/// roles without raw access.
async fn profile(State(s): State<AppState>, caller: auth::Caller, Path(area): Path<String>, RawQuery(q): RawQuery) -> Result<Response, error::ApiError> {
    let pairs = error::check_params(q.as_deref(), &["format"])?;
    let format = pairs.iter().find(|(k, _)| k == "format").map(|(_, v)| v.clone()).unwrap_or_else(|| "json".into());
    if !["json", "html", "csv"].contains(&format.as_str()) {
        return Err(error::ApiError::BadRequest(format!("format '{format}' is not one of json, html, csv")));
    }
    let st = s.clone();
    let role = caller.role;
    // A profile reads every incident: it takes a turn among the analysis workers.
    let permit = s.analysis.limiter.acquire().await?;
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let opts = crate::profile::ProfileOptions {
            police: st.police.as_ref().clone(),
            goals: st.config.goals.clone(),
            places: st.layers.units.of_level("place").cloned().collect(),
            ..Default::default()
        };
        crate::profile::build(&st.layers.picture, &area, &opts).map(|mut p| {
            if let Some(min) = role.min_count(st.config.min_public_count) {
                crate::profile::suppress_small_counts(&mut p, min);
                crate::profile::suppress_values(&mut p, min, |n| st.catalogue.is_social_services(n));
            }
            p
        })
    })
    .await?;
    let p = result?;
    let mut resp = match format.as_str() {
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], crate::profile::to_html(&p)).into_response(),
        "csv" => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], crate::profile::to_csv(&p)).into_response(),
        _ => Json(p).into_response(),
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(role, crate::privacy::Resource::Aggregate)));
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_the_generation_and_the_first_sixteen_hex_digits_of_the_uri_and_token_hash() {
        use sha2::{Digest, Sha256};
        let uri: axum::http::Uri = "/tiles/deso/12/2250/1200.mvt".parse().unwrap();
        let token = HeaderValue::from_static("Bearer s3cret");
        // The rule written out: SHA-256 over the URI, a NUL and the Authorization header.
        let expected = |auth: &[u8]| {
            let mut h = Sha256::new();
            h.update(uri.to_string().as_bytes());
            h.update([0]);
            h.update(auth);
            format!("\"g7-{}\"", &format!("{:x}", h.finalize())[..16])
        };
        assert_eq!(etag_for(7, &uri, None).to_str().unwrap(), expected(b""));
        assert_eq!(etag_for(7, &uri, Some(&token)).to_str().unwrap(), expected(b"Bearer s3cret"));
        assert_ne!(etag_for(8, &uri, None), etag_for(7, &uri, None));
    }
}

//! `lagesbild serve`: the HTTP service on a port until Ctrl-C. The data loads in the background
//! and reloads when the store's data generation changes.

use anyhow::{Context, Result};
use lagesbild::api::auth::Tokens;
use lagesbild::store::AnyStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Polisen's utsatta områden (GeoJSON), published as `police_areas`.
    #[arg(long)]
    uso: Option<PathBuf>,
    /// Municipality boundaries (GeoJSON) for the map background.
    #[arg(long)]
    boundaries: Option<PathBuf>,
    /// Token file: lines of `role:sha256:HEX`. `LAGESBILD_TOKENS` adds plain ones.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// Audit log of raw incident access (default: STORE.audit.log).
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Allowed CORS origins, comma-separated (`*` for any).
    #[arg(long, value_delimiter = ',')]
    cors: Vec<String>,
    /// Smallest count shown to public and partner roles.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Basemap: a tile template (`https://…/{z}/{x}/{y}.png`, WMTS `{TileMatrix}/{TileRow}/{TileCol}`),
    /// a MapLibre style JSON (URL or file) or a local MBTiles file served at /basemap/.
    /// Without it the map draws only our own layers and loads nothing from the internet.
    #[arg(long)]
    basemap: Option<String>,
    /// Attribution shown for the basemap (e.g. "© Lantmäteriet").
    #[arg(long)]
    basemap_attribution: Option<String>,
    /// Indicator catalogue (TOML: label, unit, aggregation, source per indicator) added to the built-in one.
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Survey results (CSV: geografi, område, fråga, år, kön, ålder, n, andel) served at /api/surveys.
    #[arg(long)]
    surveys: Option<PathBuf>,
    #[command(flatten)]
    oidc: OidcArgs,
    /// Largest upload to POST /api/imports/{kind}, in MB.
    #[arg(long, default_value_t = 100)]
    max_upload_mb: u64,
    /// Byte budget of the analysis result cache, in MB (least recently used results go first).
    #[arg(long, default_value_t = 256)]
    analysis_cache_mb: u64,
    /// Analyses computing at once (default: the number of cores).
    #[arg(long)]
    analysis_workers: Option<usize>,
    /// Analyses waiting for a worker; beyond them requests get 503 with Retry-After (default: 4 per worker).
    #[arg(long)]
    analysis_queue: Option<usize>,
    /// Goals file (as `classify goals --config`), judged in profiles, on the map and in reports.
    #[arg(long)]
    goals: Option<PathBuf>,
    /// The address users reach the service at (e.g. https://lagesbild.kommun.se); https adds
    /// Strict-Transport-Security.
    #[arg(long)]
    public_url: Option<String>,
    /// Open connections at most; further clients wait until one closes.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Requests per second per client address for callers without a token (burst 4 × N; 0 = off).
    #[arg(long, default_value_t = 50)]
    rate_limit_anonymous: u32,
    /// A reverse proxy (address or CIDR) whose X-Forwarded-For/Forwarded name the client; repeatable.
    #[arg(long, value_delimiter = ',')]
    trusted_proxy: Vec<String>,
    /// Ordinary requests (not analyses and uploads) end after this many seconds with 503.
    #[arg(long, default_value_t = 60)]
    request_timeout_secs: u64,
    /// Gallring: remove raw incident points older than N days, at start and once a day, keeping
    /// weekly counts per DeSO and category (as `lagesbild gallra`).
    #[arg(long)]
    retain_raw_days: Option<u32>,
    /// Clear free text, participants' names and photos of walks closed more than N days ago, at
    /// start and once a day.
    #[arg(long)]
    retain_walk_text_days: Option<u32>,
}

/// OpenID Connect sign-in for `serve`.
#[derive(clap::Args, Debug)]
struct OidcArgs {
    /// Issuer URL (https://, or http:// on a loopback address); turns OIDC on.
    #[arg(long, env = "LAGESBILD_OIDC_ISSUER", requires = "oidc_audience")]
    oidc_issuer: Option<String>,
    /// The `aud` the API's tokens carry.
    #[arg(long, env = "LAGESBILD_OIDC_AUDIENCE")]
    oidc_audience: Option<String>,
    /// Claim with the roles (a string or an array of strings).
    #[arg(long, default_value = "roles")]
    oidc_role_claim: String,
    /// Claim value to role: `lagesbild-analytiker=analyst,lagesbild-redaktor=editor` (default: role names themselves).
    #[arg(long)]
    oidc_role_map: Option<String>,
    /// The web map's public client id; with it the map offers "Logga in".
    #[arg(long)]
    oidc_client_id: Option<String>,
    /// Scopes the web map asks for.
    #[arg(long, default_value = "openid profile")]
    oidc_scopes: String,
    /// Smallest time between two fetches of the provider's keys (an unknown `kid` triggers one).
    #[arg(long, default_value_t = 30)]
    oidc_refetch_seconds: u64,
}

impl OidcArgs {
    fn config(&self) -> Result<Option<lagesbild::api::oidc::OidcConfig>> {
        let (Some(issuer), Some(audience)) = (&self.oidc_issuer, &self.oidc_audience) else {
            if self.oidc_audience.is_some() || self.oidc_client_id.is_some() || self.oidc_role_map.is_some() {
                anyhow::bail!("--oidc-audience, --oidc-client-id and --oidc-role-map need --oidc-issuer");
            }
            return Ok(None);
        };
        let mut c = lagesbild::api::oidc::OidcConfig::new(issuer, audience)?;
        c.role_claim = self.oidc_role_claim.clone();
        if let Some(m) = &self.oidc_role_map {
            c.role_map = lagesbild::api::oidc::OidcConfig::parse_role_map(m)?;
        }
        c.client_id = self.oidc_client_id.clone();
        c.scopes = self.oidc_scopes.clone();
        c.refetch_interval = std::time::Duration::from_secs(self.oidc_refetch_seconds);
        Ok(Some(c))
    }
}

/// Beside a GeoPackage; for a database, in the working directory.
pub(super) fn default_audit_log(location: &str) -> PathBuf {
    match lagesbild::store::postgis::is_postgres_url(location) {
        true => "lagesbild.audit.log".into(),
        false => Path::new(location).with_extension("audit.log"),
    }
}

pub fn run(store: AnyStore, location: &str, a: Args) -> Result<()> {
    let mut tokens = match &a.tokens {
        Some(p) => Tokens::from_file(p)?,
        None => Default::default(),
    };
    if let Ok(v) = std::env::var("LAGESBILD_TOKENS") {
        tokens = tokens.merge(Tokens::from_env_value(&v)?);
    }
    let audit_log = a.audit_log.unwrap_or_else(|| default_audit_log(location));
    let workers = a.analysis_workers.unwrap_or_else(lagesbild::api::bounded::default_workers).max(1);
    let config_audit = audit_log.clone();
    let retention = lagesbild::privacy_report::Retention { raw_days: a.retain_raw_days, walk_text_days: a.retain_walk_text_days };
    let config = lagesbild::api::ServiceConfig {
        min_public_count: a.min_count,
        police_areas: a.uso,
        boundaries: a.boundaries,
        audit_log: Some(audit_log.clone()),
        cors_origins: a.cors,
        basemap: a.basemap,
        basemap_attribution: a.basemap_attribution,
        max_upload_mb: a.max_upload_mb,
        analysis_cache_mb: a.analysis_cache_mb,
        analysis_workers: workers,
        analysis_queue: a.analysis_queue.unwrap_or(4 * workers),
        goals: match &a.goals {
            Some(p) => super::read_json(p)?,
            None => vec![],
        },
        indicators: a.indicators,
        surveys: a.surveys,
        public_url: a.public_url,
        rate_limit_anonymous: a.rate_limit_anonymous,
        trusted_proxies: lagesbild::api::limits::parse_trusted(&a.trusted_proxy)?,
        request_timeout: std::time::Duration::from_secs(a.request_timeout_secs.max(1)),
        // The record of personal data counts by SQL on a GeoPackage; on PostGIS it is not offered yet.
        store_path: (!lagesbild::store::postgis::is_postgres_url(location)).then(|| PathBuf::from(location)),
        retention: retention.clone(),
    };
    let limits = lagesbild::api::limits::ConnectionLimits { max_connections: a.max_connections.max(1), ..Default::default() };
    let oidc = a.oidc.config()?;
    let shared = store;
    // A missing or unreadable store fails here, before the port opens.
    shared.imports()?;
    let rt = tokio::runtime::Runtime::new()?;
    // One verifier for the life of the process: every reloaded picture shares its cached keys.
    let verifier = match oidc {
        Some(c) => {
            tracing::info!("OpenID Connect: issuer {}, audience {}", c.issuer, c.audience);
            let _guard = rt.enter();
            let v = lagesbild::api::oidc::Verifier::new(c)?;
            v.spawn_refresh();
            Some(v)
        }
        None => None,
    };
    let s2 = shared.clone();
    let signal = Arc::new(lagesbild::api::live::ReloadSignal::default());
    let sig2 = signal.clone();
    let build = move || -> std::result::Result<lagesbild::AppState, lagesbild::api::StartError> {
        // The åtgärdsplan (actions, bedömningar, orsaksanalys) lives in the store beside the data.
        let mut state = lagesbild::AppState::new(&*s2, config, tokens)?.with_walks(s2.clone()).with_imports(s2.clone()).with_plan(s2.clone());
        state = state.with_audit_store(s2.clone());
        state.oidc = verifier;
        state.reload_signal = Some(sig2);
        Ok(state)
    };
    watch_changes(shared.clone(), signal);
    daily_gallring(shared.clone(), retention, config_audit);
    // Loads in the background; imports and undos (over HTTP or from this command line) show
    // without a restart.
    let (router, _live) = lagesbild::api::live::start(shared.clone(), std::time::Duration::from_secs(1), build);
    let bind = a.bind;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot bind {bind}"))?;
        tracing::info!("lagesbild listening on http://{} (map: http://{}/map/)", listener.local_addr()?, listener.local_addr()?);
        lagesbild::api::limits::serve(listener, router, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}

/// For a store that announces changes (PostGIS LISTEN/NOTIFY), a thread that wakes the reloader
/// as soon as any process imports or undoes; the reloader's poll still catches whatever a lost
/// connection missed.
fn watch_changes(store: AnyStore, signal: Arc<lagesbild::api::live::ReloadSignal>) {
    if !store.announces_changes() {
        return;
    }
    let spawned = std::thread::Builder::new().name("lagesbild-watch".into()).spawn(move || loop {
        match store.watch(std::time::Duration::from_secs(60)) {
            Ok(true) => signal.request(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("cannot listen for changes: {e}");
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("no change listener ({e}); changes are found by polling");
    }
}

/// `--retain-raw-days` / `--retain-walk-text-days`: a thread that thins out the store at start
/// and then once a day; the running service sees the result through the data generation.
fn daily_gallring(store: AnyStore, retention: lagesbild::privacy_report::Retention, audit_log: PathBuf) {
    if retention.raw_days.is_none() && retention.walk_text_days.is_none() {
        return;
    }
    // On PostGIS the entry also goes to the shared audit table, as the service's own entries do.
    let audit = lagesbild::api::audit::AuditLog::new(Some(audit_log)).with_store(store.clone());
    let spawned = std::thread::Builder::new().name("lagesbild-gallring".into()).spawn(move || loop {
        let today = chrono::Local::now().date_naive();
        let days_ago = |d: u32| today - chrono::Duration::days(i64::from(d));
        let plan = lagesbild::store::GallringPlan {
            before: retention.raw_days.map(days_ago),
            walk_text_before: retention.walk_text_days.map(days_ago),
            dry_run: false,
            by: "serve".into(),
        };
        match lagesbild::api::audit::gallra(&*store, &plan, &audit) {
            Ok(r) => tracing::info!(points = r.points_removed, observations = r.observations_cleared, photos = r.photos_removed, "gallring done"),
            // A failed gallring changed nothing (one transaction); tomorrow's run tries again.
            Err(e) => tracing::error!("gallring failed: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_secs(24 * 3600));
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the gallring thread: {e}");
    }
}

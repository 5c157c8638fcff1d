//! `lagesbild serve`: the HTTP service on a port until Ctrl-C.

use anyhow::{Context, Result};
use lagesbild::api::auth::Tokens;
use lagesbild::store::GpkgStore;
use std::path::{Path, PathBuf};

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
}

pub fn run(store: &GpkgStore, store_path: &Path, a: Args) -> Result<()> {
    let mut tokens = match &a.tokens {
        Some(p) => Tokens::from_file(p)?,
        None => Default::default(),
    };
    if let Ok(v) = std::env::var("LAGESBILD_TOKENS") {
        tokens = tokens.merge(Tokens::from_env_value(&v)?);
    }
    let audit_log = a.audit_log.unwrap_or_else(|| store_path.with_extension("audit.log"));
    let config = lagesbild::api::ServiceConfig {
        min_public_count: a.min_count,
        police_areas: a.uso,
        boundaries: a.boundaries,
        audit_log: Some(audit_log),
        cors_origins: a.cors,
    };
    let state = lagesbild::AppState::new(store, config, tokens)?.with_walks(std::sync::Arc::new(store.clone()));
    let bind = a.bind;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot bind {bind}"))?;
        tracing::info!("lagesbild listening on http://{} (map: http://{}/map/)", listener.local_addr()?, listener.local_addr()?);
        axum::serve(listener, lagesbild::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

//! `lagesbild privacy-report --format html|json`: what the store holds that can be personal
//! data, for the data-protection officer.

use anyhow::{bail, Result};
use lagesbild::api::auth::Tokens;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// `html` (printable, Swedish) or `json`.
    #[arg(long, default_value = "html")]
    format: String,
    /// Write here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The token file `serve` uses (only the number of tokens per role is reported).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// The audit log (default: STORE.audit.log, as `serve`).
    #[arg(long)]
    audit_log: Option<PathBuf>,
}

pub fn run(location: &str, a: Args) -> Result<()> {
    // The record counts by SQL on the GeoPackage file; the PostGIS store has no such reader yet.
    if lagesbild::store::postgis::is_postgres_url(location) {
        bail!("privacy-report reads a GeoPackage store; a PostGIS store is not supported yet");
    }
    let store = Path::new(location);
    if !matches!(a.format.as_str(), "html" | "json") {
        bail!("--format {}: use html or json", a.format);
    }
    if !store.exists() {
        bail!("no store at {}", store.display());
    }
    let mut tokens = match &a.tokens {
        Some(p) => Tokens::from_file(p)?,
        None => Tokens::default(),
    };
    if let Ok(v) = std::env::var("LAGESBILD_TOKENS") {
        tokens = tokens.merge(Tokens::from_env_value(&v)?);
    }
    let input = lagesbild::privacy_report::ReportInput {
        audit_log: Some(a.audit_log.unwrap_or_else(|| store.with_extension("audit.log"))),
        tokens_by_role: tokens.count_by_role(),
        oidc_issuer: std::env::var("LAGESBILD_OIDC_ISSUER").ok(),
        retention: Default::default(),
    };
    let r = lagesbild::privacy_report::build(store, &input)?;
    let text = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&r)?,
        _ => lagesbild::privacy_report::to_html(&r),
    };
    match a.output {
        Some(p) => std::fs::write(&p, text)?,
        None => println!("{text}"),
    }
    Ok(())
}

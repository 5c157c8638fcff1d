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
    /// The `--retain-raw-days` `serve` runs with, to report it.
    #[arg(long)]
    retain_raw_days: Option<u32>,
    /// The `--retain-walk-text-days` `serve` runs with, to report it.
    #[arg(long)]
    retain_walk_text_days: Option<u32>,
}

pub fn run(location: &str, a: Args) -> Result<()> {
    if !matches!(a.format.as_str(), "html" | "json") {
        bail!("--format {}: use html or json", a.format);
    }
    let pg = lagesbild::store::postgis::is_postgres_url(location);
    let store = Path::new(location);
    if !pg && !store.exists() {
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
        audit_log: Some(a.audit_log.unwrap_or_else(|| super::serve::default_audit_log(location))),
        tokens_by_role: tokens.count_by_role(),
        oidc_issuer: std::env::var("LAGESBILD_OIDC_ISSUER").ok(),
        retention: lagesbild::privacy_report::Retention { raw_days: a.retain_raw_days, walk_text_days: a.retain_walk_text_days },
    };
    // A GeoPackage is counted by SQL on the file; PostGIS through the store's readers.
    let r = if pg {
        let s = lagesbild::store::open(location)?;
        lagesbild::privacy_report::build_from_store(&*s, &*s, &input)?
    } else {
        lagesbild::privacy_report::build(store, &input)?
    };
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

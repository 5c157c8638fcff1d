//! The command line: one file per command, each parsing its arguments, calling the library and
//! printing the result.

mod classify;
mod copy_store;
mod demo;
mod export;
mod gallra;
mod hash_token;
mod import;
mod migrate;
mod privacy_report;
mod profile;
mod report;
mod serve;
mod stats;
mod summary;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::collections::HashMap;

#[derive(Parser)]
#[command(name = "lagesbild", version, about = "Spatial analysis for Swedish municipalities: DeSO joins, hotspots, map layers")]
pub struct Cli {
    /// The store: a GeoPackage file, or a PostGIS database as postgresql://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, global = true, env = "LAGESBILD_STORE", default_value = "lagesbild.gpkg", hide_env_values = true)]
    store: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import areas, indicators or incidents from any OGR source or CSV.
    Import(import::Args),
    /// Incident counts per area and ISO week (table on stdout, CSV with --csv).
    Summary(summary::Args),
    /// Export a store layer, or (`export tiles`) the public vector tiles as PMTiles or MBTiles.
    Export(export::Args),
    /// Run the HTTP service.
    Serve(serve::Args),
    /// Print the SHA-256 of a token, for the token file (`role:sha256:HEX`).
    HashToken(hash_token::Args),
    /// Spatial statistics on any vector file (or, for point methods, the store's incidents).
    Stats {
        #[command(subcommand)]
        cmd: stats::StatsCmd,
    },
    /// Area classifications: områdestyp, index, housing, EST weekly status, goals.
    Classify {
        #[command(subcommand)]
        cmd: classify::ClassifyCmd,
    },
    /// The social area profile of a DeSO or RegSO (code or name).
    Profile(profile::Args),
    /// The EST report (week, month, tertial) and the yearly lägesbild, as HTML or PDF.
    Report {
        #[command(subcommand)]
        cmd: report::ReportCmd,
    },
    /// Write the seeded SYNTHETIC demo incidents for the areas in a file.
    DemoIncidents(demo::Args),
    /// Create or update a PostGIS store's schema (also done on first use).
    Migrate,
    /// Copy every import of one store, with its provenance, into another (e.g. GeoPackage to PostGIS).
    CopyStore(copy_store::Args),
    /// What the store holds that can be personal data, for the data-protection officer.
    PrivacyReport(privacy_report::Args),
    /// Gallring: remove raw incident points before a date, keeping weekly counts per DeSO.
    Gallra(gallra::Args),
}

pub fn run(cli: Cli) -> Result<()> {
    // Commands without a store never connect to one.
    let open = || lagesbild::store::open(&cli.store);
    match cli.command {
        Command::Import(a) => import::run(&*open()?, a),
        Command::Summary(a) => summary::run(&*open()?, a),
        Command::Export(a) => export::run(&*open()?, a),
        Command::Serve(a) => serve::run(open()?, &cli.store, a),
        Command::HashToken(a) => hash_token::run(a),
        Command::Stats { cmd } => stats::run(&*open()?, cmd),
        Command::Classify { cmd } => classify::run(&*open()?, cmd),
        Command::Profile(a) => profile::run(&*open()?, a),
        Command::Report { cmd } => report::run(&cli.store, cmd),
        Command::DemoIncidents(a) => demo::run(a),
        Command::Migrate => migrate::run(&cli.store),
        Command::CopyStore(a) => copy_store::run(a),
        Command::PrivacyReport(a) => privacy_report::run(&cli.store, a),
        Command::Gallra(a) => gallra::run(open()?, &cli.store, a),
    }
}

/// `NAME=VALUE` pairs of a list option.
fn parse_pairs(items: &[String], what: &str) -> Result<HashMap<String, String>> {
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).with_context(|| format!("{what}: expected NAME=VALUE, got '{s}'"))
        })
        .collect()
}

/// A JSON configuration file (goals, index, EST rule).
fn read_json<T: serde::de::DeserializeOwned>(p: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid configuration", p.display()))
}

/// `OUT.EXT.params.json` beside a result: how it was made.
fn write_params(output: &std::path::Path, params: serde_json::Value) -> Result<()> {
    let p = output.with_extension(format!("{}.params.json", output.extension().and_then(|e| e.to_str()).unwrap_or("out")));
    std::fs::write(&p, serde_json::to_string_pretty(&params)?)?;
    eprintln!("parameters written to {}", p.display());
    Ok(())
}

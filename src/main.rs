//! Command line: import, summary, export, serve. `anyhow` lives only here.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use lagesbild::import::{run_import, write_rejects, ImportError, ImportKind, ImportOptions};
use lagesbild::io::{parse_epsg, SourceOptions};
use lagesbild::model::{CategoryMap, Precision};
use lagesbild::store::{GpkgStore, Store};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "lagesbild", version, about = "Spatial analysis for Swedish municipalities: DeSO joins, hotspots, map layers")]
struct Cli {
    /// The GeoPackage store.
    #[arg(long, global = true, env = "LAGESBILD_STORE", default_value = "lagesbild.gpkg")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import areas, indicators or incidents from any OGR source or CSV.
    Import {
        #[arg(value_enum)]
        kind: Kind,
        file: PathBuf,
        #[command(flatten)]
        opts: ImportArgs,
    },
    /// Incident counts per area and ISO week (table on stdout, CSV with --csv).
    Summary {
        /// Write the full area × category × week table here (Swedish Excel CSV).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// DeSO edition (default: the newest in the store).
        #[arg(long)]
        deso_version: Option<String>,
    },
    /// Export a store layer.
    Export {
        /// areas, indicators, incidents, imports or summary
        layer: String,
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long)]
        output: PathBuf,
    },
    /// Run the HTTP service.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Write the seeded SYNTHETIC demo incidents for the areas in a file.
    DemoIncidents {
        /// Areas with RegSO names (GeoJSON/GeoPackage).
        #[arg(long)]
        areas: PathBuf,
        #[arg(long, default_value_t = 20251122)]
        seed: u64,
        #[arg(long, default_value_t = 104)]
        weeks: u32,
        /// Last day of the period (the generator fills whole ISO weeks before it).
        #[arg(long, default_value = "2026-11-16")]
        end: chrono::NaiveDate,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Areas,
    Indicators,
    Incidents,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Gpkg,
    Geojson,
    Csv,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// CRS of coordinates in a file that declares none, e.g. EPSG:3006.
    #[arg(long)]
    crs: Option<String>,
    /// Layer of a multi-layer source.
    #[arg(long)]
    layer: Option<String>,
    /// Explicit column mapping, e.g. `x=Östlig,y=Nordlig,category=Händelse,date=Datum,id=Nr`.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Import the valid rows and write the rejected ones to --rejects.
    #[arg(long)]
    skip_invalid: bool,
    /// Where --skip-invalid writes rejected rows (default: FILE.rejects.csv).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// CSV of `label;category` that extends the built-in category mapping.
    #[arg(long)]
    category_map: Option<PathBuf>,
    /// DeSO edition (2018 or 2025) when the file does not say.
    #[arg(long)]
    deso_version: Option<String>,
    /// Year of the indicator values when the file has no year column.
    #[arg(long)]
    year: Option<i32>,
    /// Per-column year overrides, e.g. `pop=2025,young=2025`.
    #[arg(long, value_delimiter = ',')]
    column_year: Vec<String>,
    /// Source recorded with indicator values, e.g. "SCB".
    #[arg(long)]
    source: Option<String>,
    /// Reporter for files without a reporter column, e.g. polis.
    #[arg(long)]
    reported_by: Option<String>,
    /// Location precision for files without a precision column.
    #[arg(long)]
    precision: Option<String>,
    /// Reject invalid polygons instead of repairing them.
    #[arg(long)]
    reject_invalid_polygons: bool,
}

fn parse_pairs(items: &[String], what: &str) -> Result<HashMap<String, String>> {
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .with_context(|| format!("{what}: expected NAME=VALUE, got '{s}'"))
        })
        .collect()
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=info".into()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let store = GpkgStore::new(&cli.store);
    match cli.command {
        Command::Import { kind, file, opts } => import(&store, kind, &file, opts),
        Command::Summary { csv, deso_version } => summary(&store, csv, deso_version),
        Command::Export { layer, format, output } => {
            let fmt = match format {
                Format::Gpkg => "gpkg",
                Format::Geojson => "geojson",
                Format::Csv => "csv",
            };
            let table = lagesbild::export::layer_table(&store, &layer)?;
            lagesbild::io::write_table_as(&output, &table, fmt)?;
            println!("wrote {} features of layer {layer} to {}", table.rows.len(), output.display());
            Ok(())
        }
        Command::Serve { bind } => serve(&store, &bind),
        Command::DemoIncidents { areas, seed, weeks, end, output } => {
            let data = lagesbild::io::read_source(&areas, &SourceOptions::default())?;
            // Reuse the import validation to get areas in EPSG:3006 without touching any store.
            let tmp = tempdir_store()?;
            let opts = ImportOptions { deso_version: Some("2025".into()), ..Default::default() };
            run_import(&tmp, ImportKind::Areas, &areas, &opts, &|_, _| {})?;
            let a = tmp.areas()?;
            let _ = std::fs::remove_file(tmp.path());
            let clusters = lagesbild::demo::default_clusters(&a);
            let rows = lagesbild::demo::generate(&a, &clusters, seed, weeks, end, 9.0);
            lagesbild::demo::write_csv(&output, &rows)?;
            println!("wrote {} SYNTHETIC incidents from {} areas ({}) to {}", rows.len(), a.len(), data.file_name, output.display());
            Ok(())
        }
    }
}

fn tempdir_store() -> Result<GpkgStore> {
    let p = std::env::temp_dir().join(format!("lagesbild-demo-{}.gpkg", std::process::id()));
    let _ = std::fs::remove_file(&p);
    Ok(GpkgStore::new(p))
}

fn import(store: &GpkgStore, kind: Kind, file: &std::path::Path, a: ImportArgs) -> Result<()> {
    let kind = match kind {
        Kind::Areas => ImportKind::Areas,
        Kind::Indicators => ImportKind::Indicators,
        Kind::Incidents => ImportKind::Incidents,
    };
    let crs_epsg = a.crs.as_deref().map(parse_epsg).transpose()?;
    let category_map = match &a.category_map {
        Some(p) => Some(CategoryMap::with_file(p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let precision = match &a.precision {
        Some(p) => Some(Precision::parse(p).with_context(|| format!("unknown precision '{p}'"))?),
        None => None,
    };
    let column_years = parse_pairs(&a.column_year, "--column-year")?
        .into_iter()
        .map(|(k, v)| v.parse::<i32>().map(|y| (k, y)).with_context(|| format!("--column-year: '{v}' is not a year")))
        .collect::<Result<_>>()?;
    let opts = ImportOptions {
        source: SourceOptions { layer: a.layer, crs_epsg },
        columns: parse_pairs(&a.columns, "--columns")?,
        skip_invalid: a.skip_invalid,
        category_map,
        deso_version: a.deso_version,
        year: a.year,
        column_years,
        source_label: a.source,
        reported_by: a.reported_by,
        precision,
        reject_invalid_polygons: a.reject_invalid_polygons,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar.set_message("validerar");
    let progress = |done: u64, total: u64| {
        if total >= 50_000 {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = run_import(store, kind, file, &opts, &progress);
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !report.rejects.is_empty() {
                let path = a.rejects.unwrap_or_else(|| file.with_extension("rejects.csv"));
                write_rejects(&path, &report.rejects)?;
                eprintln!("{} row(s) rejected; written with reasons to {}", report.rejects.len(), path.display());
                for (_, p) in report.rejects.iter().take(20) {
                    eprintln!("  {p}");
                }
            }
            let cols: Vec<String> = report.columns_used.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "imported {} {} from {} as {} (columns: {}; rejected: {}) into {}",
                report.record.accepted,
                report.record.kind,
                report.record.file_name,
                report.record.import_id,
                cols.join(", "),
                report.record.rejected,
                store.describe()
            );
            Ok(())
        }
        Err(ImportError::Invalid { file, problems }) => {
            for p in &problems {
                eprintln!("{p}");
            }
            bail!("{file}: {} invalid row(s); nothing was imported (the store is unchanged). Use --skip-invalid to import the valid rows.", problems.len())
        }
        Err(e) => Err(e.into()),
    }
}

fn summary(store: &GpkgStore, csv: Option<PathBuf>, version: Option<String>) -> Result<()> {
    let areas = store.areas()?;
    let sel = lagesbild::summary::select_edition(&areas, version.as_deref());
    if sel.is_empty() {
        bail!("no areas of DeSO edition {} in the store", version.unwrap_or_default());
    }
    let pop = lagesbild::summary::population_by_area(&areas, &store.indicators()?);
    let incidents = store.incidents()?;
    let s = lagesbild::summary::summarise(&sel, &incidents, &pop);
    let mut weeks: Vec<&str> = s.rows.iter().map(|r| r.iso_week.as_str()).collect();
    weeks.sort_unstable();
    weeks.dedup();
    println!(
        "DeSO {}: {} areas, {} incidents ({} in no area, {} on borders/overlaps, {} with area/municipality precision left out), weeks {}..{}",
        s.deso_version,
        sel.len(),
        incidents.len(),
        s.unassigned,
        s.ambiguous,
        s.excluded_imprecise,
        weeks.first().unwrap_or(&"-"),
        weeks.last().unwrap_or(&"-")
    );
    println!("{:<10} {:<28} {:>8} {:>10} {:>12}", "deso", "regso", "count", "residents", "per 1000");
    for a in &sel {
        let n = s.area_totals.get(&a.deso).copied().unwrap_or(0);
        let p = pop.get(&a.deso).copied();
        println!(
            "{:<10} {:<28} {:>8} {:>10} {:>12}",
            a.deso,
            a.regso_name,
            n,
            p.map(|p| format!("{p:.0}")).unwrap_or_else(|| "-".into()),
            p.filter(|p| *p > 0.0).map(|p| format!("{:.1}", 1000.0 * n as f64 / p)).unwrap_or_else(|| "-".into())
        );
    }
    if let Some(path) = csv {
        let t = lagesbild::export::summary_table(store, version.as_deref())?;
        lagesbild::io::write_table_as(&path, &t, "csv")?;
        println!("wrote {} rows (area × category × week) to {}", t.rows.len(), path.display());
    }
    Ok(())
}

fn serve(store: &GpkgStore, bind: &str) -> Result<()> {
    let state = lagesbild::AppState::from_store(store, Default::default())?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot bind {bind}"))?;
        tracing::info!("lagesbild listening on http://{}", listener.local_addr()?);
        axum::serve(listener, lagesbild::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

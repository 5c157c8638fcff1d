//! Command line: import, summary, export, serve. `anyhow` lives only here.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use lagesbild::import::{run_import, run_import_with_rejects, write_rejects, ImportError, ImportKind, ImportOptions};
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
    /// Export a store layer, or (`export tiles`) the public vector tiles as PMTiles or MBTiles.
    Export {
        /// areas, indicators, incidents, imports, summary or tiles
        layer: String,
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long)]
        output: PathBuf,
        /// Tiles: the collections to include, comma-separated (deso,incident_counts,…).
        #[arg(long, value_delimiter = ',')]
        layers: Vec<String>,
        /// Tiles: first zoom level.
        #[arg(long, default_value_t = 8)]
        minzoom: u8,
        /// Tiles: last zoom level (at most 16; clients overzoom past it).
        #[arg(long, default_value_t = 14)]
        maxzoom: u8,
        /// Tiles: Polisen's utsatta områden (GeoJSON) for the `police_areas` layer.
        #[arg(long)]
        uso: Option<PathBuf>,
        /// Tiles: municipality boundaries (GeoJSON) for the `municipalities` layer.
        #[arg(long)]
        boundaries: Option<PathBuf>,
        /// Tiles: smallest count shown (as `serve --min-count`).
        #[arg(long, default_value_t = 5)]
        min_count: u64,
    },
    /// Run the HTTP service.
    Serve {
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
    },
    /// Print the SHA-256 of a token, for the token file (`role:sha256:HEX`).
    HashToken { token: String },
    /// Spatial statistics on any vector file (or, for point methods, the store's incidents).
    Stats {
        #[command(subcommand)]
        cmd: StatsCmd,
    },
    /// Area classifications: områdestyp, index, housing, EST weekly status, goals.
    Classify {
        #[command(subcommand)]
        cmd: ClassifyCmd,
    },
    /// The social area profile of a DeSO or RegSO (code or name).
    Profile {
        /// DeSO code (0163C1170), RegSO code (0163R002) or RegSO name (Edsberg).
        area: String,
        #[arg(long, value_enum, default_value = "html")]
        format: ProfileFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Polisen's utsatta områden (GeoJSON) for the overlap section.
        #[arg(long)]
        uso: Option<PathBuf>,
        /// Goals (JSON list) for the goal section.
        #[arg(long)]
        goals: Option<PathBuf>,
        /// Index configuration (JSON).
        #[arg(long)]
        index_config: Option<PathBuf>,
        /// EST rule (JSON: weights, default_weight, yellow_from, red_from).
        #[arg(long)]
        est_rule: Option<PathBuf>,
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

#[derive(clap::Args)]
struct StatArgs {
    /// Any vector file GDAL reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, …).
    input: PathBuf,
    /// Numeric field to analyse.
    #[arg(long)]
    field: String,
    /// queen, rook, knn=K or band=METRES.
    #[arg(long, default_value = "queen")]
    weights: lagesbild::analysis::WeightsSpec,
    /// Snapping tolerance in metres for contiguity (slivers and gaps of simplified polygons).
    #[arg(long, default_value_t = 0.0)]
    tolerance: f64,
    /// B (binary) or R (row-standardised).
    #[arg(long, default_value = "B")]
    transform: String,
    #[arg(long, default_value_t = 999)]
    permutations: usize,
    #[arg(long, default_value_t = 20251122)]
    seed: u64,
    /// Reproject to this CRS before building weights (needed for distance weights on lon/lat).
    #[arg(long)]
    crs: Option<String>,
    /// Layer of a multi-layer source.
    #[arg(long)]
    layer: Option<String>,
}

#[derive(Subcommand)]
enum StatsCmd {
    /// Local Getis-Ord Gi / Gi*: adds gi_g, gi_z, gi_p, gi_p_sim, gi_bin.
    Gi {
        #[command(flatten)]
        a: StatArgs,
        /// Gi* (each feature in its own neighbourhood).
        #[arg(long)]
        star: bool,
        /// Benjamini-Hochberg FDR on the confidence bins.
        #[arg(long)]
        fdr: bool,
        #[arg(long)]
        output: PathBuf,
    },
    /// Local Moran (LISA): adds lisa_i, lisa_q, lisa_p_sim, lisa_cluster.
    Lisa {
        #[command(flatten)]
        a: StatArgs,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        #[arg(long)]
        output: PathBuf,
    },
    /// Rates per 1,000 for small areas: crude, empirical Bayes (esda's and the clipped
    /// GeoDa/ArcGIS variant), spatial rate and spatial EB over the weights, excess risk and
    /// Assunção–Reis standardised rates.
    Rates {
        /// Any vector file GDAL reads.
        input: PathBuf,
        /// Field with event counts.
        #[arg(long)]
        events: String,
        /// Field with the population at risk.
        #[arg(long)]
        population: String,
        /// Neighbourhood for the spatial rates: queen, rook, knn=K or band=METRES.
        #[arg(long, default_value = "queen")]
        weights: lagesbild::analysis::WeightsSpec,
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
        #[arg(long)]
        crs: Option<String>,
        #[arg(long)]
        layer: Option<String>,
        #[arg(long)]
        output: PathBuf,
    },
    /// Global Moran's I as JSON.
    Moran {
        #[command(flatten)]
        a: StatArgs,
    },
    /// Quartic kernel density of the store's incidents (or a point file) as GeoTIFF.
    Kde {
        /// Point file; the store's point-precision incidents when left out.
        input: Option<PathBuf>,
        /// Search radius in metres, or `auto` for ArcGIS's default.
        #[arg(long, default_value = "auto")]
        radius: String,
        #[arg(long, default_value_t = 50.0)]
        cell: f64,
        #[arg(long)]
        output: PathBuf,
        /// Also write density classes as polygons (GeoJSON/GeoPackage/CSV).
        #[arg(long)]
        classes: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        class_count: usize,
    },
    /// Optimized hot spots (auto cell size and distance band) of the store's incidents.
    Hotspots {
        input: Option<PathBuf>,
        /// Override the automatic cell size (metres).
        #[arg(long)]
        cell: Option<f64>,
        /// Override the automatic distance band (metres).
        #[arg(long)]
        band: Option<f64>,
        /// Aggregate to hexagons instead of squares.
        #[arg(long)]
        hex: bool,
        #[arg(long)]
        output: PathBuf,
    },
    /// Emerging hot spots per grid cell over weekly (or --step-days) time steps.
    Emerging {
        #[arg(long, default_value_t = 250.0)]
        cell: f64,
        #[arg(long, default_value_t = 7)]
        step_days: i64,
        /// Neighbourhood distance in metres (default: 1.5 cells, the 8 surrounding cells).
        #[arg(long)]
        distance: Option<f64>,
        #[arg(long, default_value_t = 1)]
        time_steps: usize,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Hexagon cells instead of squares.
        #[arg(long)]
        hex: bool,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileFormat {
    Html,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Level {
    Deso,
    Regso,
}

#[derive(Clone, Copy, ValueEnum)]
enum PeriodArg {
    Tertial,
    Year,
}

#[derive(Subcommand)]
enum ClassifyCmd {
    /// Områdestyp per DeSO from SCB's RegSO table, joined by name through SCB's key; stored as
    /// the indicator `omradestyp`. Unmatched names are reported.
    Omradestyp {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        types: PathBuf,
        /// Year of the types (default: the table's header).
        #[arg(long)]
        year: Option<i32>,
    },
    /// Composite life-conditions index per DeSO or RegSO.
    Index {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "deso")]
        level: Level,
        #[arg(long)]
        output: PathBuf,
    },
    /// Dominant tenure, tenure mix and crowding class per DeSO.
    Housing {
        #[arg(long)]
        output: PathBuf,
    },
    /// EST weekly status (green/yellow/red) per area and week; counts per tertial or year.
    Est {
        #[arg(long, value_enum, default_value = "deso")]
        level: Level,
        /// Named custom areas (polygons, e.g. "Tureberg") instead of DeSO/RegSO.
        #[arg(long)]
        custom_areas: Option<PathBuf>,
        #[arg(long, default_value = "name")]
        name_field: String,
        #[arg(long, value_enum, default_value = "tertial")]
        period: PeriodArg,
        #[arg(long)]
        rule: Option<PathBuf>,
        /// Counts of green/yellow/red weeks per area and period.
        #[arg(long)]
        output: PathBuf,
        /// Also write every area × week status here.
        #[arg(long)]
        weeks: Option<PathBuf>,
    },
    /// SCB's socioeconomic index from its three parts (indicator names in the store) and types
    /// derived from it by mean ± k·SD, always labelled "derived", never SCB's official type.
    Socioeconomic {
        /// Share with low economic standard (%).
        #[arg(long, default_value = "low_econ")]
        low_econ: String,
        /// Share aged 20–64 with only förgymnasial education (%).
        #[arg(long, default_value = "low_education")]
        education: String,
        /// Share aged 20–64 with long income support or long unemployment (%).
        #[arg(long, default_value = "long_support")]
        support: String,
        /// Cut points in standard deviations, from type 1 to type 4 (default 1.5,0.5,-0.5,-1.5).
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        k: Vec<f64>,
        #[arg(long)]
        output: PathBuf,
    },
    /// Goal status for a JSON list of goals.
    Goals {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Areas,
    Indicators,
    Incidents,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Gpkg,
    Geojson,
    Csv,
    Pmtiles,
    Mbtiles,
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
    /// Where rejected rows go with their reasons: with --skip-invalid (default FILE.rejects.csv), and for a refused file.
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
            s.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).with_context(|| format!("{what}: expected NAME=VALUE, got '{s}'"))
        })
        .collect()
}

/// `export tiles`: builds the service's layers from the store, then writes the public tiles with
/// a progress bar on stderr.
fn export_tiles(store: &GpkgStore, config: lagesbild::api::ServiceConfig, opts: &lagesbild::tiles::export::ExportOptions) -> Result<()> {
    let state = lagesbild::AppState::new(store, config, Default::default())?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("tiler [{bar:40}] {pos}/{len} {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let report = lagesbild::tiles::export::export(&state, opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = report?;
    println!("wrote {} tiles ({} bytes) of layers {} to {}", report.tiles, report.bytes, report.layers.join(","), opts.output.display());
    Ok(())
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
        Command::Export { layer, format, output, layers, minzoom, maxzoom, uso, boundaries, min_count } => {
            let fmt = match format {
                Format::Gpkg => "gpkg",
                Format::Geojson => "geojson",
                Format::Csv => "csv",
                Format::Pmtiles | Format::Mbtiles if layer == "tiles" => {
                    let container =
                        if format == Format::Pmtiles { lagesbild::tiles::export::Container::Pmtiles } else { lagesbild::tiles::export::Container::Mbtiles };
                    let config = lagesbild::api::ServiceConfig { min_public_count: min_count, police_areas: uso, boundaries, ..Default::default() };
                    let opts = lagesbild::tiles::export::ExportOptions { layers, container, minzoom, maxzoom, output };
                    return export_tiles(&store, config, &opts);
                }
                Format::Pmtiles | Format::Mbtiles => bail!("--format pmtiles|mbtiles is for `export tiles`"),
            };
            if layer == "tiles" {
                bail!("export tiles needs --format pmtiles or mbtiles");
            }
            let table = lagesbild::export::layer_table(&store, &layer)?;
            lagesbild::io::write_table_as(&output, &table, fmt)?;
            println!("wrote {} features of layer {layer} to {}", table.rows.len(), output.display());
            Ok(())
        }
        Command::Serve {
            bind,
            uso,
            boundaries,
            tokens,
            audit_log,
            cors,
            min_count,
            basemap,
            basemap_attribution,
            oidc,
            max_upload_mb,
            analysis_cache_mb,
            analysis_workers,
            analysis_queue,
        } => {
            let mut t = match &tokens {
                Some(p) => lagesbild::api::auth::Tokens::from_file(p)?,
                None => Default::default(),
            };
            if let Ok(v) = std::env::var("LAGESBILD_TOKENS") {
                t = t.merge(lagesbild::api::auth::Tokens::from_env_value(&v)?);
            }
            let audit_log = audit_log.unwrap_or_else(|| cli.store.with_extension("audit.log"));
            let workers = analysis_workers.unwrap_or_else(lagesbild::api::bounded::default_workers).max(1);
            let config = lagesbild::api::ServiceConfig {
                min_public_count: min_count,
                police_areas: uso,
                boundaries,
                audit_log: Some(audit_log),
                cors_origins: cors,
                basemap,
                basemap_attribution,
                max_upload_mb,
                analysis_cache_mb,
                analysis_workers: workers,
                analysis_queue: analysis_queue.unwrap_or(4 * workers),
            };
            serve(&store, &bind, config, t, oidc.config()?)
        }
        Command::HashToken { token } => {
            println!("sha256:{}", lagesbild::api::auth::hash_token(&token));
            Ok(())
        }
        Command::Stats { cmd } => stats_cmd(&store, cmd),
        Command::Classify { cmd } => classify_cmd(&store, cmd),
        Command::Profile { area, format, output, uso, goals, index_config, est_rule } => {
            let mut opts = lagesbild::profile::ProfileOptions::default();
            if let Some(p) = uso {
                opts.police = lagesbild::profile::read_police_areas(&p).map_err(anyhow::Error::msg)?;
            }
            if let Some(p) = goals {
                opts.goals = read_json(&p)?;
            }
            if let Some(p) = index_config {
                opts.index = read_json(&p)?;
            }
            if let Some(p) = est_rule {
                opts.est_rule = read_json(&p)?;
            }
            let prof = lagesbild::profile::build(&store, &area, &opts)?;
            let text = match format {
                ProfileFormat::Html => lagesbild::profile::to_html(&prof),
                ProfileFormat::Csv => lagesbild::profile::to_csv(&prof),
                ProfileFormat::Json => serde_json::to_string_pretty(&prof)?,
            };
            match output {
                Some(p) => {
                    std::fs::write(&p, text)?;
                    println!("wrote the profile of {} to {}", prof.area.name, p.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
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

/// How many problems of a refused file the terminal shows; `--rejects FILE` gets them all.
const SHOWN_PROBLEMS: usize = 50;

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
        imported_by: None,
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
    // A refused file's problem rows go to --rejects too: the terminal shows only the first 50.
    let result = run_import_with_rejects(store, kind, file, &opts, a.rejects.as_deref(), &progress);
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
            for p in problems.iter().take(SHOWN_PROBLEMS) {
                eprintln!("{p}");
            }
            match &a.rejects {
                Some(p) => eprintln!("all {} problem row(s), with their reasons, are in {}", problems.len(), p.display()),
                None if problems.len() > SHOWN_PROBLEMS => {
                    eprintln!("… and {} more (--rejects FILE writes them all)", problems.len() - SHOWN_PROBLEMS)
                }
                None => {}
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

fn serve(
    store: &GpkgStore,
    bind: &str,
    config: lagesbild::api::ServiceConfig,
    tokens: lagesbild::api::auth::Tokens,
    oidc: Option<lagesbild::api::oidc::OidcConfig>,
) -> Result<()> {
    let shared: std::sync::Arc<GpkgStore> = std::sync::Arc::new(store.clone());
    // A missing or unreadable store fails here, before the port opens.
    use lagesbild::store::Store;
    store.imports()?;
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
    let build = move || -> std::result::Result<lagesbild::AppState, String> {
        let mut state = lagesbild::AppState::new(s2.as_ref(), config, tokens).map_err(|e| e.to_string())?.with_walks(s2.clone()).with_imports(s2.clone());
        state.oidc = verifier;
        Ok(state)
    };
    // Loads in the background; imports and undos (over HTTP or from this command line) show
    // without a restart.
    let (router, _live) = lagesbild::api::live::start(shared, std::time::Duration::from_secs(1), build);
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot bind {bind}"))?;
        tracing::info!("lagesbild listening on http://{} (map: http://{}/map/)", listener.local_addr()?, listener.local_addr()?);
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

fn load_for(a: &StatArgs) -> Result<(lagesbild::analysis::Layer, lagesbild::stats::Weights, lagesbild::stats::Transform)> {
    let to = a.crs.as_deref().map(parse_epsg).transpose()?;
    let layer = lagesbild::analysis::load(&a.input, a.layer.clone(), &a.field, to)?;
    let w = lagesbild::analysis::build_weights(&layer, &a.weights, a.tolerance)?;
    if let Some(msg) = lagesbild::analysis::describe_islands(&w, &layer) {
        eprintln!("warning: {msg}");
    }
    let t = lagesbild::analysis::parse_transform(&a.transform).map_err(anyhow::Error::msg)?;
    Ok((layer, w, t))
}

fn write_params(output: &std::path::Path, params: serde_json::Value) -> Result<()> {
    let p = output.with_extension(format!("{}.params.json", output.extension().and_then(|e| e.to_str()).unwrap_or("out")));
    std::fs::write(&p, serde_json::to_string_pretty(&params)?)?;
    eprintln!("parameters written to {}", p.display());
    Ok(())
}

fn store_points(store: &GpkgStore) -> Result<Vec<lagesbild::model::Incident>> {
    Ok(store.incidents()?.into_iter().filter(|i| i.precision.is_point_statistic()).collect())
}

fn points_from(store: &GpkgStore, input: Option<PathBuf>) -> Result<Vec<[f64; 2]>> {
    match input {
        None => Ok(store_points(store)?.iter().map(|i| [i.location.x(), i.location.y()]).collect()),
        Some(p) => {
            let data = lagesbild::io::read_source(&p, &SourceOptions::default())?;
            let epsg = data.epsg.with_context(|| format!("{}: no CRS", data.file_name))?;
            let t = if epsg == 3006 { None } else { Some(lagesbild::io::transform_between(epsg, 3006)?) };
            let mut out = Vec::new();
            for r in &data.records {
                let Some(g) = &r.geometry else { bail!("{}: missing geometry", r.location) };
                let g = match &t {
                    Some(t) => lagesbild::analysis::reproject(g, t).map_err(anyhow::Error::msg)?,
                    None => g.clone(),
                };
                match g {
                    geo::Geometry::Point(p) => out.push([p.x(), p.y()]),
                    _ => bail!("{}: expected a point", r.location),
                }
            }
            Ok(out)
        }
    }
}

fn stats_cmd(store: &GpkgStore, cmd: StatsCmd) -> Result<()> {
    use lagesbild::io::{Column, ColumnKind, Value};
    use lagesbild::stats::*;
    match cmd {
        StatsCmd::Gi { a, star, fdr, output } => {
            let (layer, w, t) = load_for(&a)?;
            let params = GiParams { star, transform: t, permutations: a.permutations, seed: a.seed, fdr };
            let r = getis_ord(&layer.y, &w, &params)?;
            let table = lagesbild::analysis::with_results(
                &layer,
                "getis_ord",
                vec![
                    (Column::new("gi_g", ColumnKind::Real), r.g.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_z", ColumnKind::Real), r.z.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_p", ColumnKind::Real), r.p_norm.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_p_sim", ColumnKind::Real), r.p_sim.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("gi_bin", ColumnKind::Integer), r.bin.iter().map(|v| Value::Int(*v as i64)).collect()),
                ],
            );
            lagesbild::io::write_table(&output, &table)?;
            write_params(
                &output,
                serde_json::json!({"statistic": if star {"Gi*"} else {"Gi"}, "params": r.params, "weights": r.weights, "tolerance_m": a.tolerance, "islands": r.islands, "input": a.input, "field": a.field, "library": r.library}),
            )?;
            let hot = r.bin.iter().filter(|b| **b > 0).count();
            let cold = r.bin.iter().filter(|b| **b < 0).count();
            println!("wrote {} features to {} ({hot} hot, {cold} cold at 90 % or more{})", layer.y.len(), output.display(), if fdr { ", FDR" } else { "" });
        }
        StatsCmd::Lisa { a, alpha, output } => {
            let (layer, w, t) = load_for(&a)?;
            let params = LisaParams { transform: t, permutations: a.permutations, seed: a.seed, alpha };
            let r = local_moran(&layer.y, &w, &params)?;
            let table = lagesbild::analysis::with_results(
                &layer,
                "local_moran",
                vec![
                    (Column::new("lisa_i", ColumnKind::Real), r.i.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("lisa_q", ColumnKind::Integer), r.q.iter().map(|v| Value::Int(*v as i64)).collect()),
                    (Column::new("lisa_p_sim", ColumnKind::Real), r.p_sim.iter().map(|v| Value::from(*v)).collect()),
                    (Column::new("lisa_cluster", ColumnKind::Text), r.cluster.iter().map(|v| Value::from(*v)).collect()),
                ],
            );
            lagesbild::io::write_table(&output, &table)?;
            write_params(
                &output,
                serde_json::json!({"statistic": "local Moran", "params": r.params, "weights": r.weights, "tolerance_m": a.tolerance, "islands": r.islands, "input": a.input, "field": a.field, "library": r.library}),
            )?;
            println!("wrote {} features to {}", layer.y.len(), output.display());
        }
        StatsCmd::Rates { input, events, population, weights, tolerance, crs, layer, output } => {
            let to = crs.as_deref().map(parse_epsg).transpose()?;
            let lay = lagesbild::analysis::load(&input, layer.clone(), &events, to)?;
            let pop = lagesbild::analysis::load(&input, layer, &population, to)?;
            let w = lagesbild::analysis::build_weights(&lay, &weights, tolerance)?;
            let r = smoothing::rates(&lay.y, &pop.y).map_err(|e| anyhow::anyhow!("{}: {e}", lay.file))?;
            let sr = smoothing::spatial_rates(&lay.y, &pop.y, &w).map_err(|e| anyhow::anyhow!("{}: {e}", lay.file))?;
            let per = |v: &[f64]| v.iter().map(|x| Value::from(1000.0 * x)).collect::<Vec<_>>();
            let table = lagesbild::analysis::with_results(
                &lay,
                "rates",
                vec![
                    (Column::new("rate_crude_per_1000", ColumnKind::Real), per(&r.crude)),
                    (Column::new("rate_eb_per_1000", ColumnKind::Real), per(&r.eb)),
                    (Column::new("rate_eb_clipped_per_1000", ColumnKind::Real), per(&r.eb_clipped)),
                    (Column::new("rate_spatial_per_1000", ColumnKind::Real), per(&sr.spatial_rate)),
                    (Column::new("rate_seb_per_1000", ColumnKind::Real), per(&sr.spatial_eb)),
                    (Column::new("excess_risk", ColumnKind::Real), r.excess_risk.iter().map(|x| Value::from(*x)).collect()),
                    (Column::new("rate_ar_z", ColumnKind::Real), r.assuncao_reis.iter().map(|x| Value::from(*x)).collect()),
                ],
            );
            lagesbild::io::write_table(&output, &table)?;
            write_params(
                &output,
                serde_json::json!({"method": "rates (Marshall 1991 EB; Assunção & Reis 1999)", "events": events, "population": population, "mean_rate_per_1000": 1000.0 * r.m, "prior_variance": r.a, "clipped": r.a < 0.0, "weights": w.kind, "tolerance_m": tolerance, "library": LIBRARY}),
            )?;
            println!(
                "wrote rates for {} areas to {} (mean {:.2} per 1 000{})",
                lay.y.len(),
                output.display(),
                1000.0 * r.m,
                if r.a < 0.0 { "; prior variance < 0: esda's EB leaves [0,1], the clipped EB equals the mean" } else { "" }
            );
        }
        StatsCmd::Moran { a } => {
            let (_layer, w, t) = load_for(&a)?;
            let m = moran(&_layer.y, &w, t, a.permutations, a.seed)?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        StatsCmd::Kde { input, radius, cell, output, classes, class_count } => {
            let xy = points_from(store, input)?;
            let r = if radius == "auto" {
                kde::default_bandwidth(&xy, None).context("need at least two points for a default radius")?.search_radius
            } else {
                radius.parse::<f64>().ok().filter(|r| *r > 0.0).with_context(|| format!("--radius: '{radius}' is not a positive number of metres or 'auto'"))?
            };
            let raster = kde::density_around(&xy, None, r, cell);
            let (ncols, nrows) = (raster.ncols, raster.nrows);
            kde::write_geotiff(&output, &raster).map_err(anyhow::Error::msg)?;
            println!("wrote {}×{} density raster (radius {r:.0} m, cell {cell} m, {} points) to {}", ncols, nrows, xy.len(), output.display());
            if let Some(cpath) = classes {
                let breaks = kde::quantile_breaks(&raster, class_count);
                let polys = kde::class_polygons(&raster, &breaks);
                let table = lagesbild::io::Table {
                    name: "density_classes".into(),
                    epsg: Some(3006),
                    columns: vec![
                        Column::new("class", ColumnKind::Integer),
                        Column::new("min_per_km2", ColumnKind::Real),
                        Column::new("max_per_km2", ColumnKind::Real),
                    ],
                    rows: polys
                        .into_iter()
                        .map(|(c, lo, hi, g)| lagesbild::io::TableRow {
                            values: vec![Value::Int(c as i64), Value::from(lo * 1e6), Value::from(if hi.is_finite() { hi * 1e6 } else { f64::NAN })],
                            geometry: Some(g.into()),
                        })
                        .collect(),
                };
                lagesbild::io::write_table(&cpath, &table)?;
                println!("wrote {} density classes to {}", table.rows.len(), cpath.display());
            }
            write_params(
                &output,
                serde_json::json!({"method": "quartic kernel (ArcGIS)", "radius_m": r, "radius_auto": radius == "auto", "cell_size_m": cell, "points": xy.len(), "units": "per m² (×1e6 per km²)", "library": LIBRARY}),
            )?;
        }
        StatsCmd::Hotspots { input, cell, band, hex, output } => {
            let xy = points_from(store, input)?;
            let shape = if hex { lagesbild::spatial::grid::Shape::Hexagon } else { lagesbild::spatial::grid::Shape::Square };
            let r = optimized::optimized_hot_spots_with(&xy, None, cell, band, shape)?;
            let table = lagesbild::io::Table {
                name: "hotspots".into(),
                epsg: Some(3006),
                columns: vec![
                    Column::new("cell_id", ColumnKind::Text),
                    Column::new("count", ColumnKind::Integer),
                    Column::new("gi_z", ColumnKind::Real),
                    Column::new("gi_p", ColumnKind::Real),
                    Column::new("gi_bin", ColumnKind::Integer),
                ],
                rows: r
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| lagesbild::io::TableRow {
                        values: vec![
                            Value::from(c.id.clone()),
                            Value::Int(r.counts[i] as i64),
                            Value::from(r.gi.z[i]),
                            Value::from(r.gi.p_norm[i]),
                            Value::Int(r.fdr_bin[i] as i64),
                        ],
                        geometry: Some(c.polygon.clone().into()),
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &table)?;
            write_params(&output, serde_json::json!({"method": "optimized hot spots (Gi*, FDR)", "choices": r.choices, "library": LIBRARY}))?;
            println!("{}", serde_json::to_string_pretty(&r.choices)?);
        }
        StatsCmd::Emerging { cell, step_days, distance, time_steps, alpha, hex, output } => {
            let inc = store_points(store)?;
            if inc.is_empty() {
                bail!("the store has no point-precision incidents");
            }
            let shape = if hex { lagesbild::spatial::grid::Shape::Hexagon } else { lagesbild::spatial::grid::Shape::Square };
            let grid = lagesbild::spatial::grid::GridSpec { cell_size_m: cell, shape };
            let pts: Vec<([f64; 2], chrono::NaiveDateTime)> = inc.iter().map(|i| ([i.location.x(), i.location.y()], i.occurred_at)).collect();
            let cube = lagesbild::spatial::grid::space_time_cube(&pts, &grid, step_days).context("no incidents")?;
            let (cells, counts, start, steps) = (cube.cells, cube.counts, cube.start, cube.steps);
            let xy: Vec<[f64; 2]> = cells.iter().map(|c| c.centre).collect();
            let params = emerging::EmergingParams { distance: distance.unwrap_or(cell * 1.5), time_steps, alpha };
            let r = emerging::emerging_hot_spots(&xy, &counts, &params)?;
            let table = lagesbild::io::Table {
                name: "emerging_hotspots".into(),
                epsg: Some(3006),
                columns: vec![
                    Column::new("cell_id", ColumnKind::Text),
                    Column::new("pattern", ColumnKind::Text),
                    Column::new("pattern_sv", ColumnKind::Text),
                    Column::new("incidents", ColumnKind::Integer),
                    Column::new("hot_steps", ColumnKind::Integer),
                    Column::new("cold_steps", ColumnKind::Integer),
                    Column::new("trend_z", ColumnKind::Real),
                    Column::new("trend_p", ColumnKind::Real),
                    Column::new("trend_tau", ColumnKind::Real),
                ],
                rows: cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| lagesbild::io::TableRow {
                        values: vec![
                            Value::from(c.id.clone()),
                            Value::from(serde_json::to_value(r.pattern[i]).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                            Value::from(r.pattern[i].label_sv()),
                            Value::Int(counts[i].iter().sum::<f64>() as i64),
                            Value::Int(r.significance[i].iter().filter(|s| **s > 0).count() as i64),
                            Value::Int(r.significance[i].iter().filter(|s| **s < 0).count() as i64),
                            Value::from(r.trend[i].z),
                            Value::from(r.trend[i].p),
                            Value::from(r.trend[i].tau),
                        ],
                        geometry: Some(c.polygon.clone().into()),
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &table)?;
            let mut tally: std::collections::BTreeMap<&str, usize> = Default::default();
            for p in &r.pattern {
                *tally.entry(p.label_sv()).or_default() += 1;
            }
            write_params(
                &output,
                serde_json::json!({"method": "emerging hot spots (space-time Gi*, FDR, Mann-Kendall)", "cell_size_m": cell, "time_step_days": step_days, "steps": steps, "first_step_starts": start.to_string(), "params": params, "unverified": "significance and trend thresholds are not verified against ArcGIS", "library": LIBRARY}),
            )?;
            println!("wrote {} cells × {steps} steps to {}: {:?}", cells.len(), output.display(), tally);
        }
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(p: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid configuration", p.display()))
}

fn classify_cmd(store: &GpkgStore, cmd: ClassifyCmd) -> Result<()> {
    use lagesbild::classify::*;
    use lagesbild::io::{Column, ColumnKind, Table, TableRow, Value};
    let all = store.areas()?;
    let areas: Vec<lagesbild::model::Area> = lagesbild::summary::select_edition(&all, None).into_iter().cloned().collect();
    match cmd {
        ClassifyCmd::Omradestyp { key, types, year } => {
            let (t, header_year) = omradestyp::read_types(&types)?;
            let k = omradestyp::read_key(&key)?;
            let desos: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
            let inh = omradestyp::inherit(&t, &k, &desos);
            for u in &inh.unmatched_regso {
                eprintln!("warning: RegSO {u} from the key has no row in {}", types.display());
            }
            for u in &inh.unmatched_deso {
                eprintln!("warning: DeSO {u} is not in {} (nor its 2018 parent)", key.display());
            }
            for u in &inh.unused_type_rows {
                eprintln!("note: {u} in {} matches no DeSO in the store", types.display());
            }
            let year = year.or(header_year).context("the types file has no year in its header; pass --year")?;
            if store.indicators()?.iter().any(|v| v.indicator == "omradestyp" && v.year == year) {
                bail!("områdestyp for {year} is already in the store");
            }
            let values = lagesbild::profile::omradestyp_values(&inh, year, "SCB 000005QX (områdestyp per RegSO)");
            let sha = lagesbild::io::sha256_file(&types)?;
            let record = lagesbild::model::ImportRecord {
                import_id: format!("omradestyp-{}", &sha[..12]),
                kind: "classification".into(),
                file_name: types.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                sha256: sha,
                imported_at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                accepted: values.len() as u64,
                rejected: (inh.unmatched_deso.len() + desos.len() - inh.per_deso.len() - inh.unmatched_deso.len()) as u64,
                imported_by: "cli".into(),
            };
            store.write_import(&lagesbild::store::ImportBatch::Indicators(values.clone()), &record)?;
            let mut by_type = [0usize; 6];
            for v in &values {
                by_type[v.value as usize] += 1;
            }
            println!(
                "områdestyp {year} stored for {} of {} DeSO (type 1: {}, 2: {}, 3: {}, 4: {}, 5: {}); {} unmatched RegSO, {} unmatched DeSO",
                values.len(),
                desos.len(),
                by_type[1],
                by_type[2],
                by_type[3],
                by_type[4],
                by_type[5],
                inh.unmatched_regso.len(),
                inh.unmatched_deso.len()
            );
        }
        ClassifyCmd::Index { config, level, output } => {
            let cfg: index::IndexConfig = match config {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            let ind = store.indicators()?;
            let pop = lagesbild::summary::population_by_area(&all, &ind);
            let mut latest: std::collections::BTreeMap<(String, String), (i32, f64)> = Default::default();
            for v in &ind {
                let e = latest.entry((v.deso.clone(), v.indicator.clone())).or_insert((v.year, v.value));
                if v.year > e.0 {
                    *e = (v.year, v.value);
                }
            }
            let mut groups: std::collections::BTreeMap<String, Vec<&lagesbild::model::Area>> = Default::default();
            for a in &areas {
                groups.entry(if level == Level::Deso { a.deso.clone() } else { a.regso.clone() }).or_default().push(a);
            }
            let mut table: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> = Default::default();
            for (unit, members) in &groups {
                let mut m = std::collections::BTreeMap::new();
                for var in &cfg.variables {
                    let vals: Vec<(f64, f64)> = members
                        .iter()
                        .filter_map(|a| latest.get(&(a.deso.clone(), var.indicator.clone())).map(|(_, v)| (*v, pop.get(&a.deso).copied().unwrap_or(1.0))))
                        .collect();
                    let w: f64 = vals.iter().map(|v| v.1).sum();
                    if !vals.is_empty() && w > 0.0 {
                        m.insert(var.indicator.clone(), vals.iter().map(|v| v.0 * v.1).sum::<f64>() / w);
                    }
                }
                table.insert(unit.clone(), m);
            }
            let rows = index::composite(&table, &cfg);
            let mut columns = vec![
                Column::new("area", ColumnKind::Text),
                Column::new("score", ColumnKind::Real),
                Column::new("rank", ColumnKind::Integer),
                Column::new("quintile", ColumnKind::Integer),
                Column::new("missing", ColumnKind::Text),
            ];
            for v in &cfg.variables {
                columns.push(Column::new(&format!("contrib_{}", v.indicator), ColumnKind::Real));
            }
            let geom_of = |unit: &str| -> Option<geo::Geometry<f64>> {
                let mut mp = geo::MultiPolygon(vec![]);
                for a in groups.get(unit)? {
                    mp.0.extend(a.geometry.0.iter().cloned());
                }
                Some(mp.into())
            };
            let t = Table {
                name: "life_conditions_index".into(),
                epsg: Some(3006),
                columns,
                rows: rows
                    .iter()
                    .map(|r| {
                        let mut values = vec![
                            Value::from(r.area.clone()),
                            Value::from(r.score),
                            r.rank.map(|x| Value::Int(x as i64)).unwrap_or(Value::Null),
                            r.quintile.map(|x| Value::Int(x as i64)).unwrap_or(Value::Null),
                            Value::from(r.missing.join(",")),
                        ];
                        for v in &cfg.variables {
                            values.push(Value::from(r.contributions.get(&v.indicator).copied()));
                        }
                        TableRow { values, geometry: geom_of(&r.area) }
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &t)?;
            let missing = rows.iter().filter(|r| r.score.is_none()).count();
            println!("wrote the index of {} areas to {} ({missing} without a score because of missing inputs)", rows.len(), output.display());
            for r in rows.iter().filter(|r| !r.missing.is_empty()).take(10) {
                eprintln!("  {}: missing {}", r.area, r.missing.join(", "));
            }
        }
        ClassifyCmd::Housing { output } => {
            let ind = store.indicators()?;
            let get = |d: &str, n: &str| ind.iter().filter(|v| v.deso == d && v.indicator == n).max_by_key(|v| v.year).map(|v| v.value);
            let rule = housing::CrowdingRule::default();
            let t = Table {
                name: "housing_classes".into(),
                epsg: Some(3006),
                columns: vec![
                    Column::new("deso", ColumnKind::Text),
                    Column::new("regso_name", ColumnKind::Text),
                    Column::new("dominant_tenure", ColumnKind::Text),
                    Column::new("rental_share_pct", ColumnKind::Real),
                    Column::new("tenure_diversity", ColumnKind::Real),
                    Column::new("crowding_pct", ColumnKind::Real),
                    Column::new("crowding_class", ColumnKind::Text),
                ],
                rows: areas
                    .iter()
                    .map(|a| {
                        let c = get(&a.deso, "crowding_pct");
                        let h = housing::classify_housing(
                            get(&a.deso, "tenure_hyresratt"),
                            get(&a.deso, "tenure_bostadsratt"),
                            get(&a.deso, "tenure_aganderatt"),
                            c,
                            &rule,
                        );
                        TableRow {
                            values: vec![
                                a.deso.clone().into(),
                                a.regso_name.clone().into(),
                                h.dominant_tenure.into(),
                                h.rental_share_pct.into(),
                                h.tenure_diversity.into(),
                                c.into(),
                                h.crowding_class.map(Value::from).unwrap_or(Value::Null),
                            ],
                            geometry: Some(a.geometry.clone().into()),
                        }
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &t)?;
            println!("wrote housing classes of {} DeSO to {}", areas.len(), output.display());
        }
        ClassifyCmd::Est { level, custom_areas, name_field, period, rule, output, weeks } => {
            let rule: est::EstRule = match rule {
                Some(p) => read_json(&p)?,
                None => Default::default(),
            };
            let inc: Vec<lagesbild::model::Incident> = store.incidents()?.into_iter().filter(|i| i.precision.is_point_statistic()).collect();
            if inc.is_empty() {
                bail!("the store has no point-precision incidents");
            }
            let (names, polys): (Vec<String>, Vec<geo::MultiPolygon<f64>>) = match &custom_areas {
                Some(p) => {
                    let data = lagesbild::io::read_source(p, &SourceOptions::default())?;
                    let epsg = data.epsg.with_context(|| format!("{}: no CRS", data.file_name))?;
                    let t = lagesbild::io::transform_between(epsg, 3006)?;
                    let mut names = vec![];
                    let mut polys = vec![];
                    for r in &data.records {
                        let g = lagesbild::analysis::reproject(r.geometry.as_ref().with_context(|| format!("{}: missing geometry", r.location))?, &t)
                            .map_err(anyhow::Error::msg)?;
                        polys.push(match g {
                            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                            geo::Geometry::MultiPolygon(m) => m,
                            _ => bail!("{}: not a polygon", r.location),
                        });
                        names.push(
                            r.get(&name_field)
                                .with_context(|| format!("{}: no field '{name_field}' (fields: {})", data.file_name, data.columns.join(", ")))?
                                .to_string(),
                        );
                    }
                    (names, polys)
                }
                None => (areas.iter().map(|a| a.deso.clone()).collect(), areas.iter().map(|a| a.geometry.clone()).collect()),
            };
            // Custom areas may overlap: each polygon counts independently.
            use geo::Intersects;
            let mut list: Vec<(Vec<String>, &lagesbild::model::Incident)> = Vec::new();
            for i in &inc {
                let hit: Vec<String> = if custom_areas.is_some() {
                    names.iter().zip(&polys).filter(|(_, p)| p.intersects(&i.location)).map(|(n, _)| n.clone()).collect()
                } else {
                    vec![]
                };
                list.push((hit, i));
            }
            if custom_areas.is_none() {
                let idx = lagesbild::spatial::AreaIndex::new(&polys, &names.iter().map(|s| s.as_str()).collect::<Vec<_>>());
                for (entry, i) in list.iter_mut().zip(&inc) {
                    if let (Some(a), _) = idx.locate(i.location.x(), i.location.y()) {
                        let a = &areas[a as usize];
                        entry.0 = vec![if level == Level::Deso { a.deso.clone() } else { format!("{} {}", a.regso, a.regso_name) }];
                    }
                }
            }
            let area_names: Vec<String> = if custom_areas.is_some() {
                names.clone()
            } else if level == Level::Deso {
                areas.iter().map(|a| a.deso.clone()).collect()
            } else {
                let mut v: Vec<String> = areas.iter().map(|a| format!("{} {}", a.regso, a.regso_name)).collect();
                v.sort();
                v.dedup();
                v
            };
            let first = inc.iter().map(|i| i.occurred_at.date()).min().expect("non-empty");
            let last = inc.iter().map(|i| i.occurred_at.date()).max().expect("non-empty");
            let wk = est::weeks_between(first, last);
            let statuses = est::weekly_status(&area_names, &wk, &list, &rule);
            let p = match period {
                PeriodArg::Tertial => est::Period::Tertial,
                PeriodArg::Year => est::Period::Year,
            };
            let counts = est::period_counts(&statuses, p);
            let t = Table {
                name: "est_periods".into(),
                epsg: None,
                columns: vec![
                    Column::new("area", ColumnKind::Text),
                    Column::new("period", ColumnKind::Text),
                    Column::new("green_weeks", ColumnKind::Integer),
                    Column::new("yellow_weeks", ColumnKind::Integer),
                    Column::new("red_weeks", ColumnKind::Integer),
                    Column::new("rule", ColumnKind::Text),
                ],
                rows: counts
                    .iter()
                    .map(|c| TableRow {
                        values: vec![
                            c.area.clone().into(),
                            c.period.clone().into(),
                            Value::Int(c.green as i64),
                            Value::Int(c.yellow as i64),
                            Value::Int(c.red as i64),
                            rule.describe_sv().into(),
                        ],
                        geometry: None,
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &t)?;
            if let Some(wpath) = weeks {
                let t = Table {
                    name: "est_weeks".into(),
                    epsg: None,
                    columns: vec![
                        Column::new("area", ColumnKind::Text),
                        Column::new("iso_week", ColumnKind::Text),
                        Column::new("incidents", ColumnKind::Integer),
                        Column::new("score", ColumnKind::Real),
                        Column::new("status", ColumnKind::Text),
                    ],
                    rows: statuses
                        .iter()
                        .map(|s| TableRow {
                            values: vec![
                                s.area.clone().into(),
                                s.iso_week.clone().into(),
                                Value::Int(s.incidents as i64),
                                s.score.into(),
                                s.status.label_sv().into(),
                            ],
                            geometry: None,
                        })
                        .collect(),
                };
                lagesbild::io::write_table(&wpath, &t)?;
            }
            let last_week = wk.last().cloned().unwrap_or_default();
            println!(
                "EST {} areas × {} weeks ({}..{}); rule: {}",
                area_names.len(),
                wk.len(),
                wk.first().cloned().unwrap_or_default(),
                last_week,
                rule.describe_sv()
            );
            let ch = est::changes_since_last_week(&statuses, &last_week);
            println!("changes in {last_week} since the week before: {}", if ch.is_empty() { "none".to_string() } else { String::new() });
            for c in ch {
                println!("  {}: {} → {} (score {} → {})", c.area, c.from.label_sv(), c.to.label_sv(), c.score_before, c.score_now);
            }
        }
        ClassifyCmd::Socioeconomic { low_econ, education, support, k, output } => {
            let ind = store.indicators()?;
            let latest = |d: &str, n: &str| ind.iter().filter(|v| v.deso == d && v.indicator == n).max_by_key(|v| v.year).map(|v| v.value);
            let mut rule = omradestyp::DerivedRule::default();
            if !k.is_empty() {
                rule.k = k.as_slice().try_into().map_err(|_| anyhow::anyhow!("--k needs four numbers, got {}", k.len()))?;
            }
            let parts: Vec<[Option<f64>; 3]> =
                areas.iter().map(|a| [latest(&a.deso, &low_econ), latest(&a.deso, &education), latest(&a.deso, &support)]).collect();
            let index: Vec<Option<f64>> = parts.iter().map(|p| omradestyp::socioeconomic_index(p[0], p[1], p[2])).collect();
            let (types, mean, sd) = omradestyp::derive_types(&index, &rule);
            let missing: Vec<String> = areas
                .iter()
                .zip(&parts)
                .filter(|(_, p)| p.iter().any(|x| x.is_none()))
                .map(|(a, p)| {
                    let names: Vec<&str> = [&low_econ, &education, &support].iter().zip(p).filter(|(_, v)| v.is_none()).map(|(n, _)| n.as_str()).collect();
                    format!("{} ({})", a.deso, names.join(", "))
                })
                .collect();
            let t = Table {
                name: "socioeconomic_index".into(),
                epsg: Some(3006),
                columns: vec![
                    Column::new("deso", ColumnKind::Text),
                    Column::new("regso_name", ColumnKind::Text),
                    Column::new("index", ColumnKind::Real),
                    Column::new("derived_type", ColumnKind::Integer),
                    Column::new("type_label", ColumnKind::Text),
                ],
                rows: areas
                    .iter()
                    .zip(&types)
                    .map(|(a, d)| TableRow {
                        values: vec![
                            a.deso.clone().into(),
                            a.regso_name.clone().into(),
                            d.as_ref().map(|d| d.index).into(),
                            d.as_ref().map(|d| Value::Int(d.typ as i64)).unwrap_or(Value::Null),
                            d.as_ref().map(|d| Value::from(d.label)).unwrap_or(Value::Null),
                        ],
                        geometry: Some(a.geometry.clone().into()),
                    })
                    .collect(),
            };
            lagesbild::io::write_table(&output, &t)?;
            println!(
                "index for {} of {} DeSO (mean {:.2}, SD {:.2}; types {}) to {}",
                index.iter().filter(|x| x.is_some()).count(),
                areas.len(),
                mean,
                sd,
                omradestyp::DERIVED_LABEL,
                output.display()
            );
            if !missing.is_empty() {
                eprintln!(
                    "{} DeSO lack a part and get no index (never imputed): {}",
                    missing.len(),
                    missing.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
                );
            }
        }
        ClassifyCmd::Goals { config } => {
            let goals: Vec<goals::Goal> = read_json(&config)?;
            let mut out = Vec::new();
            for g in &goals {
                let p = lagesbild::profile::build(store, &g.area, &lagesbild::profile::ProfileOptions { goals: vec![g.clone()], ..Default::default() })?;
                out.extend(p.goals);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}

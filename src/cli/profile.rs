//! `lagesbild profile AREA`: the social area profile as HTML, CSV or JSON; `lagesbild profile
//! --area FILE`: the social picture of a plan area (any polygon file GDAL reads).

use super::read_json;
use anyhow::Result;
use clap::ValueEnum;
use lagesbild::store::Store;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum ProfileFormat {
    Html,
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// DeSO code (0163C1170), RegSO code (0163R002), RegSO name (Edsberg) or place name (Tureberg).
    #[arg(required_unless_present = "plan_area", conflicts_with = "plan_area")]
    area: Option<String>,
    /// A plan area (GeoPackage, Shapefile, GeoJSON, … in any CRS): its social picture from the DeSO it touches.
    #[arg(long = "area", id = "plan_area", value_name = "FILE")]
    plan_area: Option<PathBuf>,
    /// The plan area's name in the report.
    #[arg(long, requires = "plan_area")]
    name: Option<String>,
    /// Indicator catalogue (TOML) added to the built-in one.
    #[arg(long)]
    indicators: Option<PathBuf>,
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
}

fn write_out(text: String, output: Option<PathBuf>, what: &str) -> Result<()> {
    match output {
        Some(p) => {
            std::fs::write(&p, text)?;
            println!("wrote the profile of {what} to {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The plan area's profile: checked and bounded as the HTTP route does.
fn run_plan(store: &dyn Store, file: &std::path::Path, a: Args) -> Result<()> {
    use lagesbild::social;
    let plan = social::plan::from_file(file, social::PlanLimits::default())?;
    let catalogue = match &a.indicators {
        Some(p) => social::Catalogue::load(p)?,
        None => social::Catalogue::default(),
    };
    let police = match &a.uso {
        Some(p) => lagesbild::profile::read_police_areas(p)?,
        None => vec![],
    };
    let name = a.name.clone().or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()));
    let picture = lagesbild::picture::AreaPicture::from_store(store, Default::default())?;
    let p = social::build(&picture, &plan, &social::PlanOptions { name, catalogue, police, ..Default::default() })?;
    let text = match a.format {
        ProfileFormat::Html => social::render::to_html(&p),
        ProfileFormat::Csv => social::render::to_csv(&p),
        ProfileFormat::Json => serde_json::to_string_pretty(&p)?,
    };
    write_out(text, a.output, &p.name)
}

pub fn run(store: &dyn Store, a: Args) -> Result<()> {
    if let Some(file) = a.plan_area.clone() {
        return run_plan(store, &file, a);
    }
    let area = a.area.clone().unwrap_or_default();
    let mut opts = lagesbild::profile::ProfileOptions::default();
    if let Some(p) = a.uso {
        opts.police = lagesbild::profile::read_police_areas(&p)?;
    }
    if let Some(p) = a.goals {
        opts.goals = read_json(&p)?;
    }
    if let Some(p) = a.index_config {
        opts.index = read_json(&p)?;
    }
    if let Some(p) = a.est_rule {
        opts.est_rule = read_json(&p)?;
    }
    let picture = lagesbild::picture::AreaPicture::from_store(store, Default::default())?;
    let prof = lagesbild::profile::build(&picture, &area, &opts)?;
    let text = match a.format {
        ProfileFormat::Html => lagesbild::profile::to_html(&prof),
        ProfileFormat::Csv => lagesbild::profile::to_csv(&prof),
        ProfileFormat::Json => serde_json::to_string_pretty(&prof)?,
    };
    write_out(text, a.output, &prof.area.name)
}

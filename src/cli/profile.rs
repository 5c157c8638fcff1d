//! `lagesbild profile AREA`: the social area profile as HTML, CSV or JSON.

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
}

pub fn run(store: &dyn Store, a: Args) -> Result<()> {
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
    // Places are found by name after DeSO and RegSO.
    opts.places = lagesbild::units::Units::build(&picture, &lagesbild::store::Store::places(store)?).units.into_iter().filter(|u| u.level == "place").collect();
    let prof = lagesbild::profile::build(&picture, &a.area, &opts)?;
    let text = match a.format {
        ProfileFormat::Html => lagesbild::profile::to_html(&prof),
        ProfileFormat::Csv => lagesbild::profile::to_csv(&prof),
        ProfileFormat::Json => serde_json::to_string_pretty(&prof)?,
    };
    match a.output {
        Some(p) => {
            std::fs::write(&p, text)?;
            println!("wrote the profile of {} to {}", prof.area.name, p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

//! `lagesbild report est --period 2026-W12|2026-03|2026-T1` and `lagesbild report lagesbild
//! --year 2026`: the EST report and the yearly lägesbild as printable HTML or as PDF.

use super::read_json;
use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use lagesbild::report::{self, Inputs};
use lagesbild::store::Backend;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum Format {
    Html,
    Pdf,
    Json,
}

#[derive(clap::Args)]
pub struct Common {
    #[arg(long, value_enum, default_value = "html")]
    format: Format,
    #[arg(long)]
    output: PathBuf,
    /// Polisen's utsatta områden (GeoJSON).
    #[arg(long)]
    uso: Option<PathBuf>,
    /// Goals (JSON list, as `classify goals --config`).
    #[arg(long)]
    goals: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ReportCmd {
    /// The EST report of a week (2026-W12), month (2026-03) or tertial (2026-T1).
    Est {
        #[arg(long)]
        period: String,
        #[command(flatten)]
        common: Common,
    },
    /// The yearly lägesbild (Lag 2023:196) with the åtgärdsplan and its follow-up.
    Lagesbild {
        #[arg(long)]
        year: i32,
        /// Saves this text file as the year's orsaksanalys (a new version) before writing the report.
        #[arg(long)]
        orsaksanalys: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

fn inputs(store: &dyn Backend, c: &Common) -> Result<Inputs> {
    let mut i = Inputs::from_store(store)?;
    if let Some(p) = &c.uso {
        i.police = lagesbild::profile::read_police_areas(p)?;
    }
    if let Some(p) = &c.goals {
        i.goals = read_json(p)?;
    }
    Ok(i)
}

fn write(html: String, json: Vec<u8>, c: &Common) -> Result<()> {
    match c.format {
        Format::Html => std::fs::write(&c.output, html)?,
        Format::Json => std::fs::write(&c.output, json)?,
        Format::Pdf => report::pdf::html_to_pdf(&html, &c.output)?,
    }
    eprintln!("report written to {}", c.output.display());
    Ok(())
}

pub fn run(location: &str, cmd: ReportCmd) -> Result<()> {
    // The åtgärdsplan, bedömningar and orsaksanalyser live beside the data, in either store.
    let store = &*lagesbild::store::open(location)?;
    let picture = lagesbild::picture::AreaPicture::from_store(store, Default::default())?;
    let units = lagesbild::units::Units::build(&picture, &store.places()?);
    match cmd {
        ReportCmd::Est { period, common } => {
            let r = report::est::build(&picture, &units, &inputs(store, &common)?, &period)?;
            write(report::est::to_html(&r), serde_json::to_vec_pretty(&r)?, &common)
        }
        ReportCmd::Lagesbild { year, orsaksanalys, common } => {
            if let Some(p) = orsaksanalys {
                let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
                let at = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string();
                store.insert_cause_analysis(&lagesbild::plan::CauseAnalysis { year, text, by: "cli".into(), at })?;
            }
            let r = report::yearly::build(&picture, &units, &inputs(store, &common)?, year)?;
            write(report::yearly::to_html(&r), serde_json::to_vec_pretty(&r)?, &common)
        }
    }
}

//! Seeded generator of SYNTHETIC incidents for the demo. There are no real incident points
//! inside Sollentuna (Polisen's API places events on the municipality centroid), so the demo
//! needs made-up points. They follow the background documents: weekly EST-style reports over two
//! years, the categories and reporters of the local problem picture, clustered where the
//! documents place problems (Tureberg/Sollentuna centrum, Edsbergs centrum, Bagarby, Rotebro
//! station). Every row says `synthetic=ja`.

use crate::model::{Area, Category};
use crate::spatial::AreaIndex;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A cluster the documents name, with its centre in EPSG:3006 and its character.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: &'static str,
    pub centre: (f64, f64),
    pub sigma_m: f64,
    /// Expected incidents per week at the start and at the end (linear in between).
    pub weekly_start: f64,
    pub weekly_end: f64,
    /// First week (0-based) in which the cluster is active.
    pub from_week: u32,
    pub categories: &'static [(Category, f64)],
}

#[derive(Debug, Clone)]
pub struct SyntheticIncident {
    pub id: String,
    pub category: Category,
    pub occurred_at: chrono::NaiveDateTime,
    pub reported_by: &'static str,
    pub e: f64,
    pub n: f64,
    pub description: String,
}

const BACKGROUND: &[(Category, f64)] = &[
    (Category::Klotter, 0.22),
    (Category::Skadegorelse, 0.2),
    (Category::Nedskrapning, 0.14),
    (Category::Inbrott, 0.12),
    (Category::Storningsarende, 0.12),
    (Category::OtrygghetsskapandeSamling, 0.08),
    (Category::AnlagdBrand, 0.05),
    (Category::Narkotika, 0.05),
    (Category::StokILokaler, 0.02),
];
const CENTRE: &[(Category, f64)] = &[
    (Category::OtrygghetsskapandeSamling, 0.25),
    (Category::StokILokaler, 0.15),
    (Category::Narkotika, 0.15),
    (Category::Skadegorelse, 0.15),
    (Category::Klotter, 0.1),
    (Category::OppenDrogscen, 0.08),
    (Category::KriminellPaverkan, 0.05),
    (Category::Upplopp, 0.02),
    (Category::Skjutning, 0.01),
    (Category::Sprangning, 0.01),
];
const HOUSING: &[(Category, f64)] = &[
    (Category::Skadegorelse, 0.22),
    (Category::AnlagdBrand, 0.15),
    (Category::Klotter, 0.15),
    (Category::OtrygghetsskapandeSamling, 0.15),
    (Category::Narkotika, 0.12),
    (Category::KriminellPaverkan, 0.08),
    (Category::Storningsarende, 0.08),
    (Category::Skjutning, 0.03),
    (Category::Sprangning, 0.02),
];
const STATION: &[(Category, f64)] = &[
    (Category::OtrygghetsskapandeSamling, 0.35),
    (Category::Narkotika, 0.2),
    (Category::Skadegorelse, 0.2),
    (Category::Klotter, 0.15),
    (Category::OppenDrogscen, 0.1),
];

const REPORTERS: &[(&str, f64)] = &[
    ("polis", 0.22),
    ("bostadsbolag", 0.2),
    ("kommun", 0.18),
    ("vaktare", 0.12),
    ("sl", 0.08),
    ("raddningstjanst", 0.05),
    ("fastighetsagare", 0.06),
    ("naringsidkare", 0.05),
    ("invanare", 0.04),
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.gen::<f64>() * total;
    for (t, w) in items {
        if u < *w {
            return *t;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller; u1 in (0, 1] so ln never sees zero.
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Centroid of the areas of a RegSO, by name, in EPSG:3006.
fn regso_centre(areas: &[Area], regso_name: &str) -> Option<(f64, f64)> {
    let pts: Vec<geo::Point<f64>> = areas.iter().filter(|a| a.regso_name == regso_name).filter_map(|a| geo::Centroid::centroid(&a.geometry)).collect();
    (!pts.is_empty()).then(|| (pts.iter().map(|p| p.x()).sum::<f64>() / pts.len() as f64, pts.iter().map(|p| p.y()).sum::<f64>() / pts.len() as f64))
}

/// The demo clusters, placed from the areas' RegSO names; Rotebro station from its coordinates
/// (59.4763 N, 17.9139 E → E 662 900, N 6 597 770 in SWEREF 99 TM).
pub fn default_clusters(areas: &[Area]) -> Vec<Cluster> {
    let mut v = Vec::new();
    if let Some(c) = regso_centre(areas, "Sollentuna centrum") {
        v.push(Cluster {
            name: "Tureberg/Sollentuna centrum",
            centre: c,
            sigma_m: 220.0,
            weekly_start: 4.0,
            weekly_end: 4.5,
            from_week: 0,
            categories: CENTRE,
        });
    }
    if let Some(c) = regso_centre(areas, "Edsberg") {
        v.push(Cluster { name: "Edsbergs centrum", centre: c, sigma_m: 200.0, weekly_start: 2.5, weekly_end: 2.5, from_week: 0, categories: HOUSING });
    }
    if let Some(c) = regso_centre(areas, "Bagarby") {
        // Intensifying over the two years, so emerging-hotspot analysis has something to find.
        v.push(Cluster { name: "Bagarby", centre: c, sigma_m: 180.0, weekly_start: 1.0, weekly_end: 4.0, from_week: 0, categories: HOUSING });
    }
    v.push(Cluster {
        name: "Rotebro station",
        centre: (662_900.0, 6_597_770.0),
        sigma_m: 120.0,
        weekly_start: 2.0,
        weekly_end: 2.0,
        from_week: 90,
        categories: STATION,
    });
    v
}

/// Generates `weeks` weeks of incidents ending with the ISO week before `end`. Same seed, same output.
pub fn generate(areas: &[Area], clusters: &[Cluster], seed: u64, weeks: u32, end: NaiveDate, background_per_week: f64) -> Vec<SyntheticIncident> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let polys: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    let index = AreaIndex::new(&polys, &codes);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for a in areas {
        if let Some(r) = geo::BoundingRect::bounding_rect(&a.geometry) {
            x0 = x0.min(r.min().x);
            y0 = y0.min(r.min().y);
            x1 = x1.max(r.max().x);
            y1 = y1.max(r.max().y);
        }
    }
    let monday_end = end - Duration::days(end.weekday().num_days_from_monday() as i64);
    let start = monday_end - Duration::weeks(weeks as i64);
    let mut out = Vec::new();
    for w in 0..weeks {
        let week_start = start + Duration::weeks(w as i64);
        let frac = if weeks > 1 { w as f64 / (weeks - 1) as f64 } else { 0.0 };
        let emit = |rng: &mut ChaCha8Rng, e: f64, n: f64, cat: Category, label: &str, out: &mut Vec<SyntheticIncident>| {
            let day = rng.gen_range(0..7);
            // Evenings and nights dominate the EST reports.
            let hour = pick(rng, &[(8u32, 0.1), (12, 0.15), (16, 0.2), (19, 0.25), (22, 0.2), (1, 0.1)]) + rng.gen_range(0..3);
            let t = week_start.and_hms_opt(0, 0, 0).expect("midnight")
                + Duration::days(day)
                + Duration::hours(hour as i64 % 24)
                + Duration::minutes(rng.gen_range(0..60));
            let id = format!("SYN-{:06}", out.len() + 1);
            out.push(SyntheticIncident {
                id,
                category: cat,
                occurred_at: t,
                reported_by: pick(rng, REPORTERS),
                e: (e * 10.0).round() / 10.0,
                n: (n * 10.0).round() / 10.0,
                description: format!("Syntetisk händelse ({label})"),
            });
        };
        for c in clusters.iter().filter(|c| w >= c.from_week) {
            let lambda = c.weekly_start + (c.weekly_end - c.weekly_start) * frac;
            for _ in 0..poisson(&mut rng, lambda) {
                let e = c.centre.0 + c.sigma_m * normal(&mut rng);
                let n = c.centre.1 + c.sigma_m * normal(&mut rng);
                let cat = pick(&mut rng, c.categories);
                emit(&mut rng, e, n, cat, c.name, &mut out);
            }
        }
        for _ in 0..poisson(&mut rng, background_per_week) {
            // Rejection sampling keeps background points inside the municipality's areas.
            for _ in 0..100 {
                let e = rng.gen_range(x0..x1);
                let n = rng.gen_range(y0..y1);
                if index.locate(e, n).0.is_some() {
                    let cat = pick(&mut rng, BACKGROUND);
                    emit(&mut rng, e, n, cat, "bakgrund", &mut out);
                    break;
                }
            }
        }
    }
    out
}

/// Writes the incidents as an EST-template CSV the way Excel saves it in Sweden
/// (semicolon, decimal comma, UTF-8 BOM), coordinates in SWEREF 99 TM.
pub fn write_csv(path: &std::path::Path, rows: &[SyntheticIncident]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all("\u{feff}id;kategori;datum;rapportör;e;n;noggrannhet;beskrivning;syntetisk\n".as_bytes())?;
    for r in rows {
        writeln!(
            f,
            "{};{};{};{};{};{};exact;{};ja",
            r.id,
            r.category.label_sv(),
            r.occurred_at.format("%Y-%m-%d %H:%M"),
            r.reported_by,
            crate::model::format_number_sv(r.e),
            crate::model::format_number_sv(r.n),
            r.description
        )?;
    }
    f.flush()
}

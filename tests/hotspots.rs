//! Point-pattern methods on small hand-made patterns: grids, density raster, optimized and
//! emerging hot spots.

use lagesbild::stats::emerging::{emerging_hot_spots, EmergingParams, Pattern};
use lagesbild::stats::{kde, optimized};
use rand::{Rng, SeedableRng};

/// 400 background points on a 5 km square and a tight cluster of 150 around (2500, 2500).
fn pattern(seed: u64) -> Vec<[f64; 2]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<[f64; 2]> = (0..400).map(|_| [600_000.0 + rng.gen_range(0.0..5000.0), 6_600_000.0 + rng.gen_range(0.0..5000.0)]).collect();
    for _ in 0..150 {
        v.push([602_500.0 + rng.gen_range(-150.0..150.0), 6_602_500.0 + rng.gen_range(-150.0..150.0)]);
    }
    v
}

#[test]
fn optimized_hot_spots_find_the_planted_cluster_and_report_their_choices() {
    let pts = pattern(1);
    let r = optimized::optimized_hot_spots(&pts, None, None, None).unwrap();
    let c = &r.choices;
    assert_eq!(c.incidents, 550);
    assert!(c.cell_size_m >= 10.0 && c.cell_size_m <= 500.0, "{c:?}");
    assert!(c.distance_band_m >= c.cell_size_m, "{c:?}");
    assert_eq!(c.cells, r.cells.len());
    // The cell holding the cluster centre is a 99 % hot spot after FDR.
    let centre = r
        .cells
        .iter()
        .position(|cell| {
            (cell.centre[0] - 602_500.0).abs() <= c.cell_size_m
                && (cell.centre[1] - 6_602_500.0).abs() <= c.cell_size_m
                && r.counts[r.cells.iter().position(|x| x.id == cell.id).unwrap()] > 0.0
        })
        .unwrap();
    assert_eq!(r.fdr_bin[centre], 3, "cell {} count {}", r.cells[centre].id, r.counts[centre]);
    // Far from the cluster nothing is a 99 % hot spot.
    let far = r.cells.iter().enumerate().filter(|(_, cell)| (cell.centre[0] - 602_500.0).hypot(cell.centre[1] - 6_602_500.0) > 1500.0);
    assert!(far.into_iter().all(|(i, _)| r.fdr_bin[i] < 3));
    // User overrides are used and reported.
    let u = optimized::optimized_hot_spots(&pts, None, Some(250.0), Some(600.0)).unwrap();
    assert_eq!((u.choices.cell_size_m, u.choices.distance_band_m, u.choices.user_cell_size), (250.0, 600.0, true));
}

#[test]
fn too_few_incidents_for_optimized_hot_spots_is_an_error() {
    let pts: Vec<[f64; 2]> = pattern(2).into_iter().take(59).collect();
    assert!(optimized::optimized_hot_spots(&pts, None, None, None).is_err());
}

#[test]
fn emerging_hot_spots_tell_new_from_persistent_and_quiet() {
    // 7×7 grid of 100 m cells, 20 steps. Centre cell (3,3) busy every step (persistent),
    // cell (0,0) busy only in the last step (new), everything else 1 incident per step.
    let mut xy = Vec::new();
    let mut counts = Vec::new();
    for r in 0..7 {
        for c in 0..7 {
            xy.push([c as f64 * 100.0 + 50.0, r as f64 * 100.0 + 50.0]);
            let mut s = vec![1.0; 20];
            if (r, c) == (3, 3) {
                s = vec![30.0; 20];
                // A little wobble so the trend test has no ties.
                for (k, v) in s.iter_mut().enumerate() {
                    *v += if k % 2 == 0 { 1.0 } else { -1.0 };
                }
            }
            if (r, c) == (0, 0) {
                s[19] = 40.0;
            }
            counts.push(s);
        }
    }
    let r = emerging_hot_spots(&xy, &counts, &EmergingParams { distance: 100.0, time_steps: 1, alpha: 0.05 }).unwrap();
    assert_eq!(r.pattern[3 * 7 + 3], Pattern::PersistentHot, "{:?}", r.significance[24]);
    assert_eq!(r.pattern[0], Pattern::NewHot, "{:?}", r.significance[0]);
    assert_eq!(r.pattern[6 * 7 + 6], Pattern::NoPattern);
}

#[test]
fn the_density_geotiff_opens_in_gdal_with_sweref99tm_and_the_quartic_values() {
    let pts = pattern(3);
    let r = kde::quartic_density(&pts, None, 400.0, 600_000.0, 6_605_000.0, 100.0, 50, 50);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.tif");
    lagesbild::io::raster::write_geotiff(&p, &r).unwrap();
    let ds = gdal::Dataset::open(&p).unwrap();
    assert_eq!(ds.geo_transform().unwrap(), [600_000.0, 100.0, 0.0, 6_605_000.0, 0.0, -100.0]);
    assert_eq!(lagesbild::io::read_source_epsg_of(&ds), Some(3006));
    let band = ds.rasterband(1).unwrap();
    let buf = band.read_band_as::<f64>().unwrap();
    // Cell (row 25, col 25) has its centre at (602 550, 6 602 450): recompute the quartic sum by hand.
    let (cx, cy) = (602_550.0, 6_602_450.0);
    let want: f64 = pts
        .iter()
        .map(|p| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt())
        .filter(|d| *d < 400.0)
        .map(|d| 3.0 / std::f64::consts::PI / 160_000.0 * (1.0 - (d / 400.0).powi(2)).powi(2))
        .sum();
    let got = buf.data()[25 * 50 + 25];
    assert!((got - want).abs() < 1e-12 * want, "{got} vs {want}");
    let classes = kde::class_polygons(&r, &kde::quantile_breaks(&r, 4));
    assert_eq!(classes.len(), 4);
    use geo::Area;
    let total: f64 = classes.iter().map(|c| c.3.unsigned_area()).sum();
    let cells = r.values.iter().filter(|v| v.is_finite() && **v > 0.0).count() as f64;
    assert!((total - cells * 10_000.0).abs() < 1e-3, "classes cover exactly the cells with density");
}

#[test]
fn hexagon_aggregation_also_finds_the_planted_cluster() {
    use lagesbild::spatial::grid::Shape;
    let pts = pattern(4);
    let r = optimized::optimized_hot_spots_with(&pts, None, Some(200.0), None, Shape::Hexagon).unwrap();
    assert!(r.cells.iter().all(|c| c.id.starts_with("hex200m_")));
    let hot = r.cells.iter().enumerate().filter(|(i, _)| r.fdr_bin[*i] == 3).map(|(_, c)| c.centre).collect::<Vec<_>>();
    assert!(!hot.is_empty());
    assert!(hot.iter().all(|c| (c[0] - 602_500.0).hypot(c[1] - 6_602_500.0) < 1500.0), "99 % hot cells sit around the cluster");
}

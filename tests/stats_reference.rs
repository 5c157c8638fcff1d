//! Statistics against PySAL reference vectors (tests/fixtures/reference/, copied from
//! ../shared/reference/; every value there records the esda/libpysal call that made it:
//! esda 2.9.0, libpysal 4.14.1). Tolerances: deterministic values 1e-9 relative; esda's float32
//! `G_Local.p_sim` 1e-6 absolute, skipping sites with near-ties (`n_near_ties > 0`).

use lagesbild::stats::getis_ord::getis_ord_with;
use lagesbild::stats::moran::local_moran_with;
use lagesbild::stats::*;
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() < 1e-15
}

fn assert_all_close(name: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, *w, rel), "{name}[{i}]: got {g}, esda {w}");
    }
}

/// Weights from the reference's own neighbour lists (positional ids).
fn weights_from(reference: &Value, key: &str) -> Weights {
    let nb: Vec<Vec<usize>> = reference["weights"][key]["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect())
        .collect();
    Weights::from_neighbors(&nb, WeightsKind::Custom).unwrap()
}

fn perm_matrix(reference: &Value, key: &str) -> PermutationMatrix {
    let m = &reference["permuted_ids"][key];
    let rows: Vec<Vec<u32>> =
        m["matrix_row_major"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()).collect();
    PermutationMatrix::from_rows(&rows)
}

fn check_gi(reference: &Value, wkey: &str, case: &str, perm_key: Option<&str>) {
    let y = f64s(&reference["inputs"]["y"]);
    let w = weights_from(reference, wkey);
    let c = &reference["getis_ord_local"][case];
    let star = case.ends_with("_star");
    let transform = if case.contains("_R_") { Transform::R } else { Transform::B };
    let params = GiParams { star, transform, permutations: 999, seed: 0, fdr: false };
    let perm = perm_key.map(|k| perm_matrix(reference, k));
    let r = getis_ord_with(&y, &w, &params, perm.as_ref()).unwrap();
    let call = c["call"].as_str().unwrap();
    assert_all_close(&format!("{call} Gs"), &r.g, &f64s(&c["Gs"]), 1e-9);
    assert_all_close(&format!("{call} EGs"), &r.eg, &f64s(&c["EGs"]), 1e-9);
    assert_all_close(&format!("{call} VGs"), &r.vg, &f64s(&c["VGs"]), 1e-9);
    assert_all_close(&format!("{call} Zs"), &r.z, &f64s(&c["Zs_esda"]), 1e-9);
    assert_all_close(&format!("{call} p_norm (one-sided)"), &r.p_norm_one_sided, &f64s(&c["p_norm_esda_one_sided"]), 1e-9);
    assert_all_close(&format!("{call} p two-sided"), &r.p_norm, &f64s(&c["p_two_sided"]), 1e-9);
    if perm.is_some() {
        let want = f64s(&c["p_sim_directed"]);
        let ties = f64s(&c["n_near_ties"]);
        let mut compared = 0;
        for i in 0..y.len() {
            if ties[i] > 0.0 {
                continue;
            }
            compared += 1;
            assert!((r.p_sim[i] - want[i]).abs() < 1e-6, "{call} p_sim[{i}]: got {}, esda {}", r.p_sim[i], want[i]);
        }
        assert!(compared > y.len() / 2, "too few tie-free sites compared: {compared}");
    }
    if star && transform == Transform::B {
        // With binary weights and self, esda's z is ArcGIS's Gi* z (METHODS.md a.2).
        assert_all_close(&format!("{call} z_arcgis"), &r.z, &f64s(&c["z_arcgis_formula"]), 1e-9);
        let bins: Vec<f64> = r.bin.iter().map(|b| *b as f64).collect();
        assert_eq!(bins, f64s(&c["gi_bin_nofdr"]), "{call} gi_bin_nofdr");
        let fdr = lagesbild::stats::benjamini_hochberg_bins(&r.z, &r.p_norm);
        assert_eq!(fdr.iter().map(|b| *b as f64).collect::<Vec<_>>(), f64s(&c["gi_bin_fdr"]), "{call} gi_bin_fdr");
    }
}

#[test]
fn gi_and_gi_star_equal_esda_on_the_lattice_for_queen_rook_both_transforms() {
    let r = load("lattice10x10.json");
    for wkey in ["queen", "rook"] {
        for t in ["B", "R"] {
            for s in ["star", "nostar"] {
                let case = format!("{wkey}_{t}_{s}");
                check_gi(&r, wkey, &case, Some(&format!("{wkey}_seed12345")));
            }
        }
    }
}

#[test]
fn gi_and_gi_star_equal_esda_on_columbus_for_queen_rook_both_transforms() {
    let r = load("columbus.json");
    for wkey in ["queen", "rook"] {
        for t in ["B", "R"] {
            for s in ["star", "nostar"] {
                check_gi(&r, wkey, &format!("{wkey}_{t}_{s}"), Some(&format!("{wkey}_seed2718")));
            }
        }
    }
}

#[test]
fn gi_star_on_a_distance_band_equals_esda_on_columbus() {
    let r = load("columbus.json");
    // Analytical values only: the permutation matrix for this weights' max cardinality is not in the vectors.
    check_gi(&r, "distance_band_min_threshold", "distance_band_B_star", None);
}

#[test]
fn global_moran_equals_esda_for_queen_rook_both_transforms() {
    for (file, cases) in
        [("lattice10x10.json", vec!["queen_R", "queen_B", "rook_R", "rook_B"]), ("columbus.json", vec!["queen_R", "queen_B", "rook_R", "rook_B", "knn4_R"])]
    {
        let r = load(file);
        let y = f64s(&r["inputs"]["y"]);
        for case in cases {
            let c = &r["moran_global"][case];
            let (wkey, t) = case.split_once('_').unwrap();
            let w = weights_from(&r, wkey);
            let m = moran(&y, &w, Transform::parse(t).unwrap(), 999, 1).unwrap();
            let call = c["call"].as_str().unwrap();
            for (name, got, key) in [
                ("I", m.I, "I"),
                ("EI", m.EI, "EI"),
                ("VI_norm", m.VI_norm, "VI_norm"),
                ("z_norm", m.z_norm, "z_norm"),
                ("p_norm", m.p_norm, "p_norm_two_sided"),
                ("VI_rand", m.VI_rand, "VI_rand"),
                ("z_rand", m.z_rand, "z_rand"),
                ("p_rand", m.p_rand, "p_rand_two_sided"),
                ("s0", m.s0, "s0"),
                ("s1", m.s1, "s1"),
                ("s2", m.s2, "s2"),
            ] {
                let want = c[key].as_f64().unwrap();
                // p-values near 1e-19 come from normal tails; compare them relatively but looser.
                let tol = if key.starts_with("p_") { 1e-6 } else { 1e-9 };
                assert!(close(got, want, tol), "{file} {call} {name}: got {got}, esda {want}");
            }
            // Permutation p: esda draws from NumPy's global RNG, so compare statistically:
            // our simulated mean and spread are within a few standard errors of esda's.
            let (ei_sim, se_sim) = (c["EI_sim"].as_f64().unwrap(), c["seI_sim"].as_f64().unwrap());
            assert!((m.EI_sim - ei_sim).abs() < 4.0 * se_sim / (999f64).sqrt() * 1.5, "{file} {case} EI_sim {} vs {ei_sim}", m.EI_sim);
            assert!((m.seI_sim / se_sim - 1.0).abs() < 0.15, "{file} {case} seI_sim {} vs {se_sim}", m.seI_sim);
            let p_esda = c["p_sim"].as_f64().unwrap();
            if p_esda <= 0.001 {
                assert!(m.p_sim <= 0.002, "{file} {case} p_sim {}", m.p_sim);
            }
        }
    }
}

#[test]
fn local_moran_equals_esda_with_esdas_permutations() {
    for (file, seed) in [("lattice10x10.json", "12345"), ("columbus.json", "2718")] {
        let r = load(file);
        let y = f64s(&r["inputs"]["y"]);
        for wkey in ["queen", "rook"] {
            let c = &r["moran_local"][format!("{wkey}_R")];
            let w = weights_from(&r, wkey);
            let perm = perm_matrix(&r, &format!("{wkey}_seed{seed}"));
            let params = LisaParams { transform: Transform::R, permutations: 999, seed: 0, alpha: 0.05 };
            let l = local_moran_with(&y, &w, &params, Some(&perm)).unwrap();
            let call = c["call"].as_str().unwrap();
            assert_all_close(&format!("{file} {call} Is"), &l.i, &f64s(&c["Is"]), 1e-9);
            let q: Vec<f64> = l.q.iter().map(|q| *q as f64).collect();
            assert_eq!(q, f64s(&c["q_pysal"]), "{file} {call} q");
            let want = f64s(&c["p_sim_directed"]);
            let ties = f64s(&c["n_near_ties"]);
            for i in 0..y.len() {
                if ties[i] == 0.0 {
                    assert!((l.p_sim[i] - want[i]).abs() < 1e-9, "{file} {call} p_sim[{i}]: got {}, esda {}", l.p_sim[i], want[i]);
                    assert!(close(l.ei_sim[i], f64s(&c["EI_sim"])[i], 1e-6), "{file} {call} EI_sim[{i}]");
                }
            }
            let labels: Vec<String> = c["cluster_label_p05"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            for i in 0..y.len() {
                if ties[i] == 0.0 {
                    assert_eq!(l.cluster[i], labels[i], "{file} {call} cluster[{i}]");
                }
            }
        }
    }
}

#[test]
fn seeded_permutations_are_reproducible_and_agree_with_esda_statistically() {
    let r = load("lattice10x10.json");
    let y = f64s(&r["inputs"]["y"]);
    let w = weights_from(&r, "queen");
    let params = GiParams { star: true, transform: Transform::B, permutations: 999, seed: 42, fdr: false };
    let a = getis_ord(&y, &w, &params).unwrap();
    let b = getis_ord(&y, &w, &params).unwrap();
    assert_eq!(a.p_sim, b.p_sim, "same seed, same output");
    let c = getis_ord(&y, &w, &GiParams { seed: 43, ..params.clone() }).unwrap();
    assert_ne!(a.p_sim, c.p_sim, "another seed, other draws");
    // Against esda's p_sim (its own seed 12345): each is a Monte-Carlo estimate with standard
    // error sqrt(p(1-p)/999), so their difference has sqrt(2) times that; all sites agree within
    // 5 such errors. (esda reuses one matrix for all sites, so its errors are correlated.)
    let want = f64s(&r["getis_ord_local"]["queen_B_star"]["p_sim_directed"]);
    for i in 0..y.len() {
        let se = (2.0 * want[i] * (1.0 - want[i]) / 999.0).sqrt().max(0.002);
        assert!((a.p_sim[i] - want[i]).abs() < 5.0 * se, "site {i}: ours {} esda {}", a.p_sim[i], want[i]);
    }
    // And the thread count does not matter.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| getis_ord(&y, &w, &params).unwrap());
    assert_eq!(one.p_sim, a.p_sim);
}

#[test]
fn weights_built_here_equal_libpysal_weights() {
    let lat = load("lattice10x10.json");
    for (key, queen) in [("queen", true), ("rook", false)] {
        let w = Weights::lattice(10, 10, queen);
        assert_eq!(w.neighbor_lists(), weights_from(&lat, key).neighbor_lists(), "lat2W {key}");
    }
    let col = load("columbus.json");
    let xy: Vec<[f64; 2]> = col["inputs"]["centroids_xy"].as_array().unwrap().iter().map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect();
    let knn = Weights::knn(&xy, 4).unwrap();
    let mut ours = knn.neighbor_lists();
    let mut theirs = weights_from(&col, "knn4").neighbor_lists();
    ours.iter_mut().for_each(|r| r.sort());
    theirs.iter_mut().for_each(|r| r.sort());
    assert_eq!(ours, theirs, "KNN.from_array(xy, k=4)");
    let t = col["weights"]["distance_band_min_threshold"]["threshold"].as_f64().unwrap();
    assert!(close(Weights::min_threshold_distance(&xy), t, 1e-12), "min_threshold_distance");
    let band = Weights::distance_band(&xy, t).unwrap();
    assert_eq!(band.neighbor_lists(), weights_from(&col, "distance_band_min_threshold").neighbor_lists(), "DistanceBand");
    // Contiguity from the real columbus polygons (libpysal example shapefile, copied to
    // tests/fixtures/columbus/) equals Queen/Rook.from_dataframe(use_index=False).
    let data = lagesbild::io::read_source(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/columbus/columbus.shp"), &Default::default())
        .unwrap();
    let polys: Vec<geo::MultiPolygon<f64>> = data
        .records
        .iter()
        .map(|r| match r.geometry.clone().unwrap() {
            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            g => panic!("{g:?}"),
        })
        .collect();
    for (key, queen) in [("queen", true), ("rook", false)] {
        let w = Weights::contiguity(&polys, queen, 0.0);
        assert_eq!(w.neighbor_lists(), weights_from(&col, key).neighbor_lists(), "{key} from columbus.shp");
        assert!(w.is_symmetric());
    }
}

#[test]
fn z_is_unchanged_when_y_is_scaled_and_rows_sum_to_one() {
    let r = load("columbus.json");
    let y = f64s(&r["inputs"]["y"]);
    let w = weights_from(&r, "queen");
    for c in [0.5, 3.0, 1000.0] {
        let ys: Vec<f64> = y.iter().map(|v| v * c).collect();
        for star in [true, false] {
            let p = GiParams { star, transform: Transform::B, permutations: 0, seed: 0, fdr: false };
            let a = getis_ord(&y, &w, &p).unwrap();
            let b = getis_ord(&ys, &w, &p).unwrap();
            assert_all_close("z scaled", &b.z, &a.z, 1e-9);
        }
        let a = moran(&y, &w, Transform::R, 0, 0).unwrap();
        let b = moran(&ys, &w, Transform::R, 0, 0).unwrap();
        assert!(close(a.z_norm, b.z_norm, 1e-9));
    }
    let rw = w.transformed(Transform::R);
    assert!(rw.row_sums().iter().all(|s| (s - 1.0).abs() < 1e-12));
    assert!(w.is_symmetric());
}

#[test]
fn degenerate_input_gets_an_error_not_a_nan() {
    let w = Weights::lattice(3, 3, true);
    assert_eq!(
        getis_ord(&[0.0; 9], &w, &GiParams { star: true, transform: Transform::B, permutations: 0, seed: 0, fdr: false }).unwrap_err(),
        StatsError::ZeroSum
    );
    assert_eq!(moran(&[2.0; 9], &w, Transform::R, 0, 0).unwrap_err(), StatsError::ZeroVariance);
    assert!(matches!(moran(&[1.0; 4], &w, Transform::R, 0, 0).unwrap_err(), StatsError::LengthMismatch { .. }));
    let mut y = [1.0; 9];
    y[3] = f64::NAN;
    assert_eq!(moran(&y, &w, Transform::R, 0, 0).unwrap_err(), StatsError::NonFinite(3));
}

#[test]
fn rates_equal_esda_smoothing_on_columbus() {
    // columbus.json "rates": esda.smoothing calls recorded under rates.calls.
    let r = load("columbus.json");
    let c = &r["rates"];
    let e = f64s(&c["e_events"]);
    let b = f64s(&c["b_population"]);
    let x = lagesbild::stats::smoothing::rates(&e, &b).unwrap();
    assert_all_close("crude", &x.crude, &f64s(&c["crude_rate"]), 1e-12);
    assert!(close(x.m, c["global_mean_rate_m"].as_f64().unwrap(), 1e-12));
    assert!(close(x.s2, c["s2_weighted"].as_f64().unwrap(), 1e-9));
    assert!(close(x.a, c["a_prior_variance"].as_f64().unwrap(), 1e-9));
    assert_all_close("Empirical_Bayes", &x.eb, &f64s(&c["empirical_bayes_esda"]), 1e-9);
    assert_all_close("EB clipped", &x.eb_clipped, &f64s(&c["empirical_bayes_clipped"]), 1e-9);
    assert_all_close("Excess_Risk", &x.excess_risk, &f64s(&c["excess_risk"]), 1e-9);
    assert_all_close("assuncao_rate", &x.assuncao_reis, &f64s(&c["assuncao_reis_standardised_rate"]), 1e-9);
    let w = weights_from(&r, "queen");
    let s = lagesbild::stats::smoothing::spatial_rates(&e, &b, &w).unwrap();
    assert_all_close("Spatial_Rate", &s.spatial_rate, &f64s(&c["spatial_rate_queen"]), 1e-9);
    assert_all_close("Spatial_Empirical_Bayes", &s.spatial_eb, &f64s(&c["spatial_empirical_bayes_queen"]), 1e-9);
    // Moran_Rate(adjusted=True) is Moran's I on the Assunção–Reis rates.
    let m = moran(&x.assuncao_reis, &w, Transform::R, 0, 0).unwrap();
    let mr = &c["moran_rate_adjusted_queen_R"];
    assert!(close(m.I, mr["I"].as_f64().unwrap(), 1e-9), "Moran_Rate I {}", m.I);
    assert!(close(m.z_norm, mr["z_norm"].as_f64().unwrap(), 1e-9));
    // The negative prior variance case: esda does not clip, the clipped variant returns m.
    let n = &c["eb_negative_prior_variance_case"];
    let e2 = f64s(&n["e_events"]);
    let y = lagesbild::stats::smoothing::rates(&e2, &b).unwrap();
    assert!(close(y.a, n["a_prior_variance"].as_f64().unwrap(), 1e-9));
    assert_all_close("EB negative a (esda)", &y.eb, &f64s(&n["empirical_bayes_esda"]), 1e-9);
    assert_all_close("EB negative a (clipped)", &y.eb_clipped, &f64s(&n["empirical_bayes_clipped"]), 1e-9);
}

#[test]
fn quartic_kernel_density_and_default_radius_follow_arcgis_formulas() {
    // kde_public.json: formulas of ArcGIS "How Kernel Density works" evaluated at cell centres.
    use lagesbild::stats::kde;
    let r = load("kde_public.json");
    let xy: Vec<[f64; 2]> = r["inputs"]["xy"].as_array().unwrap().iter().map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect();
    let pop = f64s(&r["inputs"]["population_field"]);
    for (key, weights) in [("unweighted", None), ("weighted", Some(pop.as_slice()))] {
        let want = &r["default_bandwidth"][key];
        let bw = kde::default_bandwidth(&xy, weights).unwrap();
        assert!(close(bw.search_radius, want["search_radius"].as_f64().unwrap(), 1e-9), "{key} radius {}", bw.search_radius);
        assert!(close(bw.standard_distance, want["standard_distance"].as_f64().unwrap(), 1e-9));
        assert!(close(bw.median_distance_to_mean_center, want["median_distance_to_mean_center"].as_f64().unwrap(), 1e-9), "{key} Dm");
    }
    let g = &r["grid"];
    let (xmin, ymax, cell) = (g["xmin"].as_f64().unwrap(), g["ymax"].as_f64().unwrap(), g["cell"].as_f64().unwrap());
    let (nrow, ncol) = (g["nrow"].as_u64().unwrap() as usize, g["ncol"].as_u64().unwrap() as usize);
    let default_r = r["default_bandwidth"]["unweighted"]["search_radius"].as_f64().unwrap();
    for (key, radius, weights) in [
        ("arcgis_density_fixed_r400_unweighted", 400.0, None),
        ("arcgis_density_default_r_unweighted", default_r, None),
        ("arcgis_density_fixed_r400_weighted", 400.0, Some(pop.as_slice())),
    ] {
        let d = kde::quartic_density(&xy, weights, radius, xmin, ymax, cell, nrow, ncol);
        let want = f64s(&r[key]);
        for (i, (got, w)) in d.values.iter().zip(&want).enumerate() {
            // The reference writes 0 where no point is within r; we write NoData there.
            let got = if got.is_nan() { 0.0 } else { *got };
            assert!(close(got, *w, 1e-9), "{key}[{i}]: got {got}, want {w}");
        }
    }
}

#[test]
fn mann_kendall_equals_pymannkendall() {
    // mk_public.json: pymannkendall.original_test(x, alpha=0.05), pymannkendall 1.4.3.
    let r = load("mk_public.json");
    for (name, s) in r["series"].as_object().unwrap() {
        let x = f64s(&s["x"]);
        let mk = lagesbild::stats::emerging::mann_kendall(&x);
        assert!(close(mk.s, s["s"].as_f64().unwrap(), 1e-12), "{name} S");
        assert!(close(mk.var_s, s["var_s"].as_f64().unwrap(), 1e-12), "{name} var_s");
        assert!(close(mk.z, s["z"].as_f64().unwrap(), 1e-9), "{name} z {}", mk.z);
        assert!(close(mk.p, s["p"].as_f64().unwrap(), 1e-7), "{name} p {}", mk.p);
        assert!(close(mk.tau, s["Tau"].as_f64().unwrap(), 1e-12), "{name} tau");
    }
}

//! The largest work an analysis may do, checked before it starts. The service runs under
//! [`Limits::SERVICE`]; the command line, where the user owns the machine, under [`Limits::NONE`].

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Grid cells of a hotspot analysis (each carries a neighbour list).
    pub max_cells: f64,
    /// Neighbour pairs of a distance band over the cells (16 bytes each while they live).
    pub max_pairs: f64,
    /// Cell × time-step values of a space-time cube.
    pub max_cube: f64,
    /// Kernel evaluations of a density surface (points × raster cells within the radius).
    pub max_kernel_evals: f64,
    /// Raster cells of a density surface.
    pub max_raster_cells: f64,
    /// Parameters are held to the ranges the service declares, and only those it offers.
    pub service: bool,
}

impl Limits {
    /// The service's bounds (the cell and kernel limits were halved after the county-scale run).
    pub const SERVICE: Limits = Limits {
        max_cells: 10_000.0,
        max_pairs: 20_000_000.0,
        max_cube: 5_000_000.0,
        max_kernel_evals: 300_000_000.0,
        max_raster_cells: 8_000_000.0,
        service: true,
    };

    pub const NONE: Limits = Limits {
        max_cells: f64::INFINITY,
        max_pairs: f64::INFINITY,
        max_cube: f64::INFINITY,
        max_kernel_evals: f64::INFINITY,
        max_raster_cells: f64::INFINITY,
        service: false,
    };
}

/// Bounding box of points: `[x0, y0, x1, y1]`, None when empty.
pub fn bbox(points: &[[f64; 2]]) -> Option<[f64; 4]> {
    let first = points.first()?;
    Some(points.iter().fold([first[0], first[1], first[0], first[1]], |b, p| [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])]))
}

/// Cells of a square grid of `cell` metres covering the box with one cell of margin.
pub fn grid_cells(b: [f64; 4], cell: f64) -> f64 {
    (((b[2] - b[0]) / cell).ceil() + 2.0) * (((b[3] - b[1]) / cell).ceil() + 2.0)
}

/// The smallest cell (rounded up to 10 m below 1 km, else 50 m, as Esri rounds cell sizes) for
/// which a grid over the box stays within `max_cells`.
pub fn smallest_cell(b: [f64; 4], limits: &Limits) -> f64 {
    let area = ((b[2] - b[0]).max(1.0)) * ((b[3] - b[1]).max(1.0));
    let mut c = (area / limits.max_cells).sqrt();
    loop {
        let step = if c < 1000.0 { 10.0 } else { 50.0 };
        c = ((c / step).ceil() * step).max(10.0);
        if grid_cells(b, c) <= limits.max_cells {
            return c;
        }
        c += step;
    }
}

/// Raster cell of a density surface: 50 m, or the smallest coarser one (in steps of 10 m) that
/// keeps kernel evaluations and raster cells within the limits.
pub fn density_cell(points: &[[f64; 2]], radius: f64, limits: &Limits) -> f64 {
    let Some(b) = bbox(points) else { return 50.0 };
    let b = [b[0] - radius, b[1] - radius, b[2] + radius, b[3] + radius];
    let mut cell = 50.0;
    loop {
        let evals = points.len() as f64 * std::f64::consts::PI * (radius / cell).powi(2).max(1.0);
        if (evals <= limits.max_kernel_evals && grid_cells(b, cell) <= limits.max_raster_cells) || cell >= radius.max(50.0) * 4.0 {
            return cell;
        }
        cell += 10.0;
    }
}

/// The cell of a space-time cube: the given one, or the smallest multiple of 50 m above it for
/// which cells × time steps stay within the limit.
pub fn emerging_cell(pts: &[([f64; 2], chrono::NaiveDateTime)], cell: f64, step_days: i64, limits: &Limits) -> f64 {
    let xy: Vec<[f64; 2]> = pts.iter().map(|p| p.0).collect();
    let (Some(b), Some(t0), Some(t1)) = (bbox(&xy), pts.iter().map(|p| p.1).min(), pts.iter().map(|p| p.1).max()) else { return cell };
    let steps = ((t1 - t0).num_days() / step_days.max(1) + 2) as f64;
    let mut c = cell;
    while grid_cells(b, c) * steps > limits.max_cube {
        c = ((c / 50.0).floor() + 1.0) * 50.0;
    }
    c
}

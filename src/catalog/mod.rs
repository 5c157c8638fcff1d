//! The collections the service publishes, one [`Layer`] each, and the [`Catalog`] of them built
//! once per data generation from the [`AreaPicture`]. The OGC API Features routes, both tile
//! routes, `export tiles` and the web map's list of collections read this catalog and nothing
//! else, so a layer added here appears everywhere at once.
//!
//! Adding a collection: a type implementing [`Layer`] (in the file of its kind, or a new one)
//! and one line in [`Catalog::build`].

mod analyses;
mod areas;
mod collection;
mod incidents;
mod places;
mod reference;
mod walks;

pub use analyses::{analysis_collection, hotspot_grid_from, HotspotCells};
pub use collection::{feat, feat_from, geometry_text, view, Access, Collection, Feat};

use crate::picture::AreaPicture;
use crate::privacy::Role;
use crate::store::WalkStore;
use crate::units::Units;
use std::sync::{Arc, OnceLock};

/// The geometry type of a layer's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    LineString,
    Polygon,
}

/// When a layer's collection is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Building {
    /// With the catalog, at start and on each new data generation.
    AtLoad,
    /// On first use, then kept for the generation: large or costly (incident points, analyses),
    /// so a listing of collections does not start the work.
    OnFirstUse,
    /// On every request, for the caller's role: data that changes while the service runs.
    PerRequest,
}

/// What a layer is, independent of its data.
#[derive(Debug, Clone, Copy)]
pub struct LayerInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub access: Access,
    pub geometry: GeometryKind,
    /// The zoom range in which the layer is worth drawing as tiles.
    pub min_zoom: u8,
    pub max_zoom: u8,
    pub building: Building,
    /// Whether the features are the result of a registered analysis (`crate::analysis`).
    pub analysis: Option<&'static str>,
}

impl LayerInfo {
    /// An open layer built at load, drawn from `min_zoom` to the deepest tileset zoom.
    pub const fn open(id: &'static str, title: &'static str, geometry: GeometryKind, min_zoom: u8) -> LayerInfo {
        LayerInfo { id, title, access: Access::Open, geometry, min_zoom, max_zoom: crate::tiles::TILESET_MAX_ZOOM, building: Building::AtLoad, analysis: None }
    }
}

/// What a layer may read while it builds: the catalog (picture, analysis units, other layers)
/// and the sources that change while the service runs.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    /// The walk store, when the service has one.
    pub walks: Option<&'a dyn WalkStore>,
}

/// One published collection.
pub trait Layer: Send + Sync {
    fn info(&self) -> LayerInfo;
    /// Whether the collection exists at all for this data and these sources (places only when
    /// imported, walks only with a walk store).
    fn present(&self, _cx: &Context) -> bool {
        true
    }
    /// The collection with its features. Layers built at load or on first use are shared by
    /// every role (the role's view is [`view`]); `role` matters only to per-request layers.
    fn features(&self, cx: &Context, role: Role) -> Option<Collection>;
    /// The collection's description without features, for a listing that must not build a
    /// layer built on first use. Only those layers need it.
    fn outline(&self, _cx: &Context) -> Option<Collection> {
        None
    }
}

struct Entry {
    layer: Box<dyn Layer>,
    built: OnceLock<Option<Arc<Collection>>>,
}

/// Every collection of one data generation, in the order they are listed.
pub struct Catalog {
    /// The lägesbild the layers show; analyses and reports read its typed fields.
    pub picture: Arc<AreaPicture>,
    /// DeSO, RegSO and imported places by name (reports, EST theme, åtgärdsplan, profile).
    pub units: Arc<Units>,
    entries: Vec<Entry>,
    hotspot_cells: OnceLock<Arc<HotspotCells>>,
}

/// The data a catalog is built from besides the picture and its units.
#[derive(Default)]
pub struct Sources {
    pub police: Vec<crate::classify::goals::PoliceArea>,
    /// Municipality outlines: code, name, polygon in EPSG:3006.
    pub boundaries: Vec<(String, String, geo::MultiPolygon<f64>)>,
    /// Indicators (from the catalogue) whose DeSO values are counts of people, suppressed below
    /// the threshold like incident counts.
    pub social_services: Vec<String>,
}

impl Catalog {
    /// The catalog of a picture; layers built at load are built here.
    pub fn build(picture: Arc<AreaPicture>, units: Units, sources: Sources) -> Catalog {
        let layers: Vec<Box<dyn Layer>> = vec![
            Box::new(areas::Deso { social_services: sources.social_services }),
            Box::new(areas::Regso),
            Box::new(incidents::Incidents),
            Box::new(areas::IncidentCounts),
            Box::new(reference::PoliceAreas(sources.police)),
            Box::new(reference::Municipalities(sources.boundaries)),
            Box::new(places::Places),
            Box::new(analyses::HotspotsGrid),
            Box::new(analyses::DENSITY),
            Box::new(analyses::EMERGING),
            Box::new(walks::Walks),
            Box::new(walks::Observations),
        ];
        let entries = layers.into_iter().map(|layer| Entry { layer, built: OnceLock::new() }).collect();
        let catalog = Catalog { picture, units: Arc::new(units), entries, hotspot_cells: OnceLock::new() };
        for e in catalog.entries.iter().filter(|e| e.layer.info().building == Building::AtLoad) {
            catalog.built(e);
        }
        catalog
    }

    fn cx<'a>(&'a self, walks: Option<&'a dyn WalkStore>) -> Context<'a> {
        Context { catalog: self, walks }
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.layer.info().id == id)
    }

    /// A shared (not per-request) collection, built now if it was not.
    fn built(&self, e: &Entry) -> Option<Arc<Collection>> {
        e.built
            .get_or_init(|| {
                let cx = self.cx(None);
                e.layer.present(&cx).then(|| e.layer.features(&cx, Role::Admin)).flatten().map(Arc::new)
            })
            .clone()
    }

    /// Every layer, present or not.
    pub fn layers(&self) -> impl Iterator<Item = &dyn Layer> {
        self.entries.iter().map(|e| e.layer.as_ref())
    }

    pub fn layer(&self, id: &str) -> Option<&dyn Layer> {
        self.entry(id).map(|e| e.layer.as_ref())
    }

    /// The ids of the collections present for these sources, in listing order.
    pub fn ids(&self, walks: Option<&dyn WalkStore>) -> Vec<&'static str> {
        let cx = self.cx(walks);
        self.entries.iter().filter(|e| e.layer.present(&cx)).map(|e| e.layer.info().id).collect()
    }

    /// A collection shared by every role (built at load or on first use); None for unknown ids
    /// and per-request layers.
    pub fn get(&self, id: &str) -> Option<Arc<Collection>> {
        let e = self.entry(id)?;
        (e.layer.info().building != Building::PerRequest).then(|| self.built(e)).flatten()
    }

    /// Like [`Catalog::get`], but a layer built on first use that is not built yet comes as
    /// its outline, without features.
    pub fn peek(&self, id: &str) -> Option<Arc<Collection>> {
        let e = self.entry(id)?;
        match e.layer.info().building {
            Building::AtLoad => self.built(e),
            Building::OnFirstUse => e.built.get().cloned().flatten().or_else(|| e.layer.outline(&self.cx(None)).map(Arc::new)),
            Building::PerRequest => None,
        }
    }

    /// Any collection as `role` may have it, per-request layers included.
    pub fn find(&self, id: &str, role: Role, walks: Option<&dyn WalkStore>) -> Option<Arc<Collection>> {
        let e = self.entry(id)?;
        if e.layer.info().building != Building::PerRequest {
            return self.built(e);
        }
        let cx = self.cx(walks);
        e.layer.present(&cx).then(|| e.layer.features(&cx, role)).flatten().map(Arc::new)
    }

    /// Every present collection for a listing: per-request ones for `role`, those built on
    /// first use as they are so far.
    pub fn listing(&self, role: Role, walks: Option<&dyn WalkStore>) -> Vec<Arc<Collection>> {
        let cx = self.cx(walks);
        self.entries
            .iter()
            .filter(|e| e.layer.present(&cx))
            .filter_map(|e| match e.layer.info().building {
                Building::PerRequest => self.find(e.layer.info().id, role, walks),
                _ => self.peek(e.layer.info().id),
            })
            .collect()
    }

    /// The tile zoom range of a layer: (minzoom, maxzoom).
    pub fn zoom_range(&self, id: &str) -> (u8, u8) {
        self.layer(id).map(|l| (l.info().min_zoom, l.info().max_zoom)).unwrap_or((8, crate::tiles::TILESET_MAX_ZOOM))
    }

    /// The hot spot cells of all point incidents, computed once; the grid layer and the route
    /// report read them.
    pub fn hotspot_cells(&self) -> Arc<HotspotCells> {
        self.hotspot_cells
            .get_or_init(|| {
                let points: Vec<[f64; 2]> = self.picture.point_incidents().map(|i| [i.location.x(), i.location.y()]).collect();
                Arc::new(crate::analysis::hotspots::bounded_hot_spots(&points, crate::spatial::grid::Shape::Square, &crate::analysis::Limits::SERVICE))
            })
            .clone()
    }
}

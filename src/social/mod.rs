//! The social perspective in planning: the indicator catalogue, plan areas (drawn or uploaded)
//! and their social picture from the DeSO they touch, rendered as JSON, CSV and a printable
//! starting document for a social konsekvensanalys.

pub mod catalogue;
pub mod overlay;
pub mod plan;
pub mod render;
pub mod surveys;

pub use catalogue::{Aggregate, Catalogue, IndicatorMeta};
pub use overlay::{build, PlanOptions, PlanProfile};
pub use plan::{PlanArea, PlanAreaError, PlanLimits};

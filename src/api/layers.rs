//! The published collections live in [`crate::catalog`]; these names stay for the routes.

pub use crate::catalog::{analysis_collection, feat, feat_from, geometry_text, view, Access, Collection, Feat};

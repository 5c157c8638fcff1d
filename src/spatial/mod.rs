//! Spatial indexes and joins in SWEREF 99 TM.

pub mod grid;
mod join;
pub mod topology;

pub use join::{AreaIndex, JoinResult};

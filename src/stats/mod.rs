//! Spatial statistics (issue 3).

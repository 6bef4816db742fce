//! What the benchmark binaries share: measuring helpers.

pub mod measure;

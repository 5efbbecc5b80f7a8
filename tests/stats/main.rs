//! `/stats`: aggregation on both engines, the report built on it, and the charts.

#[path = "../support/mod.rs"]
mod support;

mod aggregates;
mod chart;
mod rollups;

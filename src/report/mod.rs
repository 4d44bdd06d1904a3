//! The report: reads run directories (search, fewshot, train) and never trains; draws PNG and SVG
//! figures with plotters and writes `report.md` and `index.html` with the numbers tables.
//!
//! Rooms: `runs` (typed views of run directories), `figure` (rendering, palette, helpers),
//! `distributions` (learned vs fixed per family), `trajectory` (outer loop), `horizon` (learned φ
//! against the look-ahead horizon, across studies), `fewshot_plots`
//! (curves and paired differences), `curves` (inner-loop learning curves), `per_label` (test MAE
//! per true label), `index` (markdown and HTML), `assemble` (the whole report).
pub mod assemble;
pub mod curves;
pub mod distributions;
pub mod fewshot_plots;
pub mod figure;
pub mod horizon;
pub mod index;
pub mod per_label;
pub mod runs;
pub mod trajectory;

pub use assemble::{build, ReportOutcome, ReportSpec};
pub use figure::Figure;

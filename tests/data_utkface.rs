//! The real UTKFace copy (../shared/data/utkface, or DLDL_DATA): counts, age range, cache, and the age-utkface
//! task end to end (split, pools, episodes). Skips with a printed reason when the copy is absent.
use dldl_meta::config::{ImageOptions, TaskSpec};
use dldl_meta::data::cache::TensorCache;
use dldl_meta::data::{load_task, utkface, DataRoots, EpisodeSampler, Pool, Split};
use std::path::PathBuf;
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn utkface_dir() -> Option<PathBuf> {
    let root =
        std::env::var_os("DLDL_DATA").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/data"));
    let dir = root.join("utkface");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED: no UTKFace copy at {} (set DLDL_DATA to the folder holding utkface/)",
            dir.display()
        );
        None
    }
}

#[test]
fn real_utkface_counts_ages_and_cache() -> anyhow::Result<()> {
    let Some(dir) = utkface_dir() else { return Ok(()) };
    let files = std::fs::read_dir(&dir)?.count();
    let listing = utkface::list(&dir)?;
    assert_eq!(
        listing.entries.len() + listing.unparsed.len(),
        files,
        "every file is either parsed or reported"
    );
    assert!(listing.entries.len() >= 7000, "expected the 7,274-image copy, found {}", listing.entries.len());
    println!("UTKFace: {} images parse, {} names do not", listing.entries.len(), listing.unparsed.len());

    let scratch = tempfile::tempdir()?;
    let cache = TensorCache::new(scratch.path());
    let options = ImageOptions::default();
    let start = Instant::now();
    let first = utkface::load(&dir, &options, &cache)?;
    let first_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let second = utkface::load(&dir, &options, &cache)?;
    let cached_s = start.elapsed().as_secs_f64();
    println!("UTKFace 32×32 grey: first load {first_s:.2} s, cached load {cached_s:.3} s");

    assert_eq!(first.len(), listing.entries.len());
    assert_eq!(first.inputs.size(), vec![first.len() as i64, 1, 32, 32]);
    let (lo, hi) = first.label_range().unwrap();
    assert!(lo >= 0.0 && hi <= 116.0 && hi - lo > 90.0, "ages {lo}..{hi}");
    let (min, max) = (first.inputs.min().double_value(&[]), first.inputs.max().double_value(&[]));
    assert!(min >= 0.0 && max <= 1.0 && max > 0.9, "pixels {min}..{max}");
    assert!(second.inputs.equal(&first.inputs) && second.labels.tensor().equal(first.labels.tensor()));
    assert!(cached_s < first_s, "the cached load must be faster");
    Ok(())
}

#[test]
fn age_utkface_task_gives_disjoint_pools_and_fixed_episodes() -> anyhow::Result<()> {
    let Some(dir) = utkface_dir() else { return Ok(()) };
    let task = TaskSpec::load(&repo().join("tasks/age-utkface.toml"))?;
    let scratch = tempfile::tempdir()?;
    let roots = DataRoots {
        external: dir.parent().unwrap().to_path_buf(),
        fetched: scratch.path().into(),
        cache: scratch.path().join("cache"),
    };
    let dataset = load_task(&task, &roots)?;
    let split = Split::new(&dataset, &task.splits)?;
    let sets: Vec<std::collections::HashSet<i64>> =
        Pool::ALL.iter().map(|p| split.pool(*p).iter().copied().collect()).collect();
    assert!(sets[0].is_disjoint(&sets[1]) && sets[0].is_disjoint(&sets[2]) && sets[1].is_disjoint(&sets[2]));
    assert_eq!(sets.iter().map(|s| s.len()).sum::<usize>(), dataset.len());
    let sampler = EpisodeSampler::new(&dataset, &task, &split)?;
    let ages = Vec::<f32>::try_from(dataset.labels.tensor())?;
    for (p, pool) in Pool::ALL.into_iter().enumerate() {
        for index in 0..20 {
            let episode = sampler.episode(pool, index)?;
            assert_eq!(episode, sampler.episode(pool, index)?);
            assert!(episode.support.iter().chain(&episode.query).all(|i| sets[p].contains(i)));
            for (i, bin) in episode.support.iter().zip(&episode.support_labels) {
                assert_eq!(ages[*i as usize].round() as usize, *bin, "age bins 0..116 are the ages");
            }
            assert_eq!(episode.labels.len(), task.episodes.window.unwrap());
        }
    }
    Ok(())
}

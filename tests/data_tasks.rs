//! Every task file parses and validates; every task whose data is here loads with labels inside its domain,
//! splits into disjoint pools, and gives the same episodes for the same (seed, pool, index) from a fresh load.
use dldl_meta::config::TaskSpec;
use dldl_meta::data::{load_task, probe_task, Availability, DataRoots, Dataset, EpisodeSampler, Pool, Split};
use dldl_meta::domain::Labels;
use std::collections::HashSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn roots() -> DataRoots {
    let external = std::env::var_os("DLDL_DATA").map(PathBuf::from);
    DataRoots::under(&repo(), external)
}

const TASKS: [&str; 7] = [
    "age-utkface",
    "age-abalone",
    "quality-wine",
    "rotation-mnist",
    "pose-mnist",
    "multilabel-mnist",
    "segment-mnist",
];

fn available(task: &TaskSpec) -> bool {
    match probe_task(task, &roots()) {
        Ok(Availability::Available { .. }) => true,
        other => {
            println!("SKIPPED {}: data unavailable ({other:?}); run `make data`", task.name);
            false
        }
    }
}

#[test]
fn all_task_files_parse_and_validate() -> anyhow::Result<()> {
    let tasks = TaskSpec::load_dir(&repo().join("tasks"))?;
    let names: HashSet<String> = tasks.iter().map(|t| t.name.clone()).collect();
    for name in TASKS {
        assert!(names.contains(name), "tasks/{name}.toml is missing");
    }
    Ok(())
}

fn check_labels(task: &TaskSpec, d: &Dataset) {
    match &d.labels {
        Labels::MultiLabel(t) => {
            let codes: HashSet<i64> = Vec::<i64>::try_from(t.reshape([-1])).unwrap().into_iter().collect();
            assert!(
                codes.is_subset(&HashSet::from([0, 1, 2])) && codes.contains(&1) && codes.contains(&2),
                "{}: {codes:?}",
                task.name
            );
        }
        Labels::Segmentation(t) => {
            let values: HashSet<i64> = Vec::<i64>::try_from(t.reshape([-1])).unwrap().into_iter().collect();
            assert!(values.iter().all(|v| (0..=10).contains(v) || *v == 255), "{}: {values:?}", task.name);
            assert_eq!(values.len(), 12, "{}: background, ten digits and void all occur", task.name);
        }
        _ => {
            let (lo, hi) = d.label_range().unwrap();
            println!("{}: {} examples, labels {lo}..{hi}", task.name, d.len());
        }
    }
}

#[test]
fn fetched_and_generated_tasks_load_split_and_sample_deterministically() -> anyhow::Result<()> {
    for name in TASKS.iter().filter(|n| **n != "age-utkface") {
        let task = TaskSpec::load(&repo().join(format!("tasks/{name}.toml")))?;
        if !available(&task) {
            continue;
        }
        let dataset = load_task(&task, &roots())?;
        check_labels(&task, &dataset);
        let split = Split::new(&dataset, &task.splits)?;
        let pools: Vec<HashSet<i64>> =
            Pool::ALL.iter().map(|p| split.pool(*p).iter().copied().collect()).collect();
        assert!(
            pools[0].is_disjoint(&pools[1])
                && pools[0].is_disjoint(&pools[2])
                && pools[1].is_disjoint(&pools[2]),
            "{name}"
        );
        if let Some(groups) = &dataset.groups {
            let group_pool = |i: i64| pools.iter().position(|p| p.contains(&i)).unwrap();
            let mut seen = std::collections::HashMap::new();
            for (i, g) in groups.iter().enumerate() {
                assert_eq!(
                    *seen.entry(*g).or_insert(group_pool(i as i64)),
                    group_pool(i as i64),
                    "{name}: group {g} straddles pools"
                );
            }
        }
        let sampler = EpisodeSampler::new(&dataset, &task, &split)?;
        // A fresh load (generators are seeded) must give the very same episodes.
        let again = load_task(&task, &roots())?;
        assert!(again.inputs.equal(&dataset.inputs), "{name}: a second load differs");
        let sampler2 = EpisodeSampler::new(&again, &task, &Split::new(&again, &task.splits)?)?;
        for (p, pool) in Pool::ALL.into_iter().enumerate() {
            for index in [0u64, 1, 599] {
                let e = sampler.episode(pool, index)?;
                assert_eq!(e, sampler2.episode(pool, index)?, "{name}");
                assert_eq!(e.support.len(), e.labels.len() * task.episodes.shots, "{name}");
                assert!(
                    e.support.iter().chain(&e.query).all(|i| pools[p].contains(i)),
                    "{name}: episode leaves its pool"
                );
                let unique: HashSet<&i64> = e.support.iter().chain(&e.query).collect();
                assert_eq!(
                    unique.len(),
                    e.support.len() + e.query.len(),
                    "{name}: support and query overlap"
                );
            }
            assert_ne!(sampler.episode(pool, 0)?, sampler.episode(pool, 1)?, "{name}");
        }
    }
    Ok(())
}

//! `dldl-meta worker` against Optuna's storage: a private PostgreSQL server (started from the Debian
//! packages as the `postgres` user, 127.0.0.1 only, stopped by a drop guard) and a journal file.
//! Workers share a study, a killed worker's trial is failed by the heartbeat and retried, a study of
//! another task or space is refused, an unreachable storage fails in bounded time, and
//! `search --from-optuna` pulls a study into a run directory that `report` reads.
mod common;

use common::{dldl, fixture, path, text};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PostgreSQL server in a temporary directory; stopped and removed on drop (also when a test fails).
struct Postgres {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
}

/// The directory of PostgreSQL's server binaries (env DLDL_PG_BIN, else /usr/lib/postgresql/*/bin).
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("DLDL_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, DLDL_PG_BIN unset): `make postgres` installs them (apt-get install postgresql)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    fn start(name: &str) -> Postgres {
        let root = std::env::temp_dir().join(format!("dldl-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Postgres { root, bin: pg_bin(), port };
        if is_root() {
            // The server refuses to run as root: the directory belongs to `postgres`, which runs it.
            let chown =
                Command::new("chown").args(["-R", "postgres:postgres", path(&server.root)]).status().unwrap();
            assert!(chown.success(), "chown to postgres failed (is there a postgres user?)");
        }
        let data = server.root.join("data");
        server
            .run("initdb", &["-D", path(&data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            server.port,
            path(&server.root)
        );
        server.run(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&server.root.join("log")),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        server
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if is_root() {
            Command::new("runuser").args(["-u", "postgres", "--", path(&exe)]).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.root.join("data");
        let stop = |root: bool| {
            let exe = self.bin.join("pg_ctl");
            let args = ["-D", path(&data), "-m", "immediate", "-w", "stop"];
            if root {
                Command::new("runuser").args(["-u", "postgres", "--", path(&exe)]).args(args).output()
            } else {
                Command::new(&exe).args(args).output()
            }
        };
        let _ = stop(is_root());
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A study file for the toy task: σ in [0.1, 10], `episodes` meta-train episodes, `steps` inner steps.
fn study_file(dir: &Path, name: &str, episodes: usize, steps: usize, extra: &str) -> String {
    let file = dir.join(format!("{name}.toml"));
    let body = format!(
        "method = \"random\"\nlearn = \"sigma\"\nlower = [0.1]\nupper = [10.0]\nouter_steps = 1\nepisodes_per_step = {episodes}\nvalidation_episodes = 2\n\
         [inner]\nsteps = {steps}\nbatch = 4\nlr = 0.01\n[optuna]\nheartbeat_interval = 1\ngrace_period = 2\n{extra}"
    );
    std::fs::write(&file, body).unwrap();
    path(&file).to_string()
}

fn worker_args(
    task: &Path,
    meta: &str,
    data: &Path,
    storage: &str,
    study: &str,
    trials: usize,
) -> Vec<String> {
    let trials = trials.to_string();
    [
        "worker",
        "--task",
        path(task),
        "--meta",
        meta,
        "--data-dir",
        path(data),
        "--device",
        "cpu",
        "--storage",
        storage,
        "--study",
        study,
        "--trials",
        &trials,
        "--timeout",
        "20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(args)
        .env("DLDL_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "worker failed: {}", text(&out));
    text(&out)
}

/// Pulls `study` into `out` with `search --from-optuna` and returns the stored trials.
fn pull(storage: &str, study: &str, out: &Path) -> Vec<Value> {
    let r = dldl(&["search", "--from-optuna", storage, "--study", study, "--out", path(out)]);
    assert!(r.status.success(), "{}", text(&r));
    std::fs::read_to_string(out.join("optuna_trials.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn states(trials: &[Value]) -> Vec<(u64, String)> {
    trials.iter().map(|t| (t["number"].as_u64().unwrap(), t["state"].as_str().unwrap().to_string())).collect()
}

#[test]
fn two_workers_share_a_postgresql_study_and_the_pull_feeds_report() {
    let pg = Postgres::start("share");
    let (root, task) = fixture("optuna-share", 0.01);
    let data = root.join("data");
    let meta = study_file(&root, "tpe", 2, 6, "sampler = \"tpe\"\n");
    let first = spawn(&worker_args(&task, &meta, &data, &pg.url(), "shared", 3));
    let second = spawn(&worker_args(&task, &meta, &data, &pg.url(), "shared", 3));
    let logs = [finish(first), finish(second)];
    for log in &logs {
        assert_eq!(
            log.lines().filter(|l| l.starts_with("trial ") && l.contains("query loss")).count(),
            3,
            "{log}"
        );
    }
    let out = root.join("pulled");
    let trials = pull(&pg.url(), "shared", &out);
    let numbers: Vec<u64> = states(&trials).iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4, 5], "each trial number once: {numbers:?}");
    assert!(states(&trials).iter().all(|(_, s)| s == "complete"), "{:?}", states(&trials));
    let pids: std::collections::BTreeSet<u64> =
        trials.iter().map(|t| t["user_attrs"]["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "two workers: {pids:?}");
    for t in &trials {
        let attrs = &t["user_attrs"];
        let sigma = t["params"]["sigma"].as_f64().unwrap();
        assert!((0.1..=10.0).contains(&sigma));
        assert_eq!(attrs["phi"][0].as_f64().unwrap(), sigma);
        assert_eq!(attrs["episodes"].as_array().unwrap().len(), 2);
        assert!(
            attrs["host"].is_string()
                && attrs["environment"]["dldl_meta"].is_string()
                && attrs["optuna_version"] == "5.0.0",
            "{attrs}"
        );
        let mean = attrs["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["query_loss"].as_f64().unwrap())
            .sum::<f64>()
            / 2.0;
        assert!((t["value"].as_f64().unwrap() - mean).abs() < 1e-9, "value is the mean query loss");
        for e in attrs["episodes"].as_array().unwrap() {
            let step = e["episode"].as_u64().unwrap().to_string();
            assert_eq!(
                t["intermediate"][&step], e["query_loss"],
                "each episode's query loss is an intermediate value"
            );
        }
    }
    // learned.toml holds the best trial's σ; trials.jsonl one line per episode of each complete trial.
    let best = trials
        .iter()
        .min_by(|a, b| a["value"].as_f64().unwrap().total_cmp(&b["value"].as_f64().unwrap()))
        .unwrap();
    let learned: toml::Value =
        toml::from_str(&std::fs::read_to_string(out.join("learned.toml")).unwrap()).unwrap();
    assert_eq!(
        learned["distribution"]["sigma"].as_float().unwrap(),
        best["params"]["sigma"].as_f64().unwrap()
    );
    assert_eq!(std::fs::read_to_string(out.join("trials.jsonl")).unwrap().lines().count(), 12);
    let r = dldl(&["report", path(&out), "--out", path(&root.join("report"))]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(root.join("report/report.md").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_killed_worker_has_its_trial_failed_by_the_heartbeat_and_retried() {
    let pg = Postgres::start("kill");
    let (root, task) = fixture("optuna-kill", 0.01);
    let data = root.join("data");
    // Enough inner steps that the trial is still running when the worker is killed.
    let meta = study_file(&root, "slow", 2, 2000, "sampler = \"random\"\n");
    let mut victim = spawn(&worker_args(&task, &meta, &data, &pg.url(), "kill", 1));
    let mut stderr = BufReader::new(victim.stderr.take().unwrap());
    let started = Instant::now();
    let mut line = String::new();
    while !line.starts_with("trial 0: evaluating") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the worker ended before its trial started");
        assert!(started.elapsed() < Duration::from_secs(120), "no trial started");
    }
    std::thread::sleep(Duration::from_millis(200));
    Command::new("kill").args(["-9", &victim.id().to_string()]).status().unwrap();
    victim.wait().unwrap();
    std::thread::sleep(Duration::from_secs(3)); // past the grace period of 2 s
    let log = finish(spawn(&worker_args(&task, &meta, &data, &pg.url(), "kill", 1)));
    assert!(log.contains("trial 1 (retry of trial 0)"), "{log}");
    let trials = pull(&pg.url(), "kill", &root.join("pulled"));
    assert_eq!(states(&trials), vec![(0, "fail".to_string()), (1, "complete".to_string())]);
    assert_eq!(trials[1]["params"], trials[0]["params"], "the retry evaluates the same φ");
    assert_eq!(trials[1]["retry_of"].as_u64(), Some(0));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_worker_of_another_task_or_space_is_refused() {
    let pg = Postgres::start("refuse");
    let (root, task) = fixture("optuna-refuse", 0.01);
    let data = root.join("data");
    let meta = study_file(&root, "a", 1, 4, "");
    finish(spawn(&worker_args(&task, &meta, &data, &pg.url(), "mine", 1)));
    let wider = std::fs::read_to_string(&meta).unwrap().replace("upper = [10.0]", "upper = [20.0]");
    let other_space = root.join("b.toml");
    std::fs::write(&other_space, wider).unwrap();
    let r = dldl(
        &worker_args(&task, path(&other_space), &data, &pg.url(), "mine", 1)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!r.status.success());
    assert!(text(&r).contains("was created with another space"), "{}", text(&r));
    let other_task = root.join("toy-lr.toml");
    std::fs::write(&other_task, std::fs::read_to_string(&task).unwrap().replace("lr = 0.01", "lr = 0.02"))
        .unwrap();
    let r = dldl(
        &worker_args(&other_task, &meta, &data, &pg.url(), "mine", 1)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!r.status.success());
    assert!(text(&r).contains("was created with another task"), "{}", text(&r));
    assert_eq!(pull(&pg.url(), "mine", &root.join("pulled")).len(), 1, "the refused workers added no trial");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_unreachable_storage_fails_within_the_timeout() {
    let (root, task) = fixture("optuna-unreachable", 0.01);
    let data = root.join("data");
    let meta = study_file(&root, "a", 1, 4, "");
    // A server that accepts connections and never answers, and a port nobody listens on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url =
        format!("postgresql://postgres@127.0.0.1:{}/postgres", silent.local_addr().unwrap().port());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed_url = format!("postgresql://postgres:secret@127.0.0.1:{closed}/postgres");
    for url in [silent_url, closed_url] {
        let mut args = worker_args(&task, &meta, &data, &url, "x", 1);
        let last = args.len() - 1;
        args[last] = "3".into();
        let started = Instant::now();
        let r = dldl(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let took = started.elapsed();
        assert!(!r.status.success(), "{url}: {}", text(&r));
        assert!(took < Duration::from_secs(30), "{url}: took {took:?}");
        let message = text(&r);
        assert!(message.contains("127.0.0.1") && message.contains("Optuna open"), "{message}");
        assert!(!message.contains("secret"), "the password is not printed: {message}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_journal_file_holds_a_grid_study_on_one_machine() {
    let (root, task) = fixture("optuna-journal", 0.01);
    let data = root.join("data");
    let meta = study_file(&root, "grid", 1, 4, "sampler = \"grid\"\n");
    let meta_text = std::fs::read_to_string(&meta)
        .unwrap()
        .replace("method = \"random\"", "method = \"grid\"\ngrid = [0.5, 2.0]");
    std::fs::write(&meta, meta_text).unwrap();
    let storage = format!("journal:{}", path(&root.join("study.log")));
    let log = finish(spawn(&worker_args(&task, &meta, &data, &storage, "grid", 5)));
    assert_eq!(
        log.lines().filter(|l| l.contains("query loss")).count(),
        2,
        "the grid of 2 points is exhausted: {log}"
    );
    let trials = pull(&storage, "grid", &root.join("pulled"));
    let mut sigmas: Vec<f64> = trials.iter().map(|t| t["params"]["sigma"].as_f64().unwrap()).collect();
    sigmas.sort_by(f64::total_cmp);
    assert_eq!(sigmas, vec![0.5, 2.0]);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_losing_phi_is_pruned_by_wilcoxon_across_episodes() {
    let (root, task) = fixture("optuna-prune", 0.01);
    let data = root.join("data");
    let storage = format!("journal:{}", path(&root.join("study.log")));
    let extra = "sampler = \"grid\"\npruner = \"wilcoxon\"\np_threshold = 0.3\nepisodes_per_report = 1\n";
    // The grid is not part of the study's identity: one worker tries σ = 1, the next σ = 50
    // (targets nearly uniform over the 6 labels), which loses on every episode.
    for (name, sigma) in [("good", "1.0"), ("flat", "50.0")] {
        let meta = study_file(&root, name, 6, 60, extra);
        let body = std::fs::read_to_string(&meta)
            .unwrap()
            .replace("method = \"random\"", &format!("method = \"grid\"\ngrid = [{sigma}]"))
            .replace("upper = [10.0]", "upper = [100.0]");
        std::fs::write(&meta, body).unwrap();
        finish(spawn(&worker_args(&task, &meta, &data, &storage, "prune", 1)));
    }
    let trials = pull(&storage, "prune", &root.join("pulled"));
    assert_eq!(states(&trials), vec![(0, "complete".to_string()), (1, "pruned".to_string())]);
    assert_eq!(trials[0]["intermediate"].as_object().unwrap().len(), 6);
    let reported = trials[1]["intermediate"].as_object().unwrap().len();
    assert!((2..6).contains(&reported), "pruned after {reported} of 6 episodes");
    assert_eq!(
        trials[1]["user_attrs"]["episodes"].as_array().unwrap().len(),
        reported,
        "only the scored episodes are recorded"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_restarted_or_duplicated_worker_id_never_repeats_a_phi() {
    let (root, task) = fixture("optuna-same-id", 0.01);
    let data = root.join("data");
    let meta = study_file(&root, "random", 1, 2, "sampler = \"random\"\n");
    let storage = format!("journal:{}", path(&root.join("study.log")));
    let args = || {
        let mut args = worker_args(&task, &meta, &data, &storage, "same-id", 1);
        args.extend(["--worker-id".to_string(), "7".to_string()]);
        args
    };
    // The same worker id restarted after its trial finished, then twice at once.
    finish(spawn(&args()));
    finish(spawn(&args()));
    let (a, b) = (spawn(&args()), spawn(&args()));
    finish(a);
    finish(b);
    let trials = pull(&storage, "same-id", &root.join("pulled"));
    let mut sigmas: Vec<f64> = trials.iter().map(|t| t["params"]["sigma"].as_f64().unwrap()).collect();
    assert_eq!(sigmas.len(), 4, "{:?}", states(&trials));
    sigmas.sort_by(f64::total_cmp);
    sigmas.dedup();
    assert_eq!(sigmas.len(), 4, "every process draws its own φ: {sigmas:?}");
    assert!(trials.iter().all(|t| t["user_attrs"]["worker_id"] == 7), "the id still names the worker");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_missing_journal_or_an_unknown_scheme_is_refused_and_nothing_is_created() {
    let root = std::env::temp_dir().join(format!("dldl-optuna-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let missing = root.join("missing.log");
    let out = root.join("pulled");
    let storage = format!("journal:{}", path(&missing));
    let r = dldl(&["search", "--from-optuna", &storage, "--study", "x", "--out", path(&out)]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains(&format!("{}: the storage file of", path(&missing))), "{}", text(&r));
    assert!(text(&r).contains("does not exist") && !text(&r).contains("no study named"), "{}", text(&r));
    assert!(!missing.exists() && !out.exists(), "nothing is created");
    let redis = "redis://me:hunter2@cache:6379/0";
    for args in [
        vec!["search", "--from-optuna", redis, "--study", "x", "--out", path(&out)],
        vec!["worker", "--storage", redis, "--study", "x", "--task", "tasks/none.toml", "--meta", "m.toml"],
    ] {
        let r = dldl(&args);
        assert_eq!(r.status.code(), Some(1), "{}", text(&r));
        let message = text(&r);
        for needle in ["the scheme `redis` is not supported", "postgresql://", "sqlite:///", "journal:PATH"] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        assert!(!message.contains("hunter2") && !message.contains("NoSuchModuleError"), "{message}");
    }
    // The storage's password is not shown by --help either, where clap prints env values.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(["worker", "--help"])
        .env("DLDL_OPTUNA_STORAGE", redis)
        .output()
        .unwrap();
    assert!(!text(&help).contains("hunter2"), "{}", text(&help));
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&root);
}

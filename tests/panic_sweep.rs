//! The panic sweep: every subcommand of the real binary over hostile arguments (huge sizes, NaN,
//! inf, zero, negative, empty, garbage and missing files, directories for files) must fail cleanly.
mod common;

use common::{fixture, path};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a case must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exit non-zero with an error message (no panic, no signal).
    Refused,
    /// The input is legitimately fine: exit 0 without a panic.
    Accepted,
}

/// One invocation of the binary.
struct Case {
    args: Vec<String>,
    expect: Expect,
}

/// How a case went wrong.
enum Fault {
    Panicked(String),
    Signal(String),
    SucceededOnHostileInput,
    FailedOnGoodInput(String),
    TimedOut,
}

impl Fault {
    fn describe(&self) -> String {
        match self {
            Fault::Panicked(line) => format!("panicked: {line}"),
            Fault::Signal(line) => format!("killed by a signal: {line}"),
            Fault::SucceededOnHostileInput => "exited 0 on hostile input".into(),
            Fault::FailedOnGoodInput(line) => format!("failed on good input: {line}"),
            Fault::TimedOut => {
                format!("still running after {} s: validation did not stop it", CASE_TIMEOUT.as_secs())
            }
        }
    }
}

/// Each case must fail in validation, long before any training: a case running this long did not.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Address-space limit of each case (8 GiB), so that a huge allocation fails at once instead of
/// taking the machine's memory; every case needs far less.
const ADDRESS_SPACE_KIB: u64 = 8 << 20;

/// The hostile files the cases point at, under one temp directory.
struct Fixtures {
    root: PathBuf,
    task: PathBuf,
}

impl Fixtures {
    fn new() -> Self {
        let (root, task) = fixture("panic-sweep", 0.01);
        fs::write(root.join("empty.toml"), "").unwrap();
        fs::write(root.join("garbage.toml"), b"\x00\xff\xfe garbage = = [[\n\x01").unwrap();
        fs::create_dir_all(root.join("dir.toml")).unwrap();
        fs::create_dir_all(root.join("empty-dir")).unwrap();
        fs::create_dir_all(root.join("garbage-tasks")).unwrap();
        fs::write(root.join("garbage-tasks/bad.toml"), "[dataset\nkind = 3").unwrap();
        fs::create_dir_all(root.join("garbage-run")).unwrap();
        fs::write(root.join("garbage-run/config.json"), "{ not json").unwrap();
        let fixtures = Fixtures { root, task };
        fixtures.write_meta("meta-zero-steps.toml", "outer_steps = 1", "outer_steps = 0");
        fixtures.write_meta("meta-nan-grid.toml", "grid = [1.0, 2.0]", "grid = [nan, 2.0]");
        fixtures
    }

    fn at(&self, name: &str) -> String {
        path(&self.root.join(name)).to_string()
    }

    /// A copy of the fixture task with `from` replaced by `to`, under `name`.
    fn task_with(&self, name: &str, from: &str, to: &str) -> String {
        let text = fs::read_to_string(&self.task).unwrap();
        assert!(text.contains(from), "fixture task lacks {from:?}");
        let file = self.root.join(name);
        fs::write(&file, text.replace(from, to)).unwrap();
        path(&file).to_string()
    }

    /// A grid study over σ for the fixture task with `from` replaced by `to`.
    fn write_meta(&self, name: &str, from: &str, to: &str) {
        let text = "description = \"sweep\"\nmethod = \"grid\"\nlearn = \"sigma\"\ngrid = [1.0, 2.0]\nlower = [0.5]\nupper = [4.0]\nouter_steps = 1\nepisodes_per_step = 1\nvalidation_episodes = 1\nseed = 0\n\n[inner]\nsteps = 2\nbatch = 4\nlr = 0.01\n";
        assert!(text.contains(from));
        fs::write(self.root.join(name), text.replace(from, to)).unwrap();
    }

    fn out(&self, name: &str) -> String {
        self.at(&format!("runs/{name}"))
    }
}

fn refused(args: &[&str]) -> Case {
    Case { args: args.iter().map(|a| a.to_string()).collect(), expect: Expect::Refused }
}

fn accepted(args: &[&str]) -> Case {
    Case { args: args.iter().map(|a| a.to_string()).collect(), expect: Expect::Accepted }
}

fn label_cases() -> Vec<Case> {
    let seg = |extra: &[&str]| {
        let mut args = vec!["label", "--family", "segmentation", "--sigma", "1"];
        args.extend_from_slice(extra);
        refused(&args)
    };
    vec![
        seg(&["--map", "0 1/1 0", "--kernel", "100001"]),
        seg(&["--map", "0 1/1 0", "--kernel", "3", "--classes", "1000000000"]),
        seg(&["--map", "0 999999999/1 0", "--kernel", "3"]),
        seg(&["--map", "0 1/1 0", "--kernel", "5", "--padding", "0"]),
        seg(&["--map", "0 1/1 0", "--kernel", "3", "--stride", "0"]),
        seg(&["--map", "0 1/1 0", "--kernel", "3", "--padding", "-1"]),
        seg(&["--map", ""]),
        seg(&["--map", "0 1/1"]),
        seg(&["--map", "0 -7/1 0", "--kernel", "3"]),
        refused(&["label", "--family", "pdn", "--classes", "100000000", "--positive", "0"]),
        refused(&["label", "--family", "pdn", "--classes", "0"]),
        refused(&["label", "--family", "pdn", "--classes", "-5", "--positive", "0"]),
        refused(&["label", "--family", "pdn", "--classes", "1e8", "--positive", "0"]),
        refused(&["label", "--family", "mixture", "--classes", "1000000", "--positive", "0", "--sigma", "1"]),
        refused(&[
            "label",
            "--family",
            "gaussian2d",
            "--grid=0:999999,0:999999",
            "--label=0,0",
            "--sigma",
            "1",
        ]),
        refused(&["label", "--family", "gaussian", "--bins", "0:1:1e-300", "--label", "0", "--sigma", "1"]),
        refused(&["label", "--family", "gaussian", "--bins", "0:1e300", "--label", "0", "--sigma", "1"]),
        refused(&["label", "--family", "gaussian", "--label", "3", "--sigma", "inf"]),
        refused(&["label", "--family", "gaussian", "--label", "3", "--sigma", "-1"]),
        refused(&["label", "--family", "smoothing", "--label", "3", "--epsilon", "nan"]),
        refused(&["label", "--family", "gaussian2d", "--label=0,0", "--sigma", "1,2,3"]),
        // A NaN label and a label outside the domain.
        refused(&["label", "--family", "gaussian", "--label", "nan", "--sigma", "1"]),
        refused(&["label", "--family", "gaussian", "--bins", "0:100", "--label", "150", "--sigma", "1"]),
        accepted(&["label", "--family", "gaussian", "--bins", "0:100", "--label", "32", "--sigma", "2"]),
    ]
}

fn runtime_cases() -> Vec<Case> {
    vec![
        accepted(&["info"]),
        refused(&["--threads", "0", "info"]),
        refused(&["--threads", "-1", "info"]),
        refused(&["--threads", "100000", "info"]),
        refused(&["--threads", "99999999999", "info"]),
        refused(&["--threads", "100000", "label", "--family", "onehot", "--label", "3"]),
        refused(&["bench", "--populations", "0"]),
        refused(&["bench", "--populations", "100000000"]),
        refused(&["bench", "--member-steps", "0"]),
        refused(&["bench", "--batches", "0"]),
        refused(&["bench", "--batches", "1000000000"]),
        refused(&["bench", "--rounds", "0"]),
        refused(&["bench", "--device", "cuda:99"]),
    ]
}

fn file_cases(f: &Fixtures) -> Vec<Case> {
    let (empty, garbage, dir, missing) =
        (f.at("empty.toml"), f.at("garbage.toml"), f.at("dir.toml"), f.at("missing.toml"));
    let task = path(&f.task).to_string();
    let mut cases = vec![
        refused(&["tasks", "--tasks-dir", &f.at("missing-dir")]),
        refused(&["tasks", "--tasks-dir", &f.at("empty-dir")]),
        refused(&["tasks", "--tasks-dir", &f.at("garbage-tasks")]),
        refused(&["tasks", "--tasks-dir", &empty]),
        refused(&["data", "show", "no-such-task"]),
        refused(&["data", "show", &task, "--data-dir", &f.at("missing-dir")]),
        refused(&["data", "show", &task, "--save-split", &f.at("missing-dir/split.json")]),
        refused(&["data", "show", &task, "--preview", &dir]),
        refused(&["eval", "--run", &f.at("missing-dir")]),
        refused(&["eval", "--run", &f.at("empty-dir")]),
        refused(&["eval", "--run", &f.at("garbage-run")]),
        refused(&["eval", "--run", &empty]),
        refused(&["trace", "--run", &f.at("missing-dir")]),
        refused(&["trace", "--run", &f.at("empty-dir")]),
        refused(&["trace", "--run", &f.at("garbage-run")]),
        refused(&["trace", "--run", &empty]),
        refused(&["report", &f.at("missing-dir"), "--out", &f.out("report-missing")]),
        refused(&["report", &f.at("empty-dir"), "--out", &f.out("report-empty")]),
        refused(&["report", &f.at("garbage-run"), "--out", &f.out("report-garbage")]),
        refused(&["report", &empty, "--out", &f.out("report-file")]),
    ];
    // Every bad file where a task or study file is expected; `eval`, `trace` and `report` above take run directories.
    for bad in [&empty, &garbage, &dir, &missing] {
        cases.push(refused(&["train", "--task", bad, "--out", &f.out("train-bad-task")]));
        cases.push(refused(&["search", "--task", &task, "--meta", bad, "--out", &f.out("search-bad-meta")]));
    }
    for bad in [&garbage, &dir] {
        cases.push(refused(&["data", "show", bad]));
        cases.push(refused(&[
            "search",
            "--task",
            bad,
            "--meta",
            &f.at("meta-zero-steps.toml"),
            "--out",
            &f.out("search-bad-task"),
        ]));
        cases.push(refused(&[
            "fewshot",
            "--task",
            bad,
            "--shots",
            "1",
            "--episodes",
            "1",
            "--out",
            &f.out("fewshot-bad-task"),
        ]));
        cases.push(refused(&[
            "fewshot",
            "--task",
            &task,
            "--meta",
            bad,
            "--shots",
            "1",
            "--episodes",
            "1",
            "--out",
            &f.out("fewshot-bad-meta"),
        ]));
    }
    cases
}

fn train_cases(f: &Fixtures) -> Vec<Case> {
    let task = path(&f.task).to_string();
    let train = |extra: &[&str], out: &str| {
        let mut args = vec!["train", "--task", &task, "--out"];
        let out = f.out(out);
        args.push(&out);
        args.extend_from_slice(extra);
        refused(&args)
    };
    let mut cases = vec![
        train(&["--seeds", "0"], "seeds0"),
        train(&["--steps", "0"], "steps0"),
        train(&["--dist", "dldl:sigma=nan"], "sigma-nan"),
        train(&["--dist", "dldl:sigma=1e400"], "sigma-inf"),
        train(&["--dist", "dldl:sigma=-2"], "sigma-neg"),
        train(&["--dist", "garbage"], "dist-garbage"),
        train(&["--dist", &format!("learned:{}", f.at("missing-dir"))], "dist-learned"),
        train(&["--device", "cuda:99"], "cuda"),
        train(&["--seeds", "100000000000"], "seeds-huge"),
    ];
    let out_file = f.at("empty.toml");
    cases.push(refused(&["train", "--task", &task, "--out", &out_file]));
    let bad_tasks = [
        ("batch0.toml", "batch = 8", "batch = 0"),
        ("lr-nan.toml", "lr = 0.01", "lr = nan"),
        ("sigma-neg.toml", "sigma = 1.0", "sigma = -1.0"),
        ("sigma-tiny.toml", "sigma = 1.0", "sigma = 1e-300"),
        ("bins-huge.toml", "bins = \"0:5:1\"", "bins = \"0:1e300\""),
        ("width-huge.toml", "widths = [4, 8]", "widths = [1000000000, 8]"),
        ("fc-huge.toml", "fc = [16]", "fc = [1000000000000]"),
        ("input-huge.toml", "input_size = 16", "input_size = 1000000"),
        ("input-zero.toml", "input_size = 16", "input_size = 0"),
        ("split-nan.toml", "train = 0.6", "train = nan"),
        ("split-sum.toml", "train = 0.6", "train = 0.9"),
        ("shots0.toml", "shots = 1", "shots = 0"),
        ("path-missing.toml", "path = \"faces\"", "path = \"no-such-folder\""),
        ("path-empty.toml", "path = \"faces\"", "path = \"\""),
    ];
    for (name, from, to) in bad_tasks {
        let bad = f.task_with(name, from, to);
        cases.push(refused(&["train", "--task", &bad, "--out", &f.out(name)]));
    }
    cases
}

fn study_cases(f: &Fixtures) -> Vec<Case> {
    let task = path(&f.task).to_string();
    let fewshot = |extra: &[&str], out: &str| {
        let mut args = vec!["fewshot", "--task", &task, "--out"];
        let out = f.out(out);
        args.push(&out);
        args.extend_from_slice(extra);
        refused(&args)
    };
    vec![
        refused(&[
            "search",
            "--task",
            &task,
            "--meta",
            &f.at("meta-zero-steps.toml"),
            "--out",
            &f.out("search-zero"),
        ]),
        refused(&[
            "search",
            "--task",
            &task,
            "--meta",
            &f.at("meta-nan-grid.toml"),
            "--out",
            &f.out("search-nan"),
        ]),
        fewshot(&["--shots", "0", "--episodes", "1"], "shots0"),
        fewshot(&["--shots", "1000", "--episodes", "1"], "shots1000"),
        fewshot(&["--shots", "1", "--episodes", "0"], "episodes0"),
        fewshot(&["--train-fraction", "0", "--episodes", "1"], "fraction0"),
        fewshot(&["--train-fraction", "nan", "--episodes", "1"], "fraction-nan"),
        fewshot(&["--train-fraction", "2", "--episodes", "1"], "fraction2"),
        fewshot(&["--shots", "1", "--episodes", "1", "--chunk", "0"], "chunk0"),
        fewshot(&["--shots", "1", "--episodes", "1", "--batch", "0"], "batch0"),
        fewshot(&["--shots", "1", "--episodes", "1", "--lr", "nan"], "lr-nan"),
        fewshot(&["--shots", "1", "--episodes", "1", "--steps", "0"], "steps0"),
        fewshot(&["--shots", "1", "--episodes", "1", "--method", "garbage"], "method-garbage"),
    ]
}

/// Runs one case under [`CASE_TIMEOUT`] and [`ADDRESS_SPACE_KIB`]; `None` when it behaved.
fn run(case: &Case, scratch: &Path, index: usize) -> Option<Fault> {
    let start = Instant::now();
    let fault = run_once(case, scratch, index);
    let seconds = start.elapsed().as_secs_f64();
    if seconds > 10.0 {
        eprintln!("case {index} took {seconds:.1} s: dldl-meta {}", case.args.join(" "));
    }
    fault
}

fn run_once(case: &Case, scratch: &Path, index: usize) -> Option<Fault> {
    let stderr_file = scratch.join(format!("case-{index}.stderr"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_dldl-meta"))
        .args(&case.args)
        .env("DLDL_THREADS", "1")
        .env("RUST_BACKTRACE", "0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr_file).unwrap())
        .spawn()
        .expect("binary starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CASE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Some(Fault::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = fs::File::open(&stderr_file).and_then(|mut f| f.read_to_string(&mut stderr));
    let last_line = stderr.lines().last().unwrap_or("").to_string();
    if stderr.contains("panicked") {
        let line = stderr.lines().find(|l| l.contains("panicked")).unwrap_or("");
        return Some(Fault::Panicked(format!("{line} {last_line}")));
    }
    match (status.code(), case.expect) {
        (None, _) => Some(Fault::Signal(format!("{status}: {last_line}"))),
        (Some(0), Expect::Refused) => Some(Fault::SucceededOnHostileInput),
        (Some(0), Expect::Accepted) | (Some(_), Expect::Refused) => None,
        (Some(_), Expect::Accepted) => Some(Fault::FailedOnGoodInput(last_line)),
    }
}

#[test]
fn hostile_arguments_fail_cleanly_in_every_subcommand() {
    let fixtures = Fixtures::new();
    let mut cases = label_cases();
    cases.extend(runtime_cases());
    cases.extend(file_cases(&fixtures));
    cases.extend(train_cases(&fixtures));
    cases.extend(study_cases(&fixtures));
    let scratch = fixtures.root.join("sweep");
    fs::create_dir_all(&scratch).unwrap();
    let next = Mutex::new(0usize);
    let faults = Mutex::new(vec![]);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let index = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(case) = cases.get(index) else { break };
                if let Some(fault) = run(case, &scratch, index) {
                    faults.lock().unwrap().push((index, fault));
                }
            });
        }
    });
    let mut faults = faults.into_inner().unwrap();
    faults.sort_by_key(|(i, _)| *i);
    for (i, fault) in &faults {
        eprintln!("case {i}: dldl-meta {}: {}", cases[*i].args.join(" "), fault.describe());
    }
    let panicked = faults.iter().filter(|(_, f)| matches!(f, Fault::Panicked(_) | Fault::Signal(_))).count();
    let exit_zero = faults.iter().filter(|(_, f)| matches!(f, Fault::SucceededOnHostileInput)).count();
    eprintln!("panic sweep: {} cases, {} bad ({panicked} panicked or killed by a signal, {exit_zero} exited 0 on hostile input)", cases.len(), faults.len());
    let _ = fs::remove_dir_all(&fixtures.root);
    assert!(faults.is_empty(), "{} of {} cases misbehaved (listed above)", faults.len(), cases.len());
}

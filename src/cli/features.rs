//! `dldl-meta features`: a trained image run's frozen backbone (the layers `freeze = "features"`
//! holds) applied to every example of its task, written as a CSV table that a `csv` task reads.
//!
//! CSV, not `.npz`: the `csv` kind already reads it (a head on cached features is one more task
//! file), it needs no further crate, and every f32 is written in its shortest exact decimal form.
use super::common::{open_train_run, TrainedRun};
use anyhow::{bail, ensure, Context};
use clap::Args;
use dldl_meta::config::TaskSpec;
use dldl_meta::data::table::state_cell;
use dldl_meta::data::{Pool, Split};
use dldl_meta::domain::{LabelDomain, Labels};
use dldl_meta::model::{Params, Pass};
use dldl_meta::rundir::records::{TrainConfig, TrainMetrics, CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE};
use dldl_meta::rundir::RunDir;
use dldl_meta::runtime::DeviceChoice;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Tensor};

/// Arguments of `dldl-meta features`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  dldl-meta features --run runs/utk --out features/utk.csv\n\
The table has columns f0…f{F-1}, the label column(s) (`label`; `label1`, `label2` for a 2-D label;\n\
one column per class, 1/d/0, for multi-label) and `split` (train, val or test, the run's own split).\n\
A task reads it with [dataset] kind = \"csv\", label = \"label\", split = \"split\" and an MLP head.")]
pub struct FeaturesArgs {
    /// Run directory written by `dldl-meta train` (a CNN or an MLP task).
    #[arg(long)]
    pub run: PathBuf,
    /// CSV file to write (its folder must exist; an existing file is refused).
    #[arg(long)]
    pub out: PathBuf,
    /// Which member's backbone (its position in the run's metrics.json).
    #[arg(long, default_value_t = 0, value_parser = super::values::whole::<usize, 0>)]
    pub member: usize,
    /// Another copy of the run's data (default: the data it trained on).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Examples per forward pass.
const CHUNK: i64 = 256;

/// Loads the run's member, computes its backbone features for every example and writes the table.
pub fn run(args: &FeaturesArgs) -> anyhow::Result<()> {
    let device = args.device.parse::<DeviceChoice>()?.resolve()?;
    ensure!(!args.out.exists(), "--out {}: exists; choose another file", args.out.display());
    let dir = RunDir::existing(&args.run)?;
    let config: TrainConfig =
        dir.read_json(CONFIG_FILE).context("this run was not written by `dldl-meta train`")?;
    let task = TaskSpec::parse(&config.task_toml, &config.task_file)?;
    ensure!(
        !matches!(task.label_kind(), dldl_meta::domain::LabelKind::Segmentation),
        "task {}: a segmentation network has no head on a feature vector to export",
        task.name
    );
    let recorded: TrainMetrics = dir
        .read_json(METRICS_FILE)
        .with_context(|| format!("{}: the run has not finished (no {METRICS_FILE})", args.run.display()))?;
    let Some(member) = recorded.members.get(args.member) else {
        bail!("--member {}: the run trained {} member(s)", args.member, recorded.members.len());
    };
    if let Some(reason) = &member.failure {
        bail!("--member {}: it failed in training ({reason}); choose another", args.member);
    }
    let started = Instant::now();
    let TrainedRun { task, dataset, split, inner } =
        open_train_run(&dir, &config, task, args.data_dir.clone())?;
    let net = &inner.network;
    let params = Params::load(&dir.file(CHECKPOINT_FILE), &net.param_names(), &net.stat_names(), device)?
        .members(&[args.member as i64]);
    let features = backbone(net, &params, &dataset.inputs, device)?;
    let text = table(&features, &dataset.labels, &task.labels, &split)?;
    std::fs::write(&args.out, text).with_context(|| args.out.display().to_string())?;
    let (n, f) = (features.size()[0], features.size()[1]);
    println!(
        "wrote {n} examples × {f} features of member {} ({}, seed {}) with labels and the run's split to {} in {:.1} s",
        args.member,
        member.method,
        member.seed,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `[N, F]` backbone features of every example, in chunks, on the CPU.
fn backbone(
    net: &dldl_meta::model::Network,
    params: &Params,
    inputs: &Tensor,
    device: Device,
) -> anyhow::Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let n = inputs.size()[0];
    let mut parts = vec![];
    for start in (0..n).step_by(CHUNK as usize) {
        let x = inputs.narrow(0, start, CHUNK.min(n - start)).to_device(device).unsqueeze(0);
        parts.push(net.forward_pass(params, &x, Pass::Features)?.get(0).to_device(Device::Cpu));
    }
    Ok(Tensor::cat(&parts, 0))
}

/// The CSV text: header, then one row per example (features, labels, pool).
fn table(features: &Tensor, labels: &Labels, domain: &LabelDomain, split: &Split) -> anyhow::Result<String> {
    let (n, f) = (features.size()[0] as usize, features.size()[1] as usize);
    let values = Vec::<f32>::try_from(features.contiguous().view([-1]))?;
    let (names, cells) = label_cells(labels, domain)?;
    let mut pool = vec![""; n];
    for p in Pool::ALL {
        split.pool(p).iter().for_each(|&i| pool[i as usize] = p.name());
    }
    let mut text: String = (0..f).map(|j| format!("f{j},")).collect();
    text.push_str(&format!("{},split\n", names.join(",")));
    for i in 0..n {
        for v in &values[i * f..(i + 1) * f] {
            write!(text, "{v},")?;
        }
        writeln!(text, "{},{}", cells[i].join(","), pool[i])?;
    }
    Ok(text)
}

/// The label columns' names and each example's cells.
fn label_cells(labels: &Labels, domain: &LabelDomain) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let rows = |t: &Tensor, width: i64| -> anyhow::Result<Vec<Vec<String>>> {
        let v = Vec::<f32>::try_from(t.to_kind(tch::Kind::Float).contiguous().view([-1]))?;
        Ok(v.chunks(width as usize).map(|r| r.iter().map(|x| x.to_string()).collect()).collect())
    };
    Ok(match (labels, domain) {
        (Labels::Ordinal(y), _) => (vec!["label".into()], rows(y, 1)?),
        (Labels::Pose(y), _) => (vec!["label1".into(), "label2".into()], rows(y, 2)?),
        (Labels::MultiLabel(states), LabelDomain::Classes(names)) => {
            let v = Vec::<i64>::try_from(states.contiguous().view([-1]))?;
            let cell = |s: &i64| state_cell(*s).to_string();
            (names.clone(), v.chunks(names.len()).map(|r| r.iter().map(cell).collect()).collect())
        }
        (Labels::Distribution(p), LabelDomain::Classes(names)) => {
            (names.clone(), rows(p, names.len() as i64)?)
        }
        _ => bail!("these labels cannot be written as table columns"),
    })
}

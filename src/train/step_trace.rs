//! A step-by-step trace of one member's training, for checking another implementation against this
//! one: its initial parameters, every random draw of its first K steps, and its parameters after them.
use super::draws::StepRandomness;
use super::member::Member;
use super::trainer::{train_chunked_segment, Segment, Trainer};
use crate::error::{Error, Result};
use crate::model::dropout::SitePosition;
use crate::rundir::records::{TraceRecord, TraceSite};
use std::path::Path;
use tch::{Device, Tensor};

/// Trains `member` (as member 0 of a run: dropout stream 0) for the first `steps` steps of the
/// trainer's schedule on the CPU and returns the trace: `init.NAME` and `final.NAME` (parameters and
/// running statistics), `batch` `[K, B]`, `flips` `[K, B]` (u8, with flips), `offsets` `[K, B, 2]`
/// (with shifts) and `mask{j}` `[K, B, …]` (u8: 1 kept, 0 dropped; kept values are 1/(1 − rate)).
pub fn trace(
    trainer: &Trainer,
    member: &Member,
    steps: usize,
) -> Result<(Vec<(String, Tensor)>, TraceRecord)> {
    let spec = trainer.spec;
    if steps == 0 || steps > spec.steps {
        return Err(Error::invalid(
            "trace steps",
            steps,
            format!("must lie in 1..={} (the run's schedule)", spec.steps),
        ));
    }
    let cpu = Trainer { device: Device::Cpu, ..*trainer };
    let members = std::slice::from_ref(member);
    let init = trainer.net.init(&[member.seed], Device::Cpu);
    let trained = train_chunked_segment(
        &cpu,
        members,
        0,
        &Segment { from: 0, until: steps, start: None },
        &mut |_, _| {},
    )?;
    let mut random = StepRandomness::new(trainer.net, spec, members);
    let draws: Vec<_> = (0..steps).map(|_| random.draw(spec)).collect();
    let b = spec.batch;
    let k = steps as i64;
    let mut tensors = init.named_on_cpu("init.");
    tensors.extend(trained.params.named_on_cpu("final."));
    tensors.push((
        "batch".into(),
        Tensor::from_slice(&draws.iter().flat_map(|d| d.batches[0].clone()).collect::<Vec<_>>())
            .reshape([k, b]),
    ));
    if spec.flip {
        let flips: Vec<u8> = draws.iter().flat_map(|d| d.flips.iter().map(|f| *f as u8)).collect();
        tensors.push(("flips".into(), Tensor::from_slice(&flips).reshape([k, b])));
    }
    if spec.shift > 0 {
        tensors.push((
            "offsets".into(),
            Tensor::from_slice(&draws.iter().flat_map(|d| d.offsets.clone()).collect::<Vec<_>>())
                .reshape([k, b, 2]),
        ));
    }
    for (j, site) in random.sites.iter().enumerate() {
        let kept: Vec<u8> = draws.iter().flat_map(|d| d.masks[j].iter().map(|v| (*v != 0.0) as u8)).collect();
        let mut shape = vec![k, b];
        shape.extend(&site.sample_shape);
        tensors.push((format!("mask{j}"), Tensor::from_slice(&kept).reshape(shape.as_slice())));
    }
    let dropout_sites = random
        .sites
        .iter()
        .map(|s| TraceSite {
            layer: s.layer,
            position: match s.position {
                SitePosition::ConvOutput => "conv_output".into(),
                SitePosition::LinearInput => "linear_input".into(),
            },
            rate: s.rate,
        })
        .collect();
    Ok((tensors, TraceRecord { method: member.method.to_string(), seed: member.seed, steps, dropout_sites }))
}

/// Writes a trace's tensors to `path`.
pub fn write_tensors(tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    let named: Vec<(&str, Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t.shallow_clone())).collect();
    Tensor::write_safetensors(&named, path)
        .map_err(|e| Error::data(path, format!("cannot write the trace: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainPlan;
    use crate::domain::Domain;
    use crate::domain::Labels;
    use crate::label::Bins;
    use crate::model::{DropoutSpec, Network, NetworkSpec};
    use crate::train::evaluate::EvalSpec;
    use crate::train::TrainData;
    use tch::Kind;

    /// A trace holds the draws of the member's streams in the recorded shapes and the parameters
    /// after exactly the traced steps of the whole schedule.
    #[test]
    fn a_trace_records_the_draws_and_the_parameters_after_the_first_steps() {
        let labels: Vec<f32> = (0..24).map(|i| (i % 6) as f32).collect();
        let x = Tensor::linspace(0.0, 9.0, 24 * 64, (Kind::Float, Device::Cpu)).sin().reshape([24, 1, 8, 8]);
        let (labels, domain) =
            (Labels::Ordinal(Tensor::from_slice(&labels)), Domain::Bins(Bins::parse("0:5").unwrap()));
        let data = TrainData { inputs: &x, labels: &labels, domain: &domain };
        let net = Network::new(
            NetworkSpec::Cnn { channels: vec![2], hidden: vec![4], batchnorm: true },
            &[1, 8, 8],
            6,
        )
        .unwrap();
        let spec: TrainPlan =
            toml::from_str("steps = 6\nbatch = 4\nlr = 0.01\nflip = true\nshift = 1\n").unwrap();
        let spec = TrainPlan { dropout: DropoutSpec { fc: 0.5, conv: 0.25 }, ..spec };
        let eval = EvalSpec {
            chunk: 8,
            ordinal: Default::default(),
            reference: "gaussian:sigma=1".parse().unwrap(),
        };
        let trainer = Trainer { net: &net, data: &data, spec: &spec, eval: &eval, device: Device::Cpu };
        let member = Member {
            seed: 3,
            method: "dldl:sigma=1".parse().unwrap(),
            train: (0..20).collect(),
            val: vec![],
        };
        let (tensors, record) = trace(&trainer, &member, 4).unwrap();
        let get = |name: &str| {
            tensors
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.shallow_clone())
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(
            record.dropout_sites.iter().map(|s| s.position.as_str()).collect::<Vec<_>>(),
            ["conv_output", "linear_input"]
        );
        assert_eq!(
            (get("batch").size(), get("offsets").size(), get("mask0").size()),
            (vec![4, 4], vec![4, 4, 2], vec![4, 4, 2, 4, 4])
        );
        assert!(get("batch").lt(20).all().int64_value(&[]) == 1, "batches come from the training pool");
        // The first 4 steps of the whole run are the trace's final parameters.
        let whole = train_chunked_segment(
            &trainer,
            std::slice::from_ref(&member),
            0,
            &Segment { from: 0, until: 4, start: None },
            &mut |_, _| {},
        )
        .unwrap();
        for (name, t) in whole.params.named() {
            assert!(get(&format!("final.{name}")).equal(t), "{name}");
        }
        assert!(!get("final.layer0.weight").equal(&get("init.layer0.weight")));
        assert!(trace(&trainer, &member, 7).unwrap_err().to_string().contains("must lie in 1..=6"));
    }
}

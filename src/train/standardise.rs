//! Input standardisation: the per-channel (per-feature) mean and sd of the training split only,
//! applied to every input; stored in a run directory so that evaluation on other data reuses them.
use crate::error::{Error, Result};
use crate::rundir::records::InputStats;
use tch::{Kind, Tensor};

/// How the training layer computes and applies a run's [`InputStats`] (the record itself is `rundir`'s).
impl InputStats {
    /// The statistics of the rows `train` of `inputs`, over samples and positions, in double precision.
    pub fn of_rows(inputs: &Tensor, train: &[i64]) -> Result<Self> {
        let n = inputs.size()[0];
        if train.is_empty() || inputs.dim() < 2 {
            return Err(Error::invalid(
                "standardisation",
                format!("{} training rows", train.len()),
                "needs training rows of [N, C, …] inputs",
            ));
        }
        if let Some(bad) = train.iter().find(|&&i| i < 0 || i >= n) {
            return Err(Error::invalid("standardisation row", bad, format!("must be in 0..{n}")));
        }
        let rows = Tensor::from_slice(train).to_device(inputs.device());
        let x = inputs.index_select(0, &rows).to_kind(Kind::Double).transpose(0, 1);
        let x = x.reshape([x.size()[0], -1]);
        let mean = x.mean_dim(1, true, Kind::Double);
        let sd = (&x - &mean).square().mean_dim(1, false, Kind::Double).sqrt();
        let sd: Vec<f64> =
            Vec::<f64>::try_from(sd)?.into_iter().map(|s| if s > 1e-12 { s } else { 1.0 }).collect();
        Ok(InputStats { mean: Vec::try_from(mean.flatten(0, -1))?, sd, examples: train.len() })
    }

    /// `(inputs − mean) / sd` per channel, in the inputs' kind; the channel count must match.
    pub fn apply(&self, inputs: &Tensor) -> Result<Tensor> {
        let s = inputs.size();
        if s.len() < 2 || s[1] != self.mean.len() as i64 || self.sd.len() != self.mean.len() {
            return Err(Error::shape(
                "standardisation",
                format!("statistics of {} channels for inputs {s:?}", self.mean.len()),
            ));
        }
        let mut shape = vec![1, s[1]];
        shape.extend(std::iter::repeat_n(1, s.len() - 2));
        let column = |v: &[f64]| {
            Tensor::from_slice(v).to_kind(inputs.kind()).to_device(inputs.device()).reshape(shape.as_slice())
        };
        Ok((inputs - column(&self.mean)) / column(&self.sd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn statistics_come_from_the_training_rows_only() {
        // 6 two-channel 2×2 images; rows 0..4 train, rows 4..6 are the test split.
        let x = Tensor::arange(48, (Kind::Float, Device::Cpu)).reshape([6, 2, 2, 2]) * 0.5;
        let train = [0, 1, 2, 3];
        let stats = InputStats::of_rows(&x, &train).unwrap();
        // Channel 0 of rows 0..4 holds 0.5·{0..4, 8..12, 16..20, 24..28}: mean 7, sd 0.5·√(Var of those).
        let values: Vec<f64> =
            [0, 8, 16, 24].iter().flat_map(|s| (*s..*s + 4).map(|v| 0.5 * v as f64)).collect();
        let mean = values.iter().sum::<f64>() / 16.0;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 16.0).sqrt();
        assert!((stats.mean[0] - mean).abs() < 1e-12 && (stats.sd[0] - sd).abs() < 1e-12, "{stats:?}");
        assert!((stats.mean[1] - (mean + 2.0)).abs() < 1e-12);
        // Poisoning the test rows changes nothing.
        let poisoned = x.copy();
        _ = poisoned.narrow(0, 4, 2).fill_(1e6);
        assert_eq!(InputStats::of_rows(&poisoned, &train).unwrap(), stats);
        // Applied, the training rows have mean 0 and sd 1 per channel.
        let z =
            stats.apply(&x).unwrap().narrow(0, 0, 4).transpose(0, 1).reshape([2, -1]).to_kind(Kind::Double);
        assert!(z.mean_dim(1, false, Kind::Double).abs().max().double_value(&[]) < 1e-6);
        assert!((z.square().mean_dim(1, false, Kind::Double) - 1.0).abs().max().double_value(&[]) < 1e-6);
    }

    #[test]
    fn constant_channels_and_mismatched_inputs() {
        let x = Tensor::ones([3, 2], (Kind::Float, Device::Cpu));
        let stats = InputStats::of_rows(&x, &[0, 1]).unwrap();
        assert_eq!(stats.sd, vec![1.0, 1.0]);
        assert!(stats.apply(&Tensor::ones([3, 5], (Kind::Float, Device::Cpu))).is_err());
        assert!(InputStats::of_rows(&x, &[]).is_err());
        assert!(InputStats::of_rows(&x, &[7]).is_err());
    }
}

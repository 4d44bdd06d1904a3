//! Training methods: a target family with fixed φ plus a loss — KL (DLDL, one-hot CE, label
//! smoothing), L1 on the expectation (regression baseline), and DLDL-v2's KL + λ·L1.
use super::predict::expectation;
use super::surrogates::{smooth_ap_loss, soft_iou_loss};
use crate::domain::{Domain, Labels, Targets};
use crate::error::{Error, Result};
use crate::family::{DistributionSpec, OnehotSpec};
use crate::label::{kl_loss, kl_loss_masked};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tch::{Kind, Tensor};

/// The loss a member minimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LossKind {
    /// KL(p ‖ q) to the target distribution.
    Kl,
    /// |E_q[l] − y| (ordinal and pose only); the target distribution is unused.
    L1,
    /// KL(p ‖ q) + λ·|E_q[l] − y| (DLDL-v2).
    KlL1 { lambda: f64 },
    /// 1 − Smooth-AP of the class scores across the batch (multi-label query loss; no target).
    SmoothAp { tau: f64 },
    /// 1 − soft IoU of the class maps over the batch (segmentation query loss; no target).
    SoftIou,
}

/// A named training method: target family with its φ, and a loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Method {
    pub target: DistributionSpec,
    pub loss: LossKind,
}

impl Method {
    /// The loss of one member: logits `[B, C]` (or `[B, C, H, W]`) against its labels, and against
    /// the targets of its family at `phi` for the losses that use them (KL, DLDL-v2).
    pub fn loss(&self, domain: &Domain, phi: &Tensor, logits: &Tensor, labels: &Labels) -> Result<Tensor> {
        let kl = || {
            let Targets { dist, valid } = self.target.targets(domain, phi, labels)?;
            match &valid {
                Some(valid) => kl_loss_masked(logits, &dist, valid),
                None => kl_loss(logits, &dist),
            }
        };
        match self.loss {
            LossKind::Kl => kl(),
            LossKind::L1 => l1_expectation(domain, logits, labels),
            LossKind::KlL1 { lambda } => Ok(kl()? + l1_expectation(domain, logits, labels)? * lambda),
            LossKind::SmoothAp { tau } => match labels {
                Labels::MultiLabel(states) => smooth_ap_loss(logits, states, tau),
                other => Err(Error::invalid(
                    "query loss",
                    "smooth-ap",
                    format!("needs multi-label labels, not {}", other.kind()),
                )),
            },
            LossKind::SoftIou => match labels {
                Labels::Segmentation(maps) => soft_iou_loss(logits, maps),
                other => Err(Error::invalid(
                    "query loss",
                    "soft-iou",
                    format!("needs segmentation labels, not {}", other.kind()),
                )),
            },
        }
    }
}

/// Mean absolute error of the expected label under softmax(logits) (summed over both pose axes).
fn l1_expectation(domain: &Domain, logits: &Tensor, labels: &Labels) -> Result<Tensor> {
    let q = logits.softmax(-1, Kind::Float);
    let expected = expectation(domain, &q)?;
    let y = labels.tensor().to_kind(Kind::Float).to_device(logits.device());
    // The mean over examples and axes: a pose's loss is the mean of its two axes' MAE, like its `mae`.
    Ok((&expected - y.reshape(expected.size().as_slice())).abs().mean(Kind::Float))
}

/// Parses a method: `onehot`, `ls:EPS`, `dldl:sigma=S` (= `gaussian:sigma=S`), `l1`,
/// `dldlv2:sigma=S[,lambda=L]`, or any distribution spec (`pdn:p_d=0.3,p_n=0`, …) trained with KL.
impl FromStr for Method {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let (head, rest) = text.split_once(':').unwrap_or((text, ""));
        let kl = |spec: &str| -> Result<Method> { Ok(Method { target: spec.parse()?, loss: LossKind::Kl }) };
        match head {
            "l1" if rest.is_empty() => {
                Ok(Method { target: DistributionSpec::Onehot(OnehotSpec {}), loss: LossKind::L1 })
            }
            "ls" => kl(&format!("smoothing:epsilon={rest}")),
            "dldl" => kl(&format!("gaussian:{rest}")),
            "dldlv2" => {
                let mut lambda = 1.0;
                let kept: Vec<&str> = rest
                    .split(',')
                    .filter(|kv| match kv.trim().strip_prefix("lambda=") {
                        Some(v) => {
                            lambda = v.parse().unwrap_or(f64::NAN);
                            false
                        }
                        None => true,
                    })
                    .collect();
                if !(lambda.is_finite() && lambda >= 0.0) {
                    return Err(Error::invalid("lambda", text, "must be a finite number >= 0"));
                }
                Ok(Method {
                    target: format!("gaussian:{}", kept.join(",")).parse()?,
                    loss: LossKind::KlL1 { lambda },
                })
            }
            _ => kl(text),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.loss, &self.target) {
            (LossKind::L1, _) => write!(f, "l1"),
            (LossKind::KlL1 { lambda }, DistributionSpec::Gaussian(_)) => {
                write!(
                    f,
                    "dldlv2:{},lambda={lambda}",
                    self.target.to_string().trim_start_matches("gaussian:")
                )
            }
            (LossKind::KlL1 { lambda }, target) => write!(f, "{target}+l1:{lambda}"),
            (LossKind::Kl, target) => write!(f, "{target}"),
            (LossKind::SmoothAp { tau }, _) => write!(f, "smooth-ap:tau={tau}"),
            (LossKind::SoftIou, _) => write!(f, "soft-iou"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::{Bins, Grid};

    #[test]
    fn parses_method_names() {
        assert_eq!("ls:0.1".parse::<Method>().unwrap().target, "smoothing:epsilon=0.1".parse().unwrap());
        assert_eq!("dldl:sigma=2".parse::<Method>().unwrap().target, "gaussian:sigma=2".parse().unwrap());
        assert_eq!("l1".parse::<Method>().unwrap().loss, LossKind::L1);
        let v2: Method = "dldlv2:sigma=2,lambda=0.5".parse().unwrap();
        assert_eq!(v2.loss, LossKind::KlL1 { lambda: 0.5 });
        assert_eq!(v2.to_string().parse::<Method>().unwrap(), v2);
        assert!("dldl:sigma=-1".parse::<Method>().is_err());
        assert!("dldlv2:sigma=2,lambda=x".parse::<Method>().is_err());
    }

    #[test]
    fn l1_loss_is_the_mean_absolute_error_of_the_expectation() {
        let domain = Domain::Bins(Bins::parse("0:2").unwrap());
        // Uniform logits → E = 1; labels 0 and 2 → |1-0| + |1-2| over 2 samples = 1.
        let logits = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
        let labels = Labels::Ordinal(Tensor::from_slice(&[0.0f32, 2.0]));
        let method: Method = "l1".parse().unwrap();
        let loss = method
            .loss(&domain, &Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)), &logits, &labels)
            .unwrap()
            .double_value(&[]);
        assert!((loss - 1.0).abs() < 1e-6);
        // A 2-D grid 0:1 × 0:2 (6 cells) with uniform logits: E = (0.5, 1); labels (0, 0) and
        // (1, 2) err by (0.5, 1) each, so each axis's MAE is 0.5 and 1, and their mean is 0.75 (the
        // `mae` of a pose).
        let grid = Domain::Grid(Grid::parse("0:1,0:2").unwrap());
        let logits = Tensor::zeros([2, 6], (Kind::Float, tch::Device::Cpu));
        let labels = Labels::Pose(Tensor::from_slice(&[0.0f32, 0.0, 1.0, 2.0]).reshape([2, 2]));
        let loss = method
            .loss(&grid, &Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)), &logits, &labels)
            .unwrap()
            .double_value(&[]);
        assert!((loss - 0.75).abs() < 1e-6, "{loss}");
    }
}

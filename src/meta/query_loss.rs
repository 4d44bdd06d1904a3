//! The outer objective: the loss and metric of a φ on an episode's query set after inner training
//! on its support set. The query loss does not depend on φ, so φs are compared on equal terms.
use crate::domain::Domain;
use crate::family::{DistributionSpec, GivenSpec, OnehotSpec};
use crate::train::surrogates::SMOOTH_AP_TAU;
use crate::train::{LossKind, Method};
use serde::{Deserialize, Serialize};

/// Which φ-free loss a study scores query sets by (`query_loss =` in a study file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryLoss {
    /// A differentiable stand-in for the headline metric: MAE of the expected label (ordinal,
    /// pose), 1 − Smooth-AP (multi-label mAP), 1 − soft IoU (segmentation mIoU).
    #[default]
    Aligned,
    /// KL to the hard target: cross-entropy to the one-hot label (ordinal, pose, segmentation), KL
    /// to the uniform distribution over the positives (multi-label; difficult ignored).
    Kl,
}

/// The method whose loss scores query sets under `loss`.
pub fn query_method(domain: &Domain, loss: QueryLoss) -> Method {
    let onehot = DistributionSpec::Onehot(OnehotSpec {});
    let hard = || match domain {
        Domain::Classes(_) => "pdn:p_d=0,p_n=0".parse().expect("valid built-in target"),
        Domain::Categories { .. } => DistributionSpec::Given(GivenSpec {}),
        _ => onehot.clone(),
    };
    match (loss, domain) {
        (QueryLoss::Aligned, Domain::Bins(_) | Domain::Grid(_)) => {
            Method { target: onehot, loss: LossKind::L1 }
        }
        (QueryLoss::Aligned, Domain::Classes(_)) => {
            Method { target: hard(), loss: LossKind::SmoothAp { tau: SMOOTH_AP_TAU } }
        }
        (QueryLoss::Aligned, Domain::Segmentation { .. }) => {
            Method { target: onehot, loss: LossKind::SoftIou }
        }
        // The headline metric of given distributions is KL itself.
        (QueryLoss::Aligned, Domain::Categories { .. }) => Method { target: hard(), loss: LossKind::Kl },
        (QueryLoss::Kl, _) => Method { target: hard(), loss: LossKind::Kl },
    }
}

/// The task metric reported next to the query loss (the domain's first headline metric), and
/// whether higher is better.
pub fn headline_metric(domain: &Domain) -> (&'static str, bool) {
    let name = domain.headline_metrics()[0];
    (name, matches!(domain, Domain::Classes(_) | Domain::Segmentation { .. }))
}

/// What the query loss of [`query_method`] measures, for table headers.
pub fn query_loss_name(domain: &Domain, loss: QueryLoss) -> &'static str {
    match (loss, domain) {
        (QueryLoss::Aligned, Domain::Bins(_) | Domain::Grid(_)) => "MAE of the expected label",
        (QueryLoss::Aligned, Domain::Classes(_)) => {
            "1 − Smooth-AP (τ = 0.01), per class over batches of ≤ 256 query examples"
        }
        (QueryLoss::Aligned, Domain::Segmentation { .. }) => {
            "1 − soft IoU, per class over batches of ≤ 256 query images"
        }
        (QueryLoss::Kl, Domain::Classes(_)) => "KL to the hard multi-label target",
        (_, Domain::Categories { .. }) => "KL to the given distribution",
        (QueryLoss::Kl, _) => "cross-entropy to the one-hot label",
    }
}

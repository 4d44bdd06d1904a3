//! The outer objective: the loss and metric of a φ on an episode's query set after inner training
//! on its support set. The query loss does not depend on φ, so φs are compared on equal terms.
use crate::train::{Domain, LossKind, Method};

/// The φ-free loss every method is scored by on query sets: MAE of the expected label (ordinal,
/// pose), KL to the hard multi-label target (uniform over positives; difficult ignored), cross-entropy
/// (segmentation).
pub fn query_method(domain: &Domain) -> Method {
    let target = match domain {
        Domain::Bins(_) | Domain::Grid(_) => return Method { target: crate::label::DistributionSpec::Onehot {}, loss: LossKind::L1 },
        Domain::Classes(_) => "pdn:p_d=0,p_n=0",
        Domain::Segmentation { .. } => "onehot",
    };
    Method { target: target.parse().expect("valid built-in target"), loss: LossKind::Kl }
}

/// The task metric reported next to the query loss (the domain's first headline metric), and
/// whether higher is better.
pub fn headline_metric(domain: &Domain) -> (&'static str, bool) {
    let name = domain.headline_metrics()[0];
    (name, matches!(domain, Domain::Classes(_) | Domain::Segmentation { .. }))
}

/// What the query loss of [`query_method`] measures, for table headers.
pub fn query_loss_name(domain: &Domain) -> &'static str {
    match domain {
        Domain::Bins(_) | Domain::Grid(_) => "MAE of the expected label",
        Domain::Classes(_) => "KL to the hard multi-label target",
        Domain::Segmentation { .. } => "pixel cross-entropy",
    }
}

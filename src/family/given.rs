//! Given label distributions as targets (`family = "given"`): each example's own distribution over
//! the categories, as the dataset holds it. No φ, nothing to learn.
use super::{dense, DistributionSpec, Family};
use crate::domain::{Domain, LabelKind, Labels, Targets};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::fmt;
use tch::{Kind, Tensor};

/// The dataset's distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenSpec {}

impl Family for GivenSpec {
    fn name(&self) -> &'static str {
        "given"
    }

    fn label_kinds(&self) -> &'static [LabelKind] {
        &[LabelKind::Distribution]
    }

    fn phi(&self) -> Vec<f64> {
        vec![]
    }

    fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "given")
    }

    fn targets(&self, domain: &Domain, _phi: &Tensor, labels: &Labels) -> Result<Option<Targets>> {
        match (domain, labels) {
            (Domain::Categories { .. }, Labels::Distribution(p)) => dense(p.to_kind(Kind::Float)),
            _ => Ok(None),
        }
    }

    fn with_learned(&self, _learn: super::Learn, _learned: &[f64]) -> DistributionSpec {
        DistributionSpec::Given(self.clone())
    }

    fn learn_hint(&self) -> &'static str {
        " (given distributions have no φ to learn)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::kl_loss;

    /// KL(p ‖ softmax(z)) by hand on three categories: z = (0, ln 2, 0) gives q = (¼, ½, ¼); with
    /// p = (½, ½, 0), KL = ½ ln(½ / ¼) + ½ ln(½ / ½) + 0 = ½ ln 2.
    #[test]
    fn the_kl_loss_to_a_given_distribution_by_hand() {
        let p = Tensor::from_slice(&[0.5f32, 0.5, 0.0]).reshape([1, 3]);
        let domain = Domain::Categories { classes: 3 };
        let spec = DistributionSpec::Given(GivenSpec {});
        let t = spec.targets(&domain, &spec.phi_tensor(tch::Device::Cpu), &Labels::Distribution(p)).unwrap();
        let logits = Tensor::from_slice(&[0.0f32, 2f32.ln(), 0.0]).reshape([1, 3]);
        let loss = kl_loss(&logits, &t.dist).unwrap().double_value(&[]);
        assert!((loss - 0.5 * 2f64.ln()).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn given_targets_only_for_given_distributions() {
        let spec = GivenSpec {};
        let ages = Labels::Ordinal(Tensor::from_slice(&[3.0f32]));
        let bins = Domain::Bins(crate::label::Bins::parse("0:4").unwrap());
        assert!(spec.targets(&bins, &Tensor::zeros([0], tch::kind::FLOAT_CPU), &ages).unwrap().is_none());
        assert_eq!(DistributionSpec::names_for(LabelKind::Distribution), "onehot, given");
        let parsed: DistributionSpec = "given".parse().unwrap();
        assert_eq!(parsed.to_string(), "given");
        assert!("given:sigma=1".parse::<DistributionSpec>().is_err());
    }
}

//! φ as Optuna parameters: one float parameter per learned coordinate (σ, σ(l) as `sigma_000`…,
//! (σ_1, σ_2), p_D with p_N/p_D, σ_f), with the study file's bounds and scale, and back.
use crate::error::{Error, Result};
use crate::meta::study_spec::{GridPoint, Learn, StudySpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One Optuna `FloatDistribution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub low: f64,
    pub high: f64,
    pub log: bool,
}

/// The parameters of a study's φ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptunaSpace {
    learn: Learn,
    params: Vec<Param>,
}

/// Most grid combinations a grid sampler may enumerate.
const MAX_GRID: usize = 100_000;

impl OptunaSpace {
    /// The parameters of `study`'s φ with `dim` coordinates (the dimension of its `PhiSpace`).
    pub fn new(study: &StudySpec, dim: usize) -> Result<Self> {
        let widen = |v: &[f64]| if v.len() == 1 { vec![v[0]; dim] } else { v.to_vec() };
        let (lower, upper) = (widen(&study.lower), widen(&study.upper));
        if lower.len() != dim {
            return Err(Error::invalid("lower/upper", lower.len(), format!("need 1 or {dim} bounds")));
        }
        // σ coordinates default to a log scale, probabilities to a linear one; `[optuna] log` sets all.
        let sigmas = study.learn.sigma_coordinates(dim);
        let chosen = study.optuna.as_ref().and_then(|o| o.log);
        let names = Self::names(study.learn, dim);
        let params: Vec<Param> = names
            .into_iter()
            .zip(lower.iter().zip(&upper))
            .enumerate()
            .map(|(i, (name, (l, h)))| Param { name, low: *l, high: *h, log: chosen.unwrap_or(i < sigmas) })
            .collect();
        if let Some(p) = params.iter().find(|p| p.log && p.low <= 0.0) {
            return Err(Error::invalid(
                "lower",
                format!("{lower:?}"),
                format!("{} is on a log scale, which needs bounds > 0", p.name),
            ));
        }
        Ok(OptunaSpace { learn: study.learn, params })
    }

    fn names(learn: Learn, dim: usize) -> Vec<String> {
        match learn {
            Learn::Sigma => vec!["sigma".into()],
            Learn::KernelSigma => vec!["kernel_sigma".into()],
            Learn::Pdn => vec!["p_d".into(), "p_n_over_p_d".into()],
            Learn::Mixture => vec!["sigma".into(), "p_d".into(), "p_n_over_p_d".into()],
            Learn::Sigma2 => vec!["sigma_1".into(), "sigma_2".into()],
            Learn::SigmaPerLabel => {
                let width = (dim.max(2) - 1).to_string().len().max(3);
                (0..dim).map(|i| format!("sigma_{i:0width$}")).collect()
            }
        }
    }

    /// The parameters, in φ's coordinate order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// φ (the learned coordinates, as `PhiSpace` orders them) from Optuna's parameter values.
    pub fn phi_of(&self, values: &BTreeMap<String, f64>) -> Result<Vec<f64>> {
        let raw: Vec<f64> = self
            .params
            .iter()
            .map(|p| {
                values.get(&p.name).copied().ok_or_else(|| {
                    Error::invalid(
                        "optuna trial",
                        format!("{values:?}"),
                        format!("has no parameter {}", p.name),
                    )
                })
            })
            .collect::<Result<_>>()?;
        Ok(self.learn.phi_of_bounded(&raw))
    }

    /// Optuna's parameter values for φ (inverse of [`OptunaSpace::phi_of`]).
    pub fn values_of(&self, phi: &[f64]) -> Result<BTreeMap<String, f64>> {
        if phi.len() != self.params.len() {
            return Err(Error::invalid(
                "φ",
                format!("{phi:?}"),
                format!("needs {} coordinates", self.params.len()),
            ));
        }
        let sigmas = self.learn.sigma_coordinates(phi.len());
        if let Some(p_d) = phi.get(sigmas).filter(|p_d| !(**p_d > 0.0)) {
            return Err(Error::invalid("p_d", p_d, "must be > 0 to express p_N as a fraction of it"));
        }
        Ok(self.params.iter().map(|p| p.name.clone()).zip(self.learn.bounded_of(phi)).collect())
    }

    /// GridSampler's search space: for each parameter, the values the grid points give it.
    pub fn grid(&self, points: &[GridPoint]) -> Result<BTreeMap<String, Vec<f64>>> {
        if points.is_empty() {
            return Err(Error::invalid("optuna.sampler", "grid", "needs the study's `grid` points"));
        }
        let mut grid: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for point in points {
            let v = point.values();
            let phi = if v.len() == 1 { vec![v[0]; self.params.len()] } else { v };
            for (name, value) in self.values_of(&phi)? {
                let values = grid.entry(name).or_default();
                if !values.contains(&value) {
                    values.push(value);
                }
            }
        }
        let combinations = grid.values().try_fold(1usize, |n, v| n.checked_mul(v.len()));
        if combinations.is_none_or(|n| n > MAX_GRID) {
            return Err(Error::invalid(
                "grid",
                format!("{} points", points.len()),
                format!(
                    "spans more than {MAX_GRID} combinations of the {} parameters; use another sampler",
                    self.params.len()
                ),
            ));
        }
        Ok(grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Domain;
    use crate::label::Bins;
    use crate::meta::PhiSpace;

    fn study(learn: &str, lower: &str, upper: &str, extra: &str) -> StudySpec {
        toml::from_str(&format!("method = \"random\"\nlearn = \"{learn}\"\nlower = {lower}\nupper = {upper}\nouter_steps = 1\nepisodes_per_step = 1\n{extra}")).unwrap()
    }

    /// φ → parameters → φ is the identity, the bounds and scale come from the study file, and the
    /// φ of the parameters builds the same distribution through `PhiSpace` as the φ itself.
    /// `log`: one value for every parameter, or one per parameter.
    #[allow(clippy::too_many_arguments)] // one call per case reads as a table row
    fn round_trip(
        learn: &str,
        lower: &str,
        upper: &str,
        extra: &str,
        template: &str,
        domain: Domain,
        phi: &[f64],
        log: &[bool],
    ) {
        let spec = study(learn, lower, upper, extra);
        let phi_space = PhiSpace::new(&spec, &template.parse().unwrap(), &domain).unwrap();
        let space = OptunaSpace::new(&spec, phi_space.dim()).unwrap();
        assert_eq!(space.params().len(), phi.len(), "{learn}");
        let expected = if log.len() == 1 { vec![log[0]; phi.len()] } else { log.to_vec() };
        assert_eq!(
            space.params().iter().map(|p| p.log).collect::<Vec<_>>(),
            expected,
            "{learn}: {:?}",
            space.params()
        );
        let values = space.values_of(phi).unwrap();
        let back = space.phi_of(&values).unwrap();
        assert!(
            back.iter().zip(phi).all(|(a, b)| (a - b).abs() < 1e-12),
            "{learn}: {phi:?} → {values:?} → {back:?}"
        );
        assert_eq!(phi_space.spec_at(&back), phi_space.spec_at(phi));
        // Every parameter value inside its bounds maps to a φ that PhiSpace accepts.
        let low: BTreeMap<String, f64> = space.params().iter().map(|p| (p.name.clone(), p.low)).collect();
        assert!(phi_space.theta_of(&space.phi_of(&low).unwrap()).is_ok(), "{learn}");
    }

    #[test]
    fn every_learnable_family_round_trips() {
        let bins = || Domain::Bins(Bins::parse("0:4").unwrap());
        round_trip("sigma", "[0.1]", "[10.0]", "", "gaussian:sigma=2", bins(), &[2.5], &[true]);
        round_trip(
            "sigma",
            "[0.1]",
            "[10.0]",
            "[optuna]\nlog = false\n",
            "gaussian:sigma=2",
            bins(),
            &[0.7],
            &[false],
        );
        round_trip(
            "sigma",
            "[0.1]",
            "[10.0]",
            "",
            "mixture:sigma=1,p_d=0.3,p_n=0.05",
            Domain::Classes(crate::domain::ClassSet::new(4)),
            &[0.4],
            &[true],
        );
        round_trip(
            "sigma-per-label",
            "[0.5]",
            "[8.0]",
            "",
            "gaussian:sigma=2",
            bins(),
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[true],
        );
        round_trip(
            "sigma2",
            "[0.5, 0.2]",
            "[8.0, 9.0]",
            "",
            "gaussian2d:sigma=[2,3]",
            Domain::Classes(crate::domain::ClassSet::new(4)),
            &[1.5, 6.0],
            &[true],
        );
        round_trip(
            "pdn",
            "[0.01, 0.01]",
            "[0.99, 0.99]",
            "",
            "pdn:p_d=0.3,p_n=0.03",
            Domain::Classes(crate::domain::ClassSet::new(3)),
            &[0.3, 0.03],
            &[false],
        );
        round_trip(
            "pdn",
            "[0.01, 0.01]",
            "[0.99, 0.99]",
            "[optuna]\nlog = true\n",
            "pdn:p_d=0.3,p_n=0.03",
            Domain::Classes(crate::domain::ClassSet::new(3)),
            &[0.6, 0.3],
            &[true],
        );
        let four = || Domain::Classes(crate::domain::ClassSet::new(4));
        let mixture = "mixture:sigma=1,p_d=0.3,p_n=0.05";
        round_trip(
            "mixture",
            "[0.1, 0.05, 0.01]",
            "[4.0, 0.9, 0.9]",
            "",
            mixture,
            four(),
            &[0.7, 0.4, 0.1],
            &[true, false, false],
        );
        round_trip(
            "kernel-sigma",
            "[0.2]",
            "[5.0]",
            "",
            "segmentation:sigma=3,kernel=5",
            Domain::Segmentation { classes: 3 },
            &[1.25],
            &[true],
        );
    }

    #[test]
    fn names_bounds_and_grid() {
        let spec = study("sigma-per-label", "[0.5]", "[8.0]", "");
        let space = OptunaSpace::new(&spec, 12).unwrap();
        let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(&names[..2], ["sigma_000", "sigma_001"]);
        assert_eq!(names[11], "sigma_011");
        assert_eq!((space.params()[3].low, space.params()[3].high), (0.5, 8.0));
        let pdn = OptunaSpace::new(&study("pdn", "[0.01, 0.02]", "[0.9, 0.8]", ""), 2).unwrap();
        assert_eq!(pdn.params()[1], Param { name: "p_n_over_p_d".into(), low: 0.02, high: 0.8, log: false });
        let grid = pdn.grid(&[GridPoint::Vector(vec![0.2, 0.1]), GridPoint::Vector(vec![0.4, 0.1])]).unwrap();
        assert_eq!(grid["p_d"], vec![0.2, 0.4]);
        assert!(
            (grid["p_n_over_p_d"][0] - 0.5).abs() < 1e-12 && (grid["p_n_over_p_d"][1] - 0.25).abs() < 1e-12
        );
        let huge = space.grid(&[
            GridPoint::Scalar(1.0),
            GridPoint::Scalar(2.0),
            GridPoint::Scalar(3.0),
            GridPoint::Scalar(4.0),
            GridPoint::Scalar(5.0),
            GridPoint::Scalar(6.0),
            GridPoint::Scalar(7.0),
            GridPoint::Scalar(8.0),
        ]);
        assert!(huge.unwrap_err().to_string().contains("combinations"));
        assert!(OptunaSpace::new(&study("sigma", "[0.0]", "[1.0]", ""), 1).is_err());
        assert!(space.grid(&[]).unwrap_err().to_string().contains("grid"));
    }
}

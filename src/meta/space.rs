//! The learnable φ of a study: an unconstrained vector θ mapped differentiably into valid φ
//! (σ = e^θ; p_D = sigmoid(a), p_N = p_D·sigmoid(b); both for the mixture), with box bounds and the spec at a φ.
use super::knots::Knots;
use super::study_spec::{Learn, SearchMethod, StudySpec};
use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::family::DistributionSpec;
use tch::Tensor;

/// The names of the bounded coordinates of each learnable φ, as the bounds are written.
fn coordinate_name(learn: Learn, knots: Option<&Knots>, i: usize) -> String {
    if let Some(k) = knots {
        return format!("σ at knot {i} (label {})", k.labels()[i]);
    }
    match (learn, i) {
        (Learn::Pdn, 0) | (Learn::Mixture, 1) => "p_D".into(),
        (Learn::Pdn, _) | (Learn::Mixture, 2) => "p_N/p_D".into(),
        (Learn::SigmaPerLabel, i) => format!("σ of bin {i}"),
        (Learn::Sigma2, i) => format!("σ_{}", i + 1),
        _ => "σ".into(),
    }
}

/// φ's parametrisation for one study on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct PhiSpace {
    learn: Learn,
    template: DistributionSpec,
    /// Bounds of θ (unconstrained space), one per coordinate.
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// The bounds as the study writes them (σ, or (p_D, p_N/p_D)), one per coordinate.
    written: (Vec<f64>, Vec<f64>),
    /// σ(l) learned at these knots and interpolated to the bins (the study's `knots`).
    knots: Option<Knots>,
}

fn logit(x: f64) -> f64 {
    (x / (1.0 - x)).ln()
}

impl PhiSpace {
    /// Checks that `learn` fits the task's family and domain, and maps the φ-bounds into θ-bounds.
    pub fn new(study: &StudySpec, template: &DistributionSpec, domain: &Domain) -> Result<Self> {
        let family = template.family();
        let dim = family.learned_dim(study.learn, domain).ok_or_else(|| {
            study.error(
                "learn",
                format!(
                    "`{}` does not apply to the task's {} family{}",
                    study.learn,
                    family.name(),
                    family.learn_hint()
                ),
            )
        })?;
        let knots = match (&study.knots, domain) {
            (Some(labels), Domain::Bins(bins)) => {
                Some(Knots::new(labels, bins).map_err(|rule| study.error("knots", rule))?)
            }
            (Some(_), _) => return Err(study.error("knots", "knots need a task with 1-D bins")),
            (None, _) => None,
        };
        let dim = knots.as_ref().map_or(dim, |k| k.labels().len());
        let widen = |v: &[f64]| if v.len() == 1 { vec![v[0]; dim] } else { v.to_vec() };
        let (lo, hi) = (widen(&study.lower), widen(&study.upper));
        if lo.len() != dim {
            return Err(study.error(
                "lower/upper",
                format!("{} bounds given; `{}` needs 1 or {dim}", lo.len(), study.learn),
            ));
        }
        let to_theta = |v: &[f64]| -> Result<Vec<f64>> {
            let sigmas = study.learn.sigma_coordinates(dim);
            let mut steps = family.sigma_steps(domain, sigmas).into_iter();
            v.iter()
                .enumerate()
                .map(|(i, x)| {
                    if i < sigmas {
                        let (step, unit) = steps.next().unwrap_or((1.0, "label step"));
                        crate::label::sigma_floor("σ bound", &[*x], step, unit)
                            .map_err(|e| study.error("lower/upper", e.to_string()))?;
                        Ok(x.ln())
                    } else if *x > 0.0 && *x < 1.0 {
                        Ok(logit(*x))
                    } else {
                        Err(study.error(
                            "lower/upper",
                            format!("{v:?}: the bounds of (p_D, p_N/p_D) must lie in (0, 1)"),
                        ))
                    }
                })
                .collect()
        };
        let space = PhiSpace {
            learn: study.learn,
            template: template.clone(),
            lower: to_theta(&lo)?,
            upper: to_theta(&hi)?,
            written: (lo, hi),
            knots,
        };
        space.check_points(study)?;
        Ok(space)
    }

    /// `init`, the task's default φ (the start when there is no `init`) and every grid point lie inside the bounds.
    fn check_points(&self, study: &StudySpec) -> Result<()> {
        match &study.init {
            Some(init) => {
                self.point(init).map_err(|rule| study.error("init", format!("{init:?}: {rule}")))?;
            }
            None if study.method != SearchMethod::Grid => {
                let start = self.default_phi();
                self.point(&start).map_err(|rule| {
                    study.error("init", format!("absent, so the search starts at the task's φ {start:?}, but {rule}; set `init` or widen the bounds"))
                })?;
            }
            None => {}
        }
        for (i, p) in study.grid.iter().enumerate() {
            self.point(&p.values())
                .map_err(|rule| study.error(&format!("grid[{i}]"), format!("{:?}: {rule}", p.values())))?;
        }
        Ok(())
    }

    /// A study point (`init` or a grid point) as φ: one value for every coordinate (not for pdn) or one
    /// per coordinate, each bounded coordinate inside `[lower, upper]`; else the rule it breaks.
    pub fn point(&self, values: &[f64]) -> std::result::Result<Vec<f64>, String> {
        let dim = self.dim();
        let phi = match (values.len(), self.learn) {
            (n, _) if n == dim => values.to_vec(),
            (1, learn) if learn.sigma_coordinates(dim) == dim => vec![values[0]; dim],
            (n, learn) => {
                return Err(format!(
                    "{n} values given; `{learn}` takes {}",
                    match learn {
                        Learn::Pdn => "2 (p_D, p_N)".to_string(),
                        Learn::Mixture => "3 (σ, p_D, p_N)".to_string(),
                        _ if dim == 1 => "1".to_string(),
                        _ => format!("1 or {dim}"),
                    }
                ))
            }
        };
        if let Some(v) = phi.iter().find(|v| !v.is_finite()) {
            return Err(format!("{v} is not a finite number"));
        }
        let bounded = self.learn.bounded_of(&phi);
        let (lo, hi) = &self.written;
        for (i, v) in bounded.iter().enumerate() {
            if !(*v >= lo[i] && *v <= hi[i]) {
                return Err(format!(
                    "{} = {v} lies outside the bounds [{}, {}] (`lower`, `upper`)",
                    coordinate_name(self.learn, self.knots.as_ref(), i),
                    lo[i],
                    hi[i]
                ));
            }
        }
        Ok(phi)
    }

    /// Number of coordinates of θ and φ.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }

    /// θ-space bounds.
    pub fn bounds(&self) -> (&[f64], &[f64]) {
        (&self.lower, &self.upper)
    }

    /// θ clipped into the bounds.
    pub fn clamp(&self, theta: &[f64]) -> Vec<f64> {
        theta.iter().zip(self.lower.iter().zip(&self.upper)).map(|(t, (l, u))| t.clamp(*l, *u)).collect()
    }

    /// The learned coordinates of the template (the task's default φ), or `init` when given (checked
    /// against the bounds when the space was built).
    pub fn initial_phi(&self, init: Option<&[f64]>) -> Vec<f64> {
        match init {
            Some(v) => self.point(v).unwrap_or_else(|_| v.to_vec()),
            None => self.default_phi(),
        }
    }

    /// Where a study starts: its `init`; else a grid's first point (the task's φ need not have a
    /// learnable form, e.g. p_N = 0); else the task's φ.
    pub fn start_phi(&self, study: &StudySpec) -> Result<Vec<f64>> {
        match (&study.init, study.grid.first()) {
            (None, Some(first)) if study.method == SearchMethod::Grid => {
                self.point(&first.values()).map_err(|rule| study.error("grid[0]", rule))
            }
            (init, _) => Ok(self.initial_phi(init.as_deref())),
        }
    }

    /// The learned coordinates of the template (the task's default φ; a per-bin σ read at the knots).
    fn default_phi(&self) -> Vec<f64> {
        let family = self.template.family();
        match &self.knots {
            Some(k) if family.phi().len() > 1 => k.sample(&family.phi()),
            _ => family.learned_of(self.dim()),
        }
    }

    /// θ for a φ (inverse of [`PhiSpace::phi_of`]).
    pub fn theta_of(&self, phi: &[f64]) -> Result<Vec<f64>> {
        let sigmas = self.learn.sigma_coordinates(self.dim());
        if phi.len() != self.dim() {
            return Err(Error::invalid(
                "φ",
                format!("{phi:?}"),
                format!("`{}` has {} coordinates", self.learn, self.dim()),
            ));
        }
        if phi[..sigmas].iter().any(|s| !(*s > 0.0 && s.is_finite())) {
            return Err(Error::invalid("sigma", format!("{phi:?}"), "must be finite and > 0"));
        }
        let mut theta: Vec<f64> = phi[..sigmas].iter().map(|s| s.ln()).collect();
        match &phi[sigmas..] {
            [] => {}
            [d, n] if *d > 0.0 && *d < 1.0 && *n > 0.0 && n < d => theta.extend([logit(*d), logit(n / d)]),
            _ => {
                return Err(Error::invalid(
                    format!("{} φ", self.learn),
                    format!("{phi:?}"),
                    "the learnable form needs 0 < p_N < p_D < 1",
                ))
            }
        }
        Ok(theta)
    }

    /// φ as a differentiable function of θ (`[d]` → `[d]`).
    pub fn phi_of(&self, theta: &Tensor) -> Tensor {
        let sigmas = self.learn.sigma_coordinates(self.dim()) as i64;
        if sigmas == self.dim() as i64 {
            return theta.exp();
        }
        let p_d = theta.narrow(0, sigmas, 1).sigmoid();
        let p_n = &p_d * theta.narrow(0, sigmas + 1, 1).sigmoid();
        Tensor::cat(&[theta.narrow(0, 0, sigmas).exp(), p_d, p_n], 0)
    }

    /// φ as numbers for θ as numbers.
    pub fn phi_values(&self, theta: &[f64]) -> Vec<f64> {
        let t = Tensor::from_slice(theta);
        Vec::<f64>::try_from(&self.phi_of(&t)).unwrap_or_default()
    }

    /// The family with its φ replaced by the learned coordinates `phi` (σs at the knots become
    /// one σ per bin).
    pub fn spec_at(&self, phi: &[f64]) -> DistributionSpec {
        match &self.knots {
            Some(k) => self.template.family().with_learned(self.learn, &k.expand(phi)),
            None => self.template.family().with_learned(self.learn, phi),
        }
    }

    /// The full flat φ of the family (the layout `Domain::targets` expects) from the learned coordinates,
    /// differentiable in them.
    pub fn full_phi(&self, learned: &Tensor) -> Tensor {
        match &self.knots {
            Some(k) => self.template.family().full_phi(self.learn, &k.expand_tensor(learned)),
            None => self.template.family().full_phi(self.learn, learned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Bins;

    fn study(learn: &str, lower: &str, upper: &str) -> StudySpec {
        toml::from_str(&format!(
            "method = \"hypergradient\"\nlearn = \"{learn}\"\nlower = {lower}\nupper = {upper}\nouter_steps = 1\nepisodes_per_step = 1\n"
        ))
        .unwrap()
    }

    #[test]
    fn theta_and_phi_round_trip_and_bounds_map() {
        let domain = Domain::Bins(Bins::parse("0:4").unwrap());
        let space = PhiSpace::new(
            &study("sigma-per-label", "[0.5]", "[8.0]"),
            &"gaussian:sigma=2".parse().unwrap(),
            &domain,
        )
        .unwrap();
        assert_eq!(space.dim(), 5);
        assert_eq!(space.initial_phi(None), vec![2.0; 5]);
        let theta = space.theta_of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let back = space.phi_values(&theta);
        assert!(back.iter().zip([1.0, 2.0, 3.0, 4.0, 5.0]).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!((space.bounds().0[0] - 0.5f64.ln()).abs() < 1e-12);
        assert_eq!(space.clamp(&[10.0, -10.0, 0.0, 0.0, 0.0])[0], 8f64.ln());
        let pdn = PhiSpace::new(
            &study("pdn", "[0.01, 0.01]", "[0.99, 0.99]"),
            &"pdn:p_d=0.3,p_n=0.03".parse().unwrap(),
            &Domain::Classes(crate::domain::ClassSet::new(3)),
        )
        .unwrap();
        let phi = pdn.phi_values(&pdn.theta_of(&[0.3, 0.03]).unwrap());
        assert!((phi[0] - 0.3).abs() < 1e-12 && (phi[1] - 0.03).abs() < 1e-12);
    }

    fn with(study: StudySpec, extra: &str) -> StudySpec {
        let extra: StudySpec = toml::from_str(&format!("method = \"grid\"\nlearn = \"sigma\"\nlower = [1.0]\nupper = [2.0]\nouter_steps = 1\nepisodes_per_step = 1\n{extra}")).unwrap();
        StudySpec { init: extra.init, grid: extra.grid, path: "meta/s.toml".into(), ..study }
    }

    #[test]
    fn init_and_grid_points_outside_the_bounds_are_errors_naming_file_field_and_bounds() {
        let domain = Domain::Bins(Bins::parse("0:4").unwrap());
        let gaussian: DistributionSpec = "gaussian:sigma=2".parse().unwrap();
        let error = |learn: &str, extra: &str| {
            PhiSpace::new(&with(study(learn, "[1.0]", "[90.0]"), extra), &gaussian, &domain)
                .unwrap_err()
                .to_string()
        };
        let e = error("sigma", "init = [500.0]");
        assert!(
            e.contains("meta/s.toml: field `init`: [500.0]: σ = 500 lies outside the bounds [1, 90]"),
            "{e}"
        );
        let e = error("sigma", "init = [3.0, 4.0]");
        assert!(e.contains("field `init`") && e.contains("2 values given; `sigma` takes 1"), "{e}");
        let e = error("sigma", "grid = [5.0, 0.5]");
        assert!(e.contains("field `grid[1]`: [0.5]: σ = 0.5 lies outside the bounds [1, 90]"), "{e}");
        let e = error("sigma-per-label", "init = [2.0, 2.0, 95.0, 2.0, 2.0]");
        assert!(e.contains("σ of bin 2 = 95 lies outside"), "{e}");
        let e = error("sigma", "init = [nan]");
        assert!(e.contains("NaN is not a finite number"), "{e}");
        // Without init the start is the task's own φ, which must be inside the bounds too.
        let narrow = StudySpec { path: "meta/s.toml".into(), ..study("sigma", "[3.0]", "[9.0]") };
        let e = PhiSpace::new(&narrow, &gaussian, &domain).unwrap_err().to_string();
        assert!(
            e.contains("field `init`: absent") && e.contains("σ = 2 lies outside the bounds [3, 9]"),
            "{e}"
        );
        let inside = PhiSpace::new(
            &with(study("sigma-per-label", "[1.0]", "[90.0]"), "init = [3.0]"),
            &gaussian,
            &domain,
        )
        .unwrap();
        assert_eq!(inside.initial_phi(Some(&[3.0])), vec![3.0; 5]);
        let pdn = PhiSpace::new(
            &with(study("pdn", "[0.1, 0.1]", "[0.9, 0.5]"), ""),
            &"pdn:p_d=0.3,p_n=0.06".parse().unwrap(),
            &Domain::Classes(crate::domain::ClassSet::new(3)),
        )
        .unwrap();
        let e = pdn.point(&[0.5, 0.4]).unwrap_err();
        assert!(
            e.starts_with("p_N/p_D = 0.8")
                && e.ends_with("lies outside the bounds [0.1, 0.5] (`lower`, `upper`)"),
            "{e}"
        );
        assert!(pdn.point(&[0.4]).unwrap_err().contains("`pdn` takes 2 (p_D, p_N)"));
    }

    #[test]
    fn the_mixture_learns_sigma_and_both_weights_with_written_bounds() {
        let classes = Domain::Classes(crate::domain::ClassSet::new(4));
        let template: DistributionSpec =
            "mixture:sigma=0.5,p_d=0.3,p_n=0.03,distance=cooccurrence".parse().unwrap();
        let space = PhiSpace::new(
            &with(study("mixture", "[0.05, 0.01, 0.001]", "[4.0, 0.95, 0.5]"), ""),
            &template,
            &classes,
        )
        .unwrap();
        assert_eq!((space.dim(), space.initial_phi(None)), (3, vec![0.5, 0.3, 0.03]));
        let theta = space.theta_of(&[0.5, 0.3, 0.03]).unwrap();
        assert!(
            (theta[0] - 0.5f64.ln()).abs() < 1e-12
                && (theta[1] - logit(0.3)).abs() < 1e-12
                && (theta[2] - logit(0.1)).abs() < 1e-12,
            "{theta:?}"
        );
        let back = space.phi_values(&theta);
        assert!(back.iter().zip([0.5, 0.3, 0.03]).all(|(a, b)| (a - b).abs() < 1e-12), "{back:?}");
        // The learned spec keeps the template's distance; every θ gives 1 > p_D > p_N > 0.
        assert_eq!(
            space.spec_at(&[0.5, 0.3, 0.03]).to_string(),
            "mixture:sigma=0.5,p_d=0.3,p_n=0.03,distance=cooccurrence"
        );
        let extreme = space.phi_values(&[-30.0, 30.0, 30.0]);
        assert!(
            extreme[0] > 0.0 && extreme[1] < 1.0 && extreme[2] < extreme[1] && extreme[2] > 0.0,
            "{extreme:?}"
        );
        assert_eq!(
            Vec::<f64>::try_from(space.full_phi(&Tensor::from_slice(&[0.5, 0.3, 0.03]))).unwrap(),
            vec![0.5, 0.3, 0.03],
            "all three coordinates are learned"
        );
        let e = space.point(&[0.5, 0.3, 0.2]).unwrap_err();
        assert!(e.starts_with("p_N/p_D = 0.66") && e.contains("[0.001, 0.5]"), "{e}");
        assert!(space.point(&[0.5]).unwrap_err().contains("`mixture` takes 3 (σ, p_D, p_N)"));
        let e = PhiSpace::new(
            &with(study("mixture", "[0.05, 0.01, 0.0]", "[4.0, 0.95, 0.5]"), ""),
            &template,
            &classes,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("field `lower/upper`") && e.contains("(p_D, p_N/p_D) must lie in (0, 1)"), "{e}");
        // σ alone keeps the template's weights.
        let sigma_only =
            PhiSpace::new(&with(study("sigma", "[0.05]", "[4.0]"), ""), &template, &classes).unwrap();
        assert_eq!(
            Vec::<f64>::try_from(sigma_only.full_phi(&Tensor::from_slice(&[0.7]))).unwrap(),
            vec![0.7, 0.3, 0.03]
        );
    }

    #[test]
    fn mismatched_family_is_an_error() {
        let domain = Domain::Bins(Bins::parse("0:4").unwrap());
        assert!(PhiSpace::new(
            &study("pdn", "[0.1]", "[0.9]"),
            &"gaussian:sigma=2".parse().unwrap(),
            &domain
        )
        .is_err());
        assert!(PhiSpace::new(
            &study("sigma", "[0.0]", "[2.0]"),
            &"gaussian:sigma=2".parse().unwrap(),
            &domain
        )
        .is_err());
        let tiny =
            PhiSpace::new(&study("sigma", "[1e-30]", "[2.0]"), &"gaussian:sigma=2".parse().unwrap(), &domain)
                .unwrap_err()
                .to_string();
        assert!(
            tiny.contains("field `lower/upper`") && tiny.contains("at least 0.01 × the bin step (1)"),
            "{tiny}"
        );
        let e = PhiSpace::new(
            &study("kernel-sigma", "[0.5]", "[8.0]"),
            &"gaussian:sigma=2".parse().unwrap(),
            &domain,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "`kernel-sigma` does not apply to the task's gaussian family (use sigma or sigma-per-label)"
            ) && !e.contains("KernelSigma"),
            "{e}"
        );
    }

    #[test]
    fn sigma_per_label_on_knots_learns_few_coordinates_and_expands_to_every_bin() {
        let domain = Domain::Bins(Bins::parse("0:10").unwrap());
        let mut spec = with(study("sigma-per-label", "[0.5]", "[8.0]"), "");
        spec.knots = Some(vec![0.0, 4.0, 10.0]);
        let space = PhiSpace::new(&spec, &"gaussian:sigma=2".parse().unwrap(), &domain).unwrap();
        assert_eq!((space.dim(), space.initial_phi(None)), (3, vec![2.0; 3]));
        // σ 1 → 3 over labels 0..4, then 3 → 1.5 over 4..10 (by hand: bin 2 is 2, bin 8 is 2).
        let spec_at = space.spec_at(&[1.0, 3.0, 1.5]);
        let sigmas = spec_at.family().phi();
        assert_eq!(sigmas.len(), 11);
        assert!(
            (sigmas[2] - 2.0).abs() < 1e-12
                && (sigmas[8] - 2.0).abs() < 1e-12
                && (sigmas[4] - 3.0).abs() < 1e-12,
            "{sigmas:?}"
        );
        let full = space.full_phi(&Tensor::from_slice(&[1.0, 3.0, 1.5]));
        assert_eq!(Vec::<f64>::try_from(&full).unwrap(), sigmas);
        // A per-bin template starts from its values at the knots.
        let per_bin: DistributionSpec = format!(
            "gaussian:sigma=[{}]",
            (0..11).map(|i| format!("{}", 1.0 + i as f64 / 10.0)).collect::<Vec<_>>().join(",")
        )
        .parse()
        .unwrap();
        let from_bins = PhiSpace::new(&spec, &per_bin, &domain).unwrap();
        assert_eq!(from_bins.initial_phi(None), vec![1.0, 1.4, 2.0]);
        let e = from_bins.point(&[1.0, 9.0, 1.0]).unwrap_err();
        assert!(e.contains("σ at knot 1 (label 4) = 9 lies outside the bounds [0.5, 8]"), "{e}");
        spec.knots = Some(vec![0.0, 12.0]);
        let e = PhiSpace::new(&spec, &"gaussian:sigma=2".parse().unwrap(), &domain).unwrap_err().to_string();
        assert!(
            e.contains(
                "meta/s.toml: field `knots`: [0.0, 12.0]: knot 12 lies outside the label domain [0, 10]"
            ),
            "{e}"
        );
    }
}

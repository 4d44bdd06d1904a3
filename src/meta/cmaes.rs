//! CMA-ES ((μ/μ_w, λ), Hansen 2016 tutorial) with an ask/tell interface for a few continuous
//! parameters, minimising; box bounds are kept by resampling a few times, then clipping.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Draws per candidate before an out-of-box sample is clipped onto the box.
const MAX_RESAMPLE: usize = 10;
/// The step size is kept inside this range so that the state stays finite.
const SIGMA_RANGE: (f64, f64) = (1e-300, 1e300);
/// Smallest eigenvalue of C relative to the largest (caps the condition number).
const MIN_EIGEN_RATIO: f64 = 1e-20;
/// Jacobi sweeps before the eigen-decomposition gives up refining.
const MAX_SWEEPS: usize = 100;

/// An invalid setting or an inconsistent `tell`.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CmaError {
    /// `name` has `value`, which breaks `rule`.
    #[error("invalid CMA-ES setting {name} = {value}: {rule}")]
    Invalid { name: String, value: String, rule: String },
}

fn invalid(name: &str, value: impl std::fmt::Debug, rule: &str) -> CmaError {
    CmaError::Invalid { name: name.to_string(), value: format!("{value:?}"), rule: rule.to_string() }
}

/// Strategy constants fixed by the dimension and λ (Hansen 2016, Table 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Params {
    lambda: usize,
    mu: usize,
    #[serde(with = "exact_vec")]
    weights: Vec<f64>,
    #[serde(with = "exact")]
    mueff: f64,
    #[serde(with = "exact")]
    cs: f64,
    #[serde(with = "exact")]
    damps: f64,
    #[serde(with = "exact")]
    cc: f64,
    #[serde(with = "exact")]
    c1: f64,
    #[serde(with = "exact")]
    cmu: f64,
    /// E‖N(0, I)‖.
    #[serde(with = "exact")]
    chi_n: f64,
}

impl Params {
    fn new(n: usize, lambda: usize) -> Self {
        let nf = n as f64;
        let mu = lambda / 2;
        let raw: Vec<f64> = (1..=mu).map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln()).collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mueff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let cs = (mueff + 2.0) / (nf + mueff + 5.0);
        let damps = 1.0 + 2.0 * (((mueff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + cs;
        let cc = (4.0 + mueff / nf) / (nf + 4.0 + 2.0 * mueff / nf);
        let c1 = 2.0 / ((nf + 1.3).powi(2) + mueff);
        let cmu = (1.0 - c1).min(2.0 * (mueff - 2.0 + 1.0 / mueff) / ((nf + 2.0).powi(2) + mueff));
        let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Self { lambda, mu, weights, mueff, cs, damps, cc, c1, cmu, chi_n }
    }
}

/// The whole state of a CMA-ES run. Serialises to JSON with every float written as its
/// shortest round-trip decimal string, so a checkpoint resumes bit-exactly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CmaEs {
    params: Params,
    #[serde(with = "exact_vec")]
    mean: Vec<f64>,
    #[serde(with = "exact")]
    sigma: f64,
    #[serde(with = "exact_vec")]
    lower: Vec<f64>,
    #[serde(with = "exact_vec")]
    upper: Vec<f64>,
    /// Conjugate evolution path p_σ.
    #[serde(with = "exact_vec")]
    ps: Vec<f64>,
    /// Evolution path p_c.
    #[serde(with = "exact_vec")]
    pc: Vec<f64>,
    /// Covariance C, row-major n × n.
    #[serde(with = "exact_vec")]
    cov: Vec<f64>,
    /// Eigenvectors of C as columns (B), row-major n × n.
    #[serde(with = "exact_vec")]
    basis: Vec<f64>,
    /// Square roots of the eigenvalues of C (the diagonal of D).
    #[serde(with = "exact_vec")]
    scales: Vec<f64>,
    generation: usize,
    /// Best candidate so far (empty before the first finite score).
    #[serde(with = "exact_vec")]
    best_x: Vec<f64>,
    #[serde(with = "exact")]
    best_f: f64,
}

impl CmaEs {
    /// Validated: finite mean inside bounds, sigma > 0, lower < upper per dimension, same lengths,
    /// lambda ≥ 2 if given (default 4 + ⌊3 ln d⌋). Bounds may be infinite.
    pub fn new(
        mean: Vec<f64>,
        sigma: f64,
        lower: Vec<f64>,
        upper: Vec<f64>,
        lambda: Option<usize>,
    ) -> Result<Self, CmaError> {
        validate(&mean, sigma, &lower, &upper, lambda)?;
        let n = mean.len();
        let lambda = lambda.unwrap_or(4 + (3.0 * (n as f64).ln()).floor() as usize);
        Ok(Self {
            params: Params::new(n, lambda),
            mean,
            sigma,
            lower,
            upper,
            ps: vec![0.0; n],
            pc: vec![0.0; n],
            cov: identity(n),
            basis: identity(n),
            scales: vec![1.0; n],
            generation: 0,
            best_x: Vec::new(),
            best_f: f64::INFINITY,
        })
    }

    /// λ candidates, each inside the bounds (resample a few times, then clip).
    /// Deterministic given the rng state.
    pub fn ask(&self, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        (0..self.params.lambda).map(|_| self.sample_in_bounds(rng)).collect()
    }

    /// Update from the candidates just asked and their scores (lower is better);
    /// non-finite scores count as worst. Candidates must lie inside the bounds.
    pub fn tell(&mut self, candidates: &[Vec<f64>], scores: &[f64]) -> Result<(), CmaError> {
        self.check_batch(candidates, scores)?;
        self.record_best(candidates, scores);
        let order = rank(scores);
        let steps: Vec<Vec<f64>> =
            order[..self.params.mu].iter().map(|&i| self.step_of(&candidates[i])).collect();
        let yw = weighted_sum(&self.params.weights, &steps);
        self.update_mean(&yw);
        let hsig = self.update_paths(&yw);
        self.update_cov(&steps, hsig);
        self.update_sigma();
        self.generation += 1;
        self.decompose();
        Ok(())
    }

    /// Current mean m of the search distribution.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Current step size σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Population size λ (candidates per `ask`).
    pub fn lambda(&self) -> usize {
        self.params.lambda
    }

    /// Best candidate seen and its score.
    pub fn best(&self) -> Option<(&[f64], f64)> {
        (!self.best_x.is_empty()).then_some((self.best_x.as_slice(), self.best_f))
    }

    /// Number of completed `tell`s.
    pub fn generation(&self) -> usize {
        self.generation
    }

    fn dim(&self) -> usize {
        self.mean.len()
    }

    fn inside(&self, x: &[f64]) -> bool {
        x.iter().zip(self.lower.iter().zip(&self.upper)).all(|(v, (lo, hi))| v >= lo && v <= hi)
    }

    fn on_boundary(&self, x: &[f64]) -> bool {
        x.iter().zip(self.lower.iter().zip(&self.upper)).any(|(v, (lo, hi))| v == lo || v == hi)
    }

    /// x = m + σ B D z with z ~ N(0, I).
    fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let n = self.dim();
        let dz: Vec<f64> = self.scales.iter().map(|d| d * rng.sample::<f64, _>(StandardNormal)).collect();
        (0..n).map(|i| self.mean[i] + self.sigma * dot(&self.basis[i * n..(i + 1) * n], &dz)).collect()
    }

    fn sample_in_bounds(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut x = self.sample(rng);
        for _ in 1..MAX_RESAMPLE {
            if self.inside(&x) {
                return x;
            }
            x = self.sample(rng);
        }
        x.iter().zip(self.lower.iter().zip(&self.upper)).map(|(v, (lo, hi))| v.clamp(*lo, *hi)).collect()
    }

    fn check_batch(&self, candidates: &[Vec<f64>], scores: &[f64]) -> Result<(), CmaError> {
        let lambda = self.params.lambda;
        if candidates.len() != lambda {
            return Err(invalid(
                "candidates.len()",
                candidates.len(),
                &format!("must equal lambda = {lambda}"),
            ));
        }
        if scores.len() != lambda {
            return Err(invalid("scores.len()", scores.len(), &format!("must equal lambda = {lambda}")));
        }
        for (k, x) in candidates.iter().enumerate() {
            if x.len() != self.dim() || x.iter().any(|v| !v.is_finite()) || !self.inside(x) {
                return Err(invalid(
                    &format!("candidates[{k}]"),
                    x,
                    "must be finite, of the mean's length and inside the bounds",
                ));
            }
        }
        Ok(())
    }

    fn record_best(&mut self, candidates: &[Vec<f64>], scores: &[f64]) {
        for (x, &f) in candidates.iter().zip(scores) {
            if f.is_finite() && f < self.best_f {
                self.best_f = f;
                self.best_x = x.clone();
            }
        }
    }

    /// y = (x − m)/σ; a clipped (boundary) candidate's step is shortened to Mahalanobis norm
    /// at most √n + 2n/(n+2), as for injected solutions in Hansen's tutorial.
    fn step_of(&self, x: &[f64]) -> Vec<f64> {
        let y: Vec<f64> = x.iter().zip(&self.mean).map(|(v, m)| (v - m) / self.sigma).collect();
        if !self.on_boundary(x) {
            return y;
        }
        let nf = self.dim() as f64;
        let cap = nf.sqrt() + 2.0 * nf / (nf + 2.0);
        let norm = norm(&self.inv_sqrt_times(&y));
        let factor = if norm > cap { cap / norm } else { 1.0 };
        y.iter().map(|v| v * factor).collect()
    }

    /// C^{-1/2} v = B D^{-1} Bᵀ v.
    fn inv_sqrt_times(&self, v: &[f64]) -> Vec<f64> {
        let n = self.dim();
        let scaled: Vec<f64> = (0..n)
            .map(|j| (0..n).map(|i| self.basis[i * n + j] * v[i]).sum::<f64>() / self.scales[j])
            .collect();
        (0..n).map(|i| dot(&self.basis[i * n..(i + 1) * n], &scaled)).collect()
    }

    /// m ← m + σ y_w (c_m = 1), kept inside the box against rounding.
    fn update_mean(&mut self, yw: &[f64]) {
        for (i, (m, y)) in self.mean.iter_mut().zip(yw).enumerate() {
            *m = (*m + self.sigma * y).clamp(self.lower[i], self.upper[i]);
        }
    }

    /// Updates p_σ and p_c; returns the stall indicator h_σ.
    fn update_paths(&mut self, yw: &[f64]) -> bool {
        let p = &self.params;
        let whitened = self.inv_sqrt_times(yw);
        let ks = (p.cs * (2.0 - p.cs) * p.mueff).sqrt();
        for (ps, w) in self.ps.iter_mut().zip(&whitened) {
            *ps = (1.0 - p.cs) * *ps + ks * w;
        }
        let correction = (1.0 - (1.0 - p.cs).powf(2.0 * (self.generation as f64 + 1.0))).sqrt();
        let threshold = (1.4 + 2.0 / (self.dim() as f64 + 1.0)) * p.chi_n;
        let hsig = norm(&self.ps) / correction < threshold;
        let kc = if hsig { (p.cc * (2.0 - p.cc) * p.mueff).sqrt() } else { 0.0 };
        for (pc, y) in self.pc.iter_mut().zip(yw) {
            *pc = (1.0 - p.cc) * *pc + kc * y;
        }
        hsig
    }

    /// C ← (1 + c₁δ(h_σ) − c₁ − c_μ Σw) C + c₁ p_c p_cᵀ + c_μ Σ w_i y_i y_iᵀ.
    fn update_cov(&mut self, steps: &[Vec<f64>], hsig: bool) {
        let p = &self.params;
        let n = self.dim();
        let delta = if hsig { 0.0 } else { p.cc * (2.0 - p.cc) };
        let decay = 1.0 + p.c1 * delta - p.c1 - p.cmu * p.weights.iter().sum::<f64>();
        for i in 0..n {
            for j in 0..n {
                let rank_mu: f64 = p.weights.iter().zip(steps).map(|(w, y)| w * y[i] * y[j]).sum();
                self.cov[i * n + j] =
                    decay * self.cov[i * n + j] + p.c1 * self.pc[i] * self.pc[j] + p.cmu * rank_mu;
            }
        }
    }

    /// σ ← σ exp(c_σ/d_σ (‖p_σ‖/E‖N(0,I)‖ − 1)), exponent capped at 1.
    fn update_sigma(&mut self) {
        let p = &self.params;
        let exponent = (p.cs / p.damps * (norm(&self.ps) / p.chi_n - 1.0)).min(1.0);
        self.sigma = (self.sigma * exponent.exp()).clamp(SIGMA_RANGE.0, SIGMA_RANGE.1);
    }

    /// Refreshes B and D from C (every generation: d is small).
    fn decompose(&mut self) {
        let (values, vectors) = jacobi_eigen(&self.cov, self.dim());
        let largest = values.iter().cloned().fold(0.0, f64::max);
        let floor = (largest * MIN_EIGEN_RATIO).max(f64::MIN_POSITIVE);
        self.scales = values.iter().map(|v| v.max(floor).sqrt()).collect();
        self.basis = vectors;
    }
}

fn validate(
    mean: &[f64],
    sigma: f64,
    lower: &[f64],
    upper: &[f64],
    lambda: Option<usize>,
) -> Result<(), CmaError> {
    if mean.is_empty() {
        return Err(invalid("mean.len()", 0, "must be at least 1"));
    }
    if lower.len() != mean.len() || upper.len() != mean.len() {
        return Err(invalid(
            "bounds lengths",
            (lower.len(), upper.len()),
            &format!("must equal mean.len() = {}", mean.len()),
        ));
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(invalid("sigma", sigma, "must be finite and > 0"));
    }
    if let Some(l) = lambda.filter(|&l| l < 2) {
        return Err(invalid("lambda", l, "must be >= 2"));
    }
    for i in 0..mean.len() {
        if lower[i].is_nan() || upper[i].is_nan() || lower[i] >= upper[i] {
            return Err(invalid(&format!("bounds[{i}]"), (lower[i], upper[i]), "need lower < upper"));
        }
        if !mean[i].is_finite() || mean[i] < lower[i] || mean[i] > upper[i] {
            return Err(invalid(&format!("mean[{i}]"), mean[i], "must be finite and inside the bounds"));
        }
    }
    Ok(())
}

/// Indices sorted best first: finite scores ascending, then non-finite ones (stable).
fn rank(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |f: f64| (!f.is_finite(), if f.is_finite() { f } else { 0.0 });
        let (ka, kb) = (key(scores[a]), key(scores[b]));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    order
}

fn weighted_sum(weights: &[f64], vectors: &[Vec<f64>]) -> Vec<f64> {
    let n = vectors[0].len();
    (0..n).map(|i| weights.iter().zip(vectors).map(|(w, y)| w * y[i]).sum()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

fn identity(n: usize) -> Vec<f64> {
    (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect()
}

/// Eigen-decomposition of a symmetric row-major n × n matrix by cyclic Jacobi rotations.
/// Returns (eigenvalues, eigenvectors as the columns of a row-major matrix).
fn jacobi_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = identity(n);
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n * n).filter(|k| k / n != k % n).map(|k| a[k] * a[k]).sum();
        if off <= total * 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                rotate(&mut a, &mut v, n, p, q);
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// One Jacobi rotation A ← Jᵀ A J, V ← V J that zeroes a[p][q].
fn rotate(a: &mut [f64], v: &mut [f64], n: usize, p: usize, q: usize) {
    let apq = a[p * n + q];
    if apq == 0.0 {
        return;
    }
    let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
    let c = 1.0 / (t * t + 1.0).sqrt();
    let s = t * c;
    for k in 0..n {
        let (akp, akq) = (a[k * n + p], a[k * n + q]);
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
    }
    for k in 0..n {
        let (apk, aqk) = (a[p * n + k], a[q * n + k]);
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
    }
    for k in 0..n {
        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
        v[k * n + p] = c * vkp - s * vkq;
        v[k * n + q] = s * vkp + c * vkq;
    }
}

/// f64 as its shortest round-trip decimal string (std formatting and parsing are exact;
/// serde_json's default number parsing is not always), so checkpoints resume bit-exactly.
mod exact {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{value:?}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(D::Error::custom)
    }
}

/// `Vec<f64>` with every element written as by [`exact`].
mod exact_vec {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|v| format!("{v:?}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts.iter().map(|t| t.parse().map_err(D::Error::custom)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn distance(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
    }

    /// One generation with the rng re-seeded as `seed ^ generation`.
    fn step(es: &mut CmaEs, f: &dyn Fn(&[f64]) -> f64, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ es.generation() as u64);
        let candidates = es.ask(&mut rng);
        let scores: Vec<f64> = candidates.iter().map(|x| f(x)).collect();
        es.tell(&candidates, &scores).unwrap();
    }

    /// Runs until the mean is within `tol` of `target` or `budget` generations pass;
    /// returns the generations used.
    fn solve(
        es: &mut CmaEs,
        f: &dyn Fn(&[f64]) -> f64,
        seed: u64,
        target: &[f64],
        tol: f64,
        budget: usize,
    ) -> usize {
        while es.generation() < budget && distance(es.mean(), target) >= tol {
            step(es, f, seed);
        }
        es.generation()
    }

    fn boxed(mean: Vec<f64>, sigma: f64, half_width: f64) -> CmaEs {
        let n = mean.len();
        CmaEs::new(mean, sigma, vec![-half_width; n], vec![half_width; n], None).unwrap()
    }

    fn sphere(x: &[f64]) -> f64 {
        x.iter().map(|v| v * v).sum()
    }

    fn rosenbrock(x: &[f64]) -> f64 {
        x.windows(2).map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2)).sum()
    }

    const SHIFT: [f64; 4] = [1.0, -2.0, 0.5, 3.0];

    /// Σ 10^{4 i/(n−1)} (x_i − s_i)²: condition number 1e4.
    fn ellipsoid(x: &[f64]) -> f64 {
        let n = x.len() as f64;
        x.iter()
            .enumerate()
            .map(|(i, v)| 10f64.powf(4.0 * i as f64 / (n - 1.0)) * (v - SHIFT[i]).powi(2))
            .sum()
    }

    #[test]
    fn sphere_2d() {
        let mut es = boxed(vec![3.0, -2.0], 1.0, 10.0);
        let used = solve(&mut es, &sphere, 1, &[0.0; 2], 1e-6, 300);
        eprintln!("sphere 2-D: {used} generations (lambda {})", es.lambda());
        assert!(distance(es.mean(), &[0.0; 2]) < 1e-6, "mean {:?} after {used}", es.mean());
    }

    #[test]
    fn sphere_5d() {
        let mut es = boxed(vec![2.0, -1.0, 3.0, 0.5, -2.5], 1.0, 10.0);
        let used = solve(&mut es, &sphere, 2, &[0.0; 5], 1e-6, 500);
        eprintln!("sphere 5-D: {used} generations (lambda {})", es.lambda());
        assert!(distance(es.mean(), &[0.0; 5]) < 1e-6, "mean {:?} after {used}", es.mean());
    }

    #[test]
    fn rosenbrock_2d() {
        let mut es = boxed(vec![-1.2, 1.0], 0.5, 5.0);
        let used = solve(&mut es, &rosenbrock, 3, &[1.0, 1.0], 1e-4, 1000);
        eprintln!("rosenbrock 2-D: {used} generations (lambda {})", es.lambda());
        assert!(distance(es.mean(), &[1.0, 1.0]) < 1e-4, "mean {:?} after {used}", es.mean());
    }

    #[test]
    fn shifted_ellipsoid_4d() {
        let mut es = boxed(vec![0.0; 4], 1.0, 10.0);
        let used = solve(&mut es, &ellipsoid, 4, &SHIFT, 1e-6, 1500);
        eprintln!("ellipsoid 4-D (cond 1e4): {used} generations (lambda {})", es.lambda());
        assert!(distance(es.mean(), &SHIFT) < 1e-6, "mean {:?} after {used}", es.mean());
    }

    #[test]
    fn optimum_outside_box_converges_to_boundary_with_candidates_inside() {
        let (lower, upper) = (vec![-1.0, -1.0, 0.0], vec![2.0, 2.0, 1.0]);
        let mut es = CmaEs::new(vec![0.0, 0.0, 0.5], 1.0, lower.clone(), upper.clone(), None).unwrap();
        let f = |x: &[f64]| (x[0] - 5.0).powi(2) + (x[1] - 5.0).powi(2) + (x[2] - 0.3).powi(2);
        let target = [2.0, 2.0, 0.3];
        while es.generation() < 400 && distance(es.mean(), &target) >= 1e-6 {
            let mut rng = ChaCha8Rng::seed_from_u64(5 ^ es.generation() as u64);
            let candidates = es.ask(&mut rng);
            for x in &candidates {
                assert!(
                    x.iter().zip(lower.iter().zip(&upper)).all(|(v, (lo, hi))| v >= lo && v <= hi),
                    "{x:?} outside"
                );
            }
            let scores: Vec<f64> = candidates.iter().map(|x| f(x)).collect();
            es.tell(&candidates, &scores).unwrap();
        }
        let (bx, bf) = es.best().unwrap();
        eprintln!("bounded: {} generations, mean {:?}, best {bx:?} ({bf})", es.generation(), es.mean());
        assert!(distance(es.mean(), &target) < 1e-6, "mean {:?}", es.mean());
        assert!(distance(bx, &target) < 1e-5 && bf - f(&target) < 1e-9, "best {bx:?} ({bf})");
    }

    #[test]
    fn json_checkpoint_resumes_bit_exactly() {
        let (seed, total, cut) = (11, 120, 47);
        let mut straight = boxed(vec![0.0; 4], 1.0, 10.0);
        for _ in 0..total {
            step(&mut straight, &ellipsoid, seed);
        }
        let mut first = boxed(vec![0.0; 4], 1.0, 10.0);
        for _ in 0..cut {
            step(&mut first, &ellipsoid, seed);
        }
        let json = serde_json::to_string(&first).unwrap();
        let mut resumed: CmaEs = serde_json::from_str(&json).unwrap();
        assert_eq!(resumed, first);
        while resumed.generation() < total {
            step(&mut resumed, &ellipsoid, seed);
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(resumed.mean()), bits(straight.mean()));
        assert_eq!(resumed, straight);
        assert!(distance(straight.mean(), &[0.0; 4]) > 1.0, "the run must have moved");
    }

    #[test]
    fn exact_float_text_round_trips_awkward_values() {
        let mut es = boxed(vec![0.1, 1.0 / 3.0], 0.7, 10.0);
        es.sigma = 2.0f64.powi(-1070);
        es.mean[0] = 0.30000000000000004;
        es.mean[1] = 8.881784197001252e-16 * 3.0 + 1.0 / 7.0;
        let back: CmaEs = serde_json::from_str(&serde_json::to_string_pretty(&es).unwrap()).unwrap();
        assert_eq!(back.sigma.to_bits(), es.sigma.to_bits());
        assert_eq!(back, es);
    }

    #[test]
    fn invalid_settings_are_errors() {
        let ok = |m: Vec<f64>, s: f64, lo: Vec<f64>, hi: Vec<f64>, l: Option<usize>| {
            CmaEs::new(m, s, lo, hi, l).is_ok()
        };
        assert!(ok(vec![0.0], 1.0, vec![-1.0], vec![1.0], None));
        assert!(ok(vec![0.0], 1.0, vec![f64::NEG_INFINITY], vec![f64::INFINITY], Some(2)));
        assert!(!ok(vec![0.0], 0.0, vec![-1.0], vec![1.0], None));
        assert!(!ok(vec![0.0], -1.0, vec![-1.0], vec![1.0], None));
        assert!(!ok(vec![0.0], f64::NAN, vec![-1.0], vec![1.0], None));
        assert!(!ok(vec![f64::NAN], 1.0, vec![-1.0], vec![1.0], None));
        assert!(!ok(vec![0.0], 1.0, vec![1.0], vec![1.0], None));
        assert!(!ok(vec![0.0], 1.0, vec![2.0], vec![1.0], None));
        assert!(!ok(vec![0.0], 1.0, vec![f64::NAN], vec![1.0], None));
        assert!(!ok(vec![0.0, 0.0], 1.0, vec![-1.0], vec![1.0, 1.0], None));
        assert!(!ok(vec![0.0], 1.0, vec![-1.0], vec![1.0, 2.0], None));
        assert!(!ok(vec![5.0], 1.0, vec![-1.0], vec![1.0], None));
        assert!(!ok(vec![], 1.0, vec![], vec![], None));
        assert!(!ok(vec![0.0], 1.0, vec![-1.0], vec![1.0], Some(1)));
        let err = CmaEs::new(vec![0.0], 0.0, vec![-1.0], vec![1.0], None).unwrap_err();
        assert_eq!(err.to_string(), "invalid CMA-ES setting sigma = 0.0: must be finite and > 0");
    }

    #[test]
    fn tell_rejects_inconsistent_batches() {
        let mut es = boxed(vec![0.0, 0.0], 1.0, 1.0);
        let candidates = es.ask(&mut ChaCha8Rng::seed_from_u64(0));
        assert!(es.tell(&candidates, &[0.0]).is_err());
        assert!(es.tell(&candidates[1..], &vec![0.0; es.lambda() - 1]).is_err());
        let mut outside = candidates.clone();
        outside[0] = vec![3.0, 0.0];
        assert!(es.tell(&outside, &vec![0.0; es.lambda()]).is_err());
        assert_eq!(es.generation(), 0);
    }

    #[test]
    fn ask_is_deterministic_and_nonfinite_scores_rank_last() {
        let mut es = boxed(vec![1.0, 1.0, 1.0], 0.5, 10.0);
        let a = es.ask(&mut ChaCha8Rng::seed_from_u64(9));
        assert_eq!(a, es.ask(&mut ChaCha8Rng::seed_from_u64(9)));
        assert_eq!(a.len(), 4 + (3.0 * 3f64.ln()) as usize);
        let scores: Vec<f64> =
            a.iter().enumerate().map(|(k, x)| if k % 2 == 0 { f64::NAN } else { sphere(x) }).collect();
        es.tell(&a, &scores).unwrap();
        let (bx, bf) = es.best().unwrap();
        assert_eq!(bf, (1..a.len()).step_by(2).map(|k| scores[k]).fold(f64::INFINITY, f64::min));
        assert_eq!(sphere(bx), bf);
        assert_eq!(rank(&[f64::NAN, 2.0, f64::NEG_INFINITY, 1.0]), vec![3, 1, 0, 2]);
    }

    #[test]
    fn jacobi_reconstructs_symmetric_matrix() {
        let n = 5;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let g: Vec<f64> = (0..n * n).map(|_| rng.sample(StandardNormal)).collect();
        let a: Vec<f64> =
            (0..n * n).map(|k| (0..n).map(|j| g[(k / n) * n + j] * g[(k % n) * n + j]).sum()).collect();
        let (values, v) = jacobi_eigen(&a, n);
        for i in 0..n {
            for j in 0..n {
                let back: f64 = (0..n).map(|k| v[i * n + k] * values[k] * v[j * n + k]).sum();
                assert!((back - a[i * n + j]).abs() < 1e-10, "({i},{j}) {back} vs {}", a[i * n + j]);
                let ortho: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                assert!((ortho - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn long_run_past_convergence_stays_finite() {
        let mut es = boxed(vec![3.0, -2.0], 1.0, 10.0);
        for _ in 0..3000 {
            step(&mut es, &sphere, 8);
        }
        assert!(es.mean().iter().all(|v| v.is_finite()) && es.sigma().is_finite() && es.sigma() > 0.0);
        assert!(distance(es.mean(), &[0.0; 2]) < 1e-12);
        assert!(serde_json::from_str::<CmaEs>(&serde_json::to_string(&es).unwrap()).unwrap() == es);
    }
}

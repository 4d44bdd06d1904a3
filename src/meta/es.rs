//! Antithetic evolution strategies over θ: mirrored pairs θ ± s·ε trained for the full schedule on
//! the same episodes with the same network seeds (one population), Adam along the estimated gradient.
//!
//! Each outer step draws `candidates / 2` directions ε ~ N(0, I), scores θ + s·ε and θ − s·ε by the
//! selection score (query loss or headline metric) after the whole inner schedule, and estimates
//! ∇J(θ) = E[f(θ + s·ε) ε] / s by `Σ (f₊ − f₋) ε / (2 s n)`: unbiased for the Gaussian-smoothed
//! objective at every horizon (no short-horizon bias), exact in expectation for a quadratic.
//! With a `grid`, step 0 first scores the grid's points on its episodes and starts θ at the best one,
//! so that a local estimate begins past a flat stretch or a barrier it could not see across.
use super::learner::Learner;
use super::study::Study;
use crate::data::Pool;
use crate::error::{Error, Result};
use crate::rundir::records::{SearchState, StepRecord};
use crate::rundir::RunDir;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Antithetic ES (`method = "es"`): `outer_steps` Adam steps on θ, each from `candidates` mirrored
/// candidates on `episodes_per_step` fresh episodes; with a `grid`, one step before them starts θ at
/// the grid's best point.
pub struct Es;

impl Learner for Es {
    fn total_steps(&self, study: &Study) -> usize {
        study.spec.outer_steps + usize::from(starts_on_grid(study))
    }

    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        if state.step == 0 && starts_on_grid(study) {
            study.es_grid_start(dir, state)
        } else {
            study.es_step(dir, state)
        }
    }

    /// Where Adam ended.
    fn learned_phi(&self, study: &Study, state: &SearchState) -> Vec<f64> {
        study.space.phi_values(&state.theta)
    }
}

/// Whether the study's ES starts from the best point of its `grid`.
fn starts_on_grid(study: &Study) -> bool {
    !study.spec.grid.is_empty()
}

/// The candidate with the lowest mean score among those that scored on every episode (a failed
/// episode makes a mean `f64::MAX` or NaN); `None` when none did.
fn best_scored(means: &[f64]) -> Option<usize> {
    (0..means.len()).filter(|c| means[*c] < f64::MAX).min_by(|a, b| means[*a].total_cmp(&means[*b]))
}

/// `pairs` standard normal directions in `dim` dimensions, the same for the same `(seed, step)`.
pub fn directions(seed: u64, step: usize, pairs: usize, dim: usize) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xe5_a471);
    rng.set_stream(step as u64);
    (0..pairs).map(|_| (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect()).collect()
}

/// The mirrored candidates θ + s·ε, θ − s·ε of every direction, in that order.
pub fn mirrored(theta: &[f64], scale: f64, directions: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let moved =
        |sign: f64, e: &[f64]| theta.iter().zip(e).map(|(t, e)| t + sign * scale * e).collect::<Vec<f64>>();
    directions.iter().flat_map(|e| [moved(1.0, e), moved(-1.0, e)]).collect()
}

/// The antithetic gradient estimate `Σ (f₊ − f₋) ε / (2 s n)` over the pairs whose scores are both
/// finite (`scores` in [`mirrored`]'s order), and how many pairs that was.
pub fn antithetic_gradient(scale: f64, directions: &[Vec<f64>], scores: &[f64]) -> (Vec<f64>, usize) {
    let dim = directions.first().map_or(0, Vec::len);
    let mut grad = vec![0.0; dim];
    let mut used = 0;
    for (e, pair) in directions.iter().zip(scores.chunks(2)) {
        let [plus, minus] = [pair[0], pair[1]];
        if !(plus.is_finite() && minus.is_finite()) {
            continue;
        }
        used += 1;
        for (g, e) in grad.iter_mut().zip(e) {
            *g += (plus - minus) * e;
        }
    }
    let denominator = 2.0 * scale * used.max(1) as f64;
    (grad.into_iter().map(|g| g / denominator).collect(), used)
}

impl Study<'_> {
    /// The starting step: every point of `grid` trains the whole schedule on step 0's episodes (one
    /// population, the same network seeds), and θ moves to the best one (Adam's moments stay zero).
    fn es_grid_start(&self, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let episodes = self.fresh_episodes(0);
        let thetas = self.grid_thetas()?;
        let phis: Vec<Vec<f64>> = thetas.iter().map(|t| self.space.phi_values(t)).collect();
        let scores = self.score(&phis, Pool::Train, &episodes, &mut state.inner_member_steps)?;
        let means = self.log_trials(dir, 0, &episodes, &phis, &scores)?;
        let best = best_scored(&means).ok_or_else(|| {
                Error::invalid(
                    "es grid start",
                    0,
                    "no grid point scored finitely on every episode (every inner training diverged or failed); lower the inner lr",
                )
            })?;
        (state.best_loss, state.best_phi) = (means[best], phis[best].clone());
        state.theta = thetas[best].clone();
        Ok(self.record(0, &phis[best], &scores[best]))
    }

    /// One ES step: every mirrored candidate trains the whole schedule on the step's episodes (the
    /// same network seeds for all), then one Adam step on θ along the antithetic estimate.
    fn es_step(&self, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let s = state.step;
        let episodes = self.fresh_episodes(s);
        let directions = directions(self.spec.seed, s, self.spec.candidates / 2, state.theta.len());
        let candidates = mirrored(&state.theta, self.spec.perturbation(), &directions);
        // Candidates train at their θ clamped into the bounds; the estimate uses the drawn ε.
        let phis: Vec<Vec<f64>> =
            candidates.iter().map(|t| self.space.phi_values(&self.space.clamp(t))).collect();
        let scores = self.score(&phis, Pool::Train, &episodes, &mut state.inner_member_steps)?;
        // A failed episode ranks at f64::MAX: its candidate drops out of the estimate.
        let means: Vec<f64> = self
            .log_trials(dir, s, &episodes, &phis, &scores)?
            .into_iter()
            .map(|m| if m < f64::MAX { m } else { f64::NAN })
            .collect();
        let (grad, used) = antithetic_gradient(self.spec.perturbation(), &directions, &means);
        if used == 0 {
            return Err(Error::invalid(
                "es step",
                s,
                "no mirrored pair scored finitely on every episode (every inner training diverged or failed); lower the inner lr or `perturbation`",
            ));
        }
        if let Some(best) = best_scored(&means) {
            if means[best] < state.best_loss {
                (state.best_loss, state.best_phi) = (means[best], phis[best].clone());
            }
        }
        let phi_now = self.space.phi_values(&state.theta);
        self.adam_on_theta(state, &grad);
        Ok(self.record(s, &phi_now, &scores.concat()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On f(θ) = ½ (θ − c)ᵀ A (θ − c) the antithetic estimate is unbiased for ∇f = A (θ − c) at any
    /// scale s (f₊ − f₋ = 2 s εᵀ∇f exactly); over many draws it converges to it.
    #[test]
    fn the_antithetic_estimate_matches_the_gradient_of_a_quadratic() {
        let a = [[3.0, 0.5, 0.0], [0.5, 1.0, -0.4], [0.0, -0.4, 2.0]];
        let c = [0.3, -1.2, 0.8];
        let f = |t: &[f64]| -> f64 {
            let d: Vec<f64> = t.iter().zip(&c).map(|(t, c)| t - c).collect();
            0.5 * (0..3).map(|i| (0..3).map(|j| d[i] * a[i][j] * d[j]).sum::<f64>()).sum::<f64>()
        };
        let theta = [1.0, 0.5, -0.5];
        let exact: Vec<f64> = (0..3).map(|i| (0..3).map(|j| a[i][j] * (theta[j] - c[j])).sum()).collect();
        for scale in [0.05, 0.5] {
            let pairs = 20_000;
            let dirs = directions(7, 0, pairs, 3);
            let scores: Vec<f64> = mirrored(&theta, scale, &dirs).iter().map(|t| f(t)).collect();
            let (grad, used) = antithetic_gradient(scale, &dirs, &scores);
            assert_eq!(used, pairs);
            let norm = exact.iter().map(|g| g * g).sum::<f64>().sqrt();
            for (g, e) in grad.iter().zip(&exact) {
                // sd of one coordinate's mean ≈ |∇f| / √n; allow four of them.
                assert!(
                    (g - e).abs() < 4.0 * norm / (pairs as f64).sqrt(),
                    "s = {scale}: {grad:?} vs {exact:?}"
                );
            }
        }
    }

    #[test]
    fn directions_repeat_per_step_and_pairs_with_a_failure_are_dropped() {
        assert_eq!(directions(3, 5, 4, 2), directions(3, 5, 4, 2));
        assert_ne!(directions(3, 5, 4, 2), directions(3, 6, 4, 2));
        let dirs = vec![vec![1.0], vec![2.0]];
        let cands = mirrored(&[0.5], 0.1, &dirs);
        assert_eq!(cands.len(), 4);
        assert!(
            (cands[0][0] - 0.6).abs() < 1e-12
                && (cands[1][0] - 0.4).abs() < 1e-12
                && (cands[3][0] - 0.3).abs() < 1e-12
        );
        // The second pair failed on one side: the estimate is the first pair's alone.
        let (grad, used) = antithetic_gradient(0.1, &dirs, &[2.0, 1.0, f64::NAN, 0.0]);
        assert_eq!(used, 1);
        assert!((grad[0] - (2.0 - 1.0) * 1.0 / 0.2).abs() < 1e-12);
        let (grad, used) = antithetic_gradient(0.1, &dirs, &[f64::NAN; 4]);
        assert_eq!((used, grad), (0, vec![0.0]));
    }
}

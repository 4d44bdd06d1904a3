//! Population-based training over φ: `candidates` members train as one stacked population on one
//! episode; every `interval` steps the worst quarter copies the best quarter's weights and optimiser state and perturbs φ.
use super::learner::Learner;
use super::population::{save_population, Round};
use super::space::PhiSpace;
use super::study::Study;
use crate::data::Pool;
use crate::error::Result;
use crate::rundir::records::{
    LineageRecord, PbtState, SearchState, StepRecord, Trial, LINEAGE_FILE, TRIALS_FILE,
};
use crate::rundir::RunDir;
use crate::train::Member;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The factor explore multiplies a σ by (or divides it by): θ moves by ± ln 1.25.
const PERTURB: f64 = 1.25;

/// Where each member takes its weights from: the worst ⌈P/4⌉ by loss (non-finite losses rank
/// worst) each copy a member drawn uniformly from the best ⌈P/4⌉; the others keep their own.
pub fn exploit(losses: &[f64], rng: &mut impl Rng) -> Vec<usize> {
    let p = losses.len();
    let key = |i: &usize| if losses[*i].is_finite() { losses[*i] } else { f64::INFINITY };
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
    let quarter = p.div_ceil(4).min(p / 2);
    let (best, worst) = (&order[..quarter], &order[p - quarter..]);
    let mut sources: Vec<usize> = (0..p).collect();
    for &w in worst {
        sources[w] = *best.choose(rng).expect("a population of at least two has a best quarter");
    }
    sources
}

/// θ moved by ± ln [`PERTURB`] in every coordinate (σ × 1.25 or × 0.8), clamped into the bounds.
pub fn explore(theta: &[f64], space: &PhiSpace, rng: &mut impl Rng) -> Vec<f64> {
    let step = PERTURB.ln();
    let moved: Vec<f64> =
        theta.iter().map(|t| if rng.random::<bool>() { t + step } else { t - step }).collect();
    space.clamp(&moved)
}

/// Population-based training (the study's `candidates` members, a round every `interval` steps).
pub struct Pbt;

impl Learner for Pbt {
    fn total_steps(&self, study: &Study) -> usize {
        study.inner.steps.div_ceil(study.spec.interval)
    }

    fn step(&self, study: &Study, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        study.pbt_step(dir, state)
    }
}

impl Study<'_> {
    /// One PBT round: train every member `interval` more steps, score each on the episode's query
    /// set, then (before the last round) exploit and explore; the population is checkpointed.
    fn pbt_step(&self, dir: &RunDir, state: &mut SearchState) -> Result<StepRecord> {
        let round = state.step;
        let population = self.spec.candidates;
        let thetas = match &state.pbt {
            Some(pbt) => pbt.thetas.clone(),
            None => self.initial_population()?,
        };
        let phis: Vec<Vec<f64>> = thetas.iter().map(|t| self.space.phi_values(t)).collect();
        let episode = self.episodes_of(Pool::Train, &[0])?.remove(0);
        // Common random numbers: every member has the episode's network seed (initial weights, batches,
        // flips, masks), so members differ by φ alone and the ranking measures φ, not luck.
        let seed = self.member_seed(Pool::Train, episode.index);
        let members: Vec<Member> = (0..population)
            .map(|p| Member {
                seed,
                method: self.method_at(&phis[p]),
                train: episode.support.clone(),
                val: vec![],
            })
            .collect();
        let Round { run, scores, until } =
            self.train_round(dir, state, &members, &vec![episode.query.clone(); population])?;
        for (p, (loss, metric)) in scores.iter().enumerate() {
            dir.append_jsonl(
                TRIALS_FILE,
                &Trial {
                    step: round,
                    candidate: p,
                    pool: Pool::Train,
                    episode: 0,
                    phi: phis[p].clone(),
                    query_loss: *loss,
                    metric: *metric,
                },
            )?;
        }
        // Lower is better: the query loss, or the turned headline metric (`select_by`).
        let ranks: Vec<f64> = scores.iter().map(|s| self.selection_score(*s)).collect();
        let best = (0..population).min_by(|a, b| ranks[*a].total_cmp(&ranks[*b])).unwrap_or(0);
        (state.best_phi, state.best_loss) = (phis[best].clone(), ranks[best]);
        let mut next = thetas.clone();
        if until < self.inner.steps {
            let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed ^ 0x9b7_e1a9);
            rng.set_stream(round as u64);
            let sources = exploit(&ranks, &mut rng);
            for (member, &parent) in sources.iter().enumerate().filter(|(m, s)| *m != **s) {
                next[member] = explore(&thetas[parent], &self.space, &mut rng);
                let record = LineageRecord {
                    round,
                    inner_step: until,
                    member,
                    parent,
                    loss: scores[member].0,
                    parent_loss: scores[parent].0,
                    phi_before: phis[member].clone(),
                    phi_after: self.space.phi_values(&next[member]),
                };
                dir.append_jsonl(LINEAGE_FILE, &record)?;
            }
            let index: Vec<i64> = sources.iter().map(|s| *s as i64).collect();
            save_population(dir, round + 1, &run.params.members(&index), &run.optimiser.members(&index))?;
        }
        state.pbt = Some(PbtState { thetas: next });
        Ok(self.record(round, &phis[best], &scores))
    }

    /// Member 0 starts at the study's initial φ, the others at θ drawn uniformly in the θ-bounds.
    fn initial_population(&self) -> Result<Vec<Vec<f64>>> {
        let first = self.space.clamp(&self.space.theta_of(&self.space.start_phi(self.spec)?)?);
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed ^ 0x1417_0b07);
        let (lo, hi) = self.space.bounds();
        let mut thetas = vec![first];
        thetas.extend(
            (1..self.spec.candidates)
                .map(|_| lo.iter().zip(hi).map(|(l, h)| rng.random_range(*l..*h)).collect()),
        );
        Ok(thetas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_quarter_copies_the_best_quarter_and_nan_ranks_worst() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let losses = [3.0, 1.0, f64::NAN, 2.0, 0.5, 4.0, 2.5, 1.5];
        let sources = exploit(&losses, &mut rng);
        // Worst two: NaN (member 2) and 4.0 (member 5); best two: 0.5 (member 4) and 1.0 (member 1).
        for (m, s) in sources.iter().enumerate() {
            match m {
                2 | 5 => assert!([1, 4].contains(s), "member {m} copied {s}"),
                _ => assert_eq!(*s, m),
            }
        }
        assert_eq!(exploit(&[2.0, 1.0], &mut rng), vec![1, 1]);
    }

    #[test]
    fn explore_multiplies_sigma_by_five_fourths_or_four_fifths_within_the_bounds() {
        let study: crate::meta::StudySpec =
            toml::from_str("method = \"pbt\"\nlearn = \"sigma\"\nlower = [0.5]\nupper = [4.0]\nouter_steps = 1\nepisodes_per_step = 1\ncandidates = 2\ninterval = 1\n").unwrap();
        let template: crate::family::DistributionSpec = "gaussian:sigma=2".parse().unwrap();
        let space = PhiSpace::new(
            &study,
            &template,
            &crate::domain::Domain::Bins(crate::label::Bins::parse("0:9").unwrap()),
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let sigma = space.phi_values(&explore(&space.theta_of(&[2.0]).unwrap(), &space, &mut rng))[0];
            seen.insert((sigma * 1e6).round() as i64);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1_600_000, 2_500_000]);
        let top = space.phi_values(&explore(
            &space.theta_of(&[4.0]).unwrap(),
            &space,
            &mut ChaCha8Rng::seed_from_u64(3),
        ))[0];
        assert!(top <= 4.0 + 1e-9 && (top - 4.0).abs() < 1e-9 || (top - 3.2).abs() < 1e-9, "{top}");
    }
}

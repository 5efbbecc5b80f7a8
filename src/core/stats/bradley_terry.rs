//! Bradley-Terry ratings from blind arena votes, on an Elo-like scale, with bootstrap intervals.
//!
//! Model: `P(i beats j) = s_i / (s_i + s_j)`. A tie counts as half a win to each side, as
//! public chatbot leaderboards do. "Both bad" is counted as a tie: the voter judged the two
//! narrations equally (un)fit, which is evidence of parity just like a tie.
//!
//! The fit maximises the log-likelihood over log-strengths `θ = ln s` by Newton's method with
//! a backtracking line search, plus a tiny L2 prior `-λ/2 Σ θ²`. The prior makes the problem
//! strictly concave, so a model that never lost gets a large but finite rating instead of
//! running off to infinity, and a disconnected comparison graph still has one answer.
//!
//! Ratings are `1000 + 400 · log10(s)` with the strengths normalised to a geometric mean of 1,
//! so the mean rating over the fitted models is 1000.

use std::collections::BTreeMap;

use rand::Rng;

use super::{percentile, sort_f64};

/// The result of one vote on a pair of narrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    AWins,
    BWins,
    Tie,
    BothBad,
}

/// One voted arena battle. Battles of a model against itself are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Battle {
    pub model_a: String,
    pub model_b: String,
    pub outcome: Outcome,
}

/// Knobs of the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaConfig {
    /// Bootstrap resamples for the 95% interval; 0 gives intervals equal to the rating.
    pub bootstrap_rounds: usize,
    /// Models with fewer battles than this are fitted but reported with `ranked: false`.
    pub min_votes: u64,
    /// Newton stops when no log-strength moves by more than this.
    pub tolerance: f64,
    pub max_iterations: usize,
    /// Weight `λ` of the L2 prior on natural-log strengths.
    pub prior: f64,
}

impl Default for ArenaConfig {
    fn default() -> Self {
        Self {
            bootstrap_rounds: 200,
            min_votes: 10,
            tolerance: 1e-9,
            max_iterations: 100,
            prior: 0.01,
        }
    }
}

/// One model's arena standing.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaRating {
    pub model: String,
    pub rating: f64,
    /// 2.5th and 97.5th percentiles of the bootstrap ratings.
    pub ci_low: f64,
    pub ci_high: f64,
    pub battles: u64,
    pub wins: u64,
    /// Ties and "both bad" votes.
    pub ties: u64,
    pub losses: u64,
    /// `battles >= min_votes`.
    pub ranked: bool,
}

const ELO_SCALE: f64 = 400.0 / std::f64::consts::LN_10;
const ELO_BASE: f64 = 1000.0;

/// A battle with models replaced by indexes and the outcome by A's score (1, ½ or 0).
#[derive(Clone, Copy)]
struct IndexedBattle {
    a: usize,
    b: usize,
    score_a: f64,
}

/// Fits ratings, bootstrap intervals and win/tie/loss tallies. Sorted by rating, best first;
/// empty when there are no battles between two different models.
pub fn fit_arena<R: Rng + ?Sized>(
    battles: &[Battle],
    config: &ArenaConfig,
    rng: &mut R,
) -> Vec<ArenaRating> {
    let (models, indexed) = index_battles(battles);
    if models.is_empty() {
        return Vec::new();
    }
    let n = models.len();
    let ratings = to_ratings(&fit_log_strengths(n, &indexed, config));

    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(config.bootstrap_rounds); n];
    let mut resample = Vec::with_capacity(indexed.len());
    for _ in 0..config.bootstrap_rounds {
        resample.clear();
        resample.extend((0..indexed.len()).map(|_| indexed[rng.random_range(0..indexed.len())]));
        let theta = fit_log_strengths(n, &resample, config);
        // A model absent from this resample has only the prior to go on: leave it out of
        // this round rather than pull its interval towards the mean.
        let mut present = vec![false; n];
        for battle in &resample {
            present[battle.a] = true;
            present[battle.b] = true;
        }
        let mean = mean_over(&theta, &present);
        for (i, sample) in samples.iter_mut().enumerate() {
            if present[i] {
                sample.push(ELO_BASE + ELO_SCALE * (theta[i] - mean));
            }
        }
    }

    let mut tallies = vec![(0u64, 0u64, 0u64); n];
    for battle in &indexed {
        let (a, b) = (battle.a, battle.b);
        match battle.score_a {
            s if s > 0.5 => {
                tallies[a].0 += 1;
                tallies[b].2 += 1;
            }
            s if s < 0.5 => {
                tallies[a].2 += 1;
                tallies[b].0 += 1;
            }
            _ => {
                tallies[a].1 += 1;
                tallies[b].1 += 1;
            }
        }
    }

    let mut out: Vec<ArenaRating> = models
        .into_iter()
        .enumerate()
        .map(|(i, model)| {
            let (wins, ties, losses) = tallies[i];
            let battles = wins + ties + losses;
            let sample = &mut samples[i];
            sort_f64(sample);
            ArenaRating {
                model,
                rating: ratings[i],
                ci_low: percentile(sample, 2.5).unwrap_or(ratings[i]),
                ci_high: percentile(sample, 97.5).unwrap_or(ratings[i]),
                battles,
                wins,
                ties,
                losses,
                ranked: battles >= config.min_votes,
            }
        })
        .collect();
    out.sort_by(|x, y| y.rating.total_cmp(&x.rating).then(x.model.cmp(&y.model)));
    out
}

/// Point estimate only: model name -> rating (mean 1000), no bootstrap.
pub fn fit_strengths(battles: &[Battle], config: &ArenaConfig) -> BTreeMap<String, f64> {
    let (models, indexed) = index_battles(battles);
    let ratings = to_ratings(&fit_log_strengths(models.len(), &indexed, config));
    models.into_iter().zip(ratings).collect()
}

fn index_battles(battles: &[Battle]) -> (Vec<String>, Vec<IndexedBattle>) {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for battle in battles.iter().filter(|b| b.model_a != b.model_b) {
        index.entry(&battle.model_a).or_default();
        index.entry(&battle.model_b).or_default();
    }
    let models: Vec<String> = index.keys().map(|m| (*m).to_owned()).collect();
    for (i, slot) in index.values_mut().enumerate() {
        *slot = i;
    }
    let indexed = battles
        .iter()
        .filter(|b| b.model_a != b.model_b)
        .map(|b| IndexedBattle {
            a: index[b.model_a.as_str()],
            b: index[b.model_b.as_str()],
            score_a: match b.outcome {
                Outcome::AWins => 1.0,
                Outcome::BWins => 0.0,
                Outcome::Tie | Outcome::BothBad => 0.5,
            },
        })
        .collect();
    (models, indexed)
}

fn mean_over(theta: &[f64], present: &[bool]) -> f64 {
    let (sum, count) = theta
        .iter()
        .zip(present)
        .filter(|(_, p)| **p)
        .fold((0.0, 0usize), |(s, c), (t, _)| (s + t, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

fn to_ratings(theta: &[f64]) -> Vec<f64> {
    let mean = mean_over(theta, &vec![true; theta.len()]);
    theta
        .iter()
        .map(|t| ELO_BASE + ELO_SCALE * (t - mean))
        .collect()
}

/// Pairwise sufficient statistics: games and A-side score per ordered pair `i < j`.
struct PairTable {
    n: usize,
    games: Vec<f64>,
    score: Vec<f64>,
}

impl PairTable {
    fn new(n: usize, battles: &[IndexedBattle]) -> Self {
        let mut table = Self {
            n,
            games: vec![0.0; n * n],
            score: vec![0.0; n * n],
        };
        for battle in battles {
            let (i, j, s) = if battle.a < battle.b {
                (battle.a, battle.b, battle.score_a)
            } else {
                (battle.b, battle.a, 1.0 - battle.score_a)
            };
            table.games[i * n + j] += 1.0;
            table.score[i * n + j] += s;
        }
        table
    }

    fn pairs(&self) -> impl Iterator<Item = (usize, usize, f64, f64)> + '_ {
        (0..self.n).flat_map(move |i| {
            (i + 1..self.n).filter_map(move |j| {
                let games = self.games[i * self.n + j];
                (games > 0.0).then(|| (i, j, games, self.score[i * self.n + j]))
            })
        })
    }

    fn log_posterior(&self, theta: &[f64], prior: f64) -> f64 {
        let likelihood: f64 = self
            .pairs()
            .map(|(i, j, games, score)| {
                let d = theta[i] - theta[j];
                // score·ln σ(d) + (games-score)·ln σ(-d), with ln σ(x) = -ln(1 + e^{-x}).
                -score * softplus(-d) - (games - score) * softplus(d)
            })
            .sum();
        likelihood - 0.5 * prior * theta.iter().map(|t| t * t).sum::<f64>()
    }
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Maximum a posteriori natural-log strengths.
fn fit_log_strengths(n: usize, battles: &[IndexedBattle], config: &ArenaConfig) -> Vec<f64> {
    let table = PairTable::new(n, battles);
    let prior = config.prior.max(1e-9);
    let mut theta = vec![0.0; n];
    let mut objective = table.log_posterior(&theta, prior);
    for _ in 0..config.max_iterations {
        // Gradient g and the negated Hessian (positive definite thanks to the prior).
        let mut gradient: Vec<f64> = theta.iter().map(|t| -prior * t).collect();
        let mut curvature = vec![0.0; n * n];
        for i in 0..n {
            curvature[i * n + i] = prior;
        }
        for (i, j, games, score) in table.pairs() {
            let p = sigmoid(theta[i] - theta[j]);
            let residual = score - games * p;
            gradient[i] += residual;
            gradient[j] -= residual;
            let w = games * p * (1.0 - p);
            curvature[i * n + i] += w;
            curvature[j * n + j] += w;
            curvature[i * n + j] -= w;
            curvature[j * n + i] -= w;
        }
        let Some(step) = solve(curvature, gradient, n) else {
            break;
        };
        // Backtracking keeps every step an ascent step, even far from the optimum.
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, d)| t + scale * d)
                .collect();
            let value = table.log_posterior(&candidate, prior);
            if value >= objective - 1e-12 {
                theta = candidate;
                objective = value;
                accepted = true;
                break;
            }
            scale *= 0.5;
        }
        let largest_move = step.iter().fold(0.0f64, |m, d| m.max((scale * d).abs()));
        if !accepted || largest_move < config.tolerance {
            break;
        }
    }
    theta
}

/// Solves `A x = b` by Gaussian elimination with partial pivoting (A is n×n, row-major).
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&r, &s| a[r * n + col].abs().total_cmp(&a[s * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-300 {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            b.swap(pivot, col);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            if factor != 0.0 {
                for k in col..n {
                    a[row * n + k] -= factor * a[col * n + k];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row * n + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn battle(a: &str, b: &str, outcome: Outcome) -> Battle {
        Battle {
            model_a: a.into(),
            model_b: b.into(),
            outcome,
        }
    }

    /// Simulates battles between random distinct pairs under true Elo-scale ratings.
    fn simulate(truth: &[(&str, f64)], count: usize, rng: &mut StdRng) -> Vec<Battle> {
        (0..count)
            .map(|_| {
                let i = rng.random_range(0..truth.len());
                let mut j = rng.random_range(0..truth.len() - 1);
                if j >= i {
                    j += 1;
                }
                let p_a = 1.0 / (1.0 + 10f64.powf((truth[j].1 - truth[i].1) / 400.0));
                let outcome = if rng.random::<f64>() < p_a {
                    Outcome::AWins
                } else {
                    Outcome::BWins
                };
                battle(truth[i].0, truth[j].0, outcome)
            })
            .collect()
    }

    #[test]
    fn recovers_known_ratings_with_covering_intervals() {
        let truth = [
            ("m1200", 1200.0),
            ("m1100", 1100.0),
            ("m1000", 1000.0),
            ("m900", 900.0),
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let battles = simulate(&truth, 4000, &mut rng);
        let ratings = fit_arena(&battles, &ArenaConfig::default(), &mut rng);

        let order: Vec<_> = ratings.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(order, ["m1200", "m1100", "m1000", "m900"]);
        let mean: f64 = ratings.iter().map(|r| r.rating).sum::<f64>() / 4.0;
        assert!((mean - 1000.0).abs() < 1e-6, "mean rating {mean}");
        let spread = ratings[0].rating - ratings[3].rating;
        assert!((spread - 300.0).abs() < 40.0, "spread {spread}");
        // The truth re-centred on the fitted scale (true mean 1050 -> 1000).
        for (rating, (_, true_rating)) in ratings.iter().zip(truth) {
            let centred = true_rating - 50.0;
            assert!(
                rating.ci_low <= centred && centred <= rating.ci_high,
                "{}: [{}, {}] misses {centred}",
                rating.model,
                rating.ci_low,
                rating.ci_high
            );
            assert!(rating.ci_low <= rating.rating && rating.rating <= rating.ci_high);
            assert!(rating.ci_high - rating.ci_low < 80.0, "interval too wide");
            assert!(rating.ranked);
            assert_eq!(rating.battles, rating.wins + rating.losses);
        }
        let total: u64 = ratings.iter().map(|r| r.battles).sum();
        assert_eq!(total, 8000);
    }

    #[test]
    fn a_model_that_never_loses_stays_finite() {
        let mut battles = vec![battle("champion", "a", Outcome::AWins); 50];
        battles.extend(vec![battle("b", "champion", Outcome::BWins); 50]);
        battles.extend(vec![battle("a", "b", Outcome::Tie); 20]);
        let ratings = fit_arena(
            &battles,
            &ArenaConfig::default(),
            &mut StdRng::seed_from_u64(1),
        );
        assert_eq!(ratings[0].model, "champion");
        assert_eq!((ratings[0].wins, ratings[0].losses), (100, 0));
        for r in &ratings {
            assert!(r.rating.is_finite() && r.ci_low.is_finite() && r.ci_high.is_finite());
        }
        assert!(ratings[0].rating > ratings[1].rating + 400.0);
        assert!(ratings[0].rating < 5000.0);
    }

    #[test]
    fn ties_and_both_bad_count_as_half_wins() {
        let battles = vec![
            battle("x", "y", Outcome::Tie),
            battle("x", "y", Outcome::BothBad),
            battle("x", "y", Outcome::AWins),
            battle("y", "x", Outcome::AWins),
        ];
        let config = ArenaConfig {
            bootstrap_rounds: 0,
            ..ArenaConfig::default()
        };
        let ratings = fit_arena(&battles, &config, &mut StdRng::seed_from_u64(1));
        // Each side scored 2 of 4: equal strengths.
        assert!((ratings[0].rating - 1000.0).abs() < 1e-6);
        assert!((ratings[1].rating - 1000.0).abs() < 1e-6);
        assert_eq!(
            (ratings[0].wins, ratings[0].ties, ratings[0].losses),
            (1, 2, 1)
        );
        assert_eq!(ratings[0].ci_low, ratings[0].rating);
        assert!(!ratings[0].ranked, "4 battles < min_votes 10");
    }

    #[test]
    fn maximum_likelihood_matches_the_closed_form_for_two_models() {
        // 30 wins of 40: s_x/s_y = 3 so the gap is 400·log10(3) ≈ 190.8 (prior is tiny).
        let mut battles = vec![battle("x", "y", Outcome::AWins); 30];
        battles.extend(vec![battle("x", "y", Outcome::BWins); 10]);
        let fitted = fit_strengths(&battles, &ArenaConfig::default());
        let gap = fitted["x"] - fitted["y"];
        assert!((gap - 400.0 * 3f64.log10()).abs() < 2.0, "gap {gap}");
    }

    #[test]
    fn min_votes_marks_models_unranked() {
        let mut battles = vec![battle("a", "b", Outcome::AWins); 10];
        battles.extend(vec![battle("b", "a", Outcome::AWins); 10]);
        battles.push(battle("newcomer", "a", Outcome::AWins));
        let config = ArenaConfig {
            min_votes: 5,
            bootstrap_rounds: 20,
            ..ArenaConfig::default()
        };
        let ratings = fit_arena(&battles, &config, &mut StdRng::seed_from_u64(3));
        let newcomer = ratings.iter().find(|r| r.model == "newcomer").unwrap();
        assert!(!newcomer.ranked);
        assert_eq!(newcomer.battles, 1);
        assert!(
            ratings
                .iter()
                .filter(|r| r.model != "newcomer")
                .all(|r| r.ranked)
        );
    }

    #[test]
    fn bootstrap_is_reproducible_with_the_same_seed() {
        let truth = [("a", 1050.0), ("b", 950.0)];
        let battles = simulate(&truth, 300, &mut StdRng::seed_from_u64(11));
        let config = ArenaConfig::default();
        let first = fit_arena(&battles, &config, &mut StdRng::seed_from_u64(5));
        let second = fit_arena(&battles, &config, &mut StdRng::seed_from_u64(5));
        assert_eq!(first, second);
    }

    #[test]
    fn degenerate_inputs() {
        let mut rng = StdRng::seed_from_u64(0);
        assert!(fit_arena(&[], &ArenaConfig::default(), &mut rng).is_empty());
        // A model against itself is no comparison at all.
        let selfie = vec![battle("solo", "solo", Outcome::AWins)];
        assert!(fit_arena(&selfie, &ArenaConfig::default(), &mut rng).is_empty());
        assert!(fit_strengths(&selfie, &ArenaConfig::default()).is_empty());
    }

    #[test]
    fn single_pair_single_battle() {
        let battles = vec![battle("a", "b", Outcome::AWins)];
        let ratings = fit_arena(
            &battles,
            &ArenaConfig::default(),
            &mut StdRng::seed_from_u64(0),
        );
        assert_eq!(ratings.len(), 2);
        assert_eq!(ratings[0].model, "a");
        assert!(ratings.iter().all(|r| r.rating.is_finite()));
        assert!((ratings[0].rating + ratings[1].rating - 2000.0).abs() < 1e-6);
    }
}

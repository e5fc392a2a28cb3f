//! Percentiles by nearest rank, and status counts merged by mapped status.

use super::*;

/// The nearest-rank p50 and p90 of `values` (reordered), `None` when empty.
pub(super) fn p50_p90(values: &mut [f64]) -> (Option<f64>, Option<f64>) {
    let n = i64::try_from(values.len()).unwrap_or(i64::MAX);
    let mut at = |q: f64| {
        let rank = nearest_rank(n, q)?;
        let i = usize::try_from(rank - 1).ok()?;
        Some(*values.select_nth_unstable_by(i, f64::total_cmp).1)
    };
    (at(0.5), at(0.9))
}

/// The 1-based nearest rank of percentile `q` among `n` values.
pub fn nearest_rank(n: i64, q: f64) -> Option<u64> {
    if n <= 0 {
        return None;
    }
    let rank = (q * n as f64).ceil() as i64;
    Some(rank.clamp(1, n) as u64)
}

/// Adds up counts of the same mapped status, keeping first-seen order by
/// category then name.
pub(super) fn merge_statuses(rows: impl IntoIterator<Item = (Mapped, i64)>) -> Vec<StatusCount> {
    let mut map: HashMap<Mapped, i64> = HashMap::new();
    for (m, n) in rows {
        *map.entry(m).or_default() += n;
    }
    let order = |c: &str| {
        crate::incidents::status::CATEGORIES
            .iter()
            .position(|x| *x == c)
            .unwrap_or(99)
    };
    let mut out: Vec<StatusCount> = map
        .into_iter()
        .map(|(m, n)| StatusCount {
            status: m.name,
            category: m.category,
            incidents: n,
        })
        .collect();
    out.sort_by(|a, b| {
        order(&a.category)
            .cmp(&order(&b.category))
            .then(a.status.cmp(&b.status))
    });
    out
}

//! Paging through PagerDuty's lists: time windows under the 10,000-offset
//! cap, the next pages fetched ahead while one is written, and a window's
//! other pages fetched side by side once its first gives the total.

use super::*;

pub(super) fn q(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Splits `[since, until)` into consecutive windows of at most `max`.
pub fn windows(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    max: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start = since;
    while start < until {
        let end = (start + max).min(until);
        out.push((start, end));
        start = end;
    }
    out
}

/// Pages through a time-windowed list, oldest window first, halving any
/// window that holds more than the offset cap allows.
pub(super) struct WindowPager {
    path: String,
    wrapper: &'static str,
    query: Vec<(String, String)>,
    pending: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}
/// Pages on their way from [`WindowPager::prefetch`], read as `T`.
pub(super) struct Prefetched<T>(tokio::sync::mpsc::Receiver<Result<Option<Decoded<T>>, Error>>);

/// A page whose items were read as `T` (by the task that fetched it, off
/// the task that writes): what could not be read is in `skipped`.
pub(super) struct Decoded<T> {
    pub(super) items: Vec<T>,
    pub(super) skipped: Vec<String>,
    pub(super) completes: Option<DateTime<Utc>>,
}

impl<T> Prefetched<T> {
    /// The next page; `None` at the end.
    pub(super) async fn next(&mut self) -> Result<Option<Decoded<T>>, Error> {
        self.0
            .recv()
            .await
            .unwrap_or(Err(Error::FetcherStopped("page")))
    }
}

/// Pages fetched ahead of the one being written.
pub(super) const PREFETCH_PAGES: usize = 4;

/// Requests of one window in flight at once, beyond the pages waiting to be
/// written. PagerDuty answers a window's first page with its total, so the
/// offsets of the rest are known and fetched side by side (each read in a
/// task of its own) instead of one round trip after another; the client's
/// concurrency and rate budget still bound them.
pub(super) const FETCH_AHEAD: usize = 4;

/// One page as fetched and read: its items, whether more follow, and the
/// window's total when asked for.
pub(super) struct Fetched<T> {
    items: Vec<T>,
    skipped: Vec<String>,
    count: u64,
    more: bool,
    total: Option<u64>,
}

/// Fetches one page of a classic list and reads its items as `kind`s.
pub(super) async fn fetch_page<T: serde::de::DeserializeOwned>(
    client: &Client,
    path: &str,
    wrapper: &str,
    query: &[(String, String)],
    offset: u64,
    total: bool,
    kind: &'static str,
) -> Result<Fetched<T>, Error> {
    let page = client
        .page(path, wrapper, query, offset, MAX_LIMIT, total)
        .await?;
    let count = page.items.len() as u64;
    let (items, skipped) = decode_items(kind, page.items);
    Ok(Fetched {
        items,
        skipped,
        count,
        more: page.more,
        total: page.total,
    })
}

impl WindowPager {
    pub(super) fn new(
        path: &str,
        wrapper: &'static str,
        query: Vec<(String, String)>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Self {
        let mut pending = windows(since, until, Duration::days(MAX_WINDOW_DAYS));
        pending.reverse();
        Self {
            path: path.to_owned(),
            wrapper,
            query,
            pending,
        }
    }

    /// Fetches the pages ahead in a task of their own, a few at most, and
    /// reads their items as `kind`s there, so the next pages are on their
    /// way while one is written. Dropping the receiver stops the task. The
    /// last item sent is an error or `None` (the end), so a task that dies
    /// is told apart from one that finished.
    pub(super) fn prefetch<T: serde::de::DeserializeOwned + Send + 'static>(
        self,
        client: &Client,
        kind: &'static str,
    ) -> Prefetched<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(PREFETCH_PAGES);
        let client = client.clone();
        tokio::spawn(async move {
            match self.feed(&client, kind, &tx).await {
                Ok(true) => {
                    let _ = tx.send(Ok(None)).await;
                }
                Ok(false) => {} // the receiver is gone
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        });
        Prefetched(rx)
    }

    /// Sends every page, in order, the window's last one marked with the
    /// window end it completes. Returns `false` when the receiver is gone.
    pub(super) async fn feed<T: serde::de::DeserializeOwned + Send + 'static>(
        mut self,
        client: &Client,
        kind: &'static str,
        tx: &tokio::sync::mpsc::Sender<Result<Option<Decoded<T>>, Error>>,
    ) -> Result<bool, Error> {
        use tokio_util::task::AbortOnDropHandle;
        type Ahead<T> =
            std::collections::VecDeque<(u64, AbortOnDropHandle<Result<Fetched<T>, Error>>)>;
        let path: Arc<str> = Arc::from(self.path.as_str());
        let wrapper = self.wrapper;
        while let Some((since, until)) = self.pending.pop() {
            let mut query = self.query.clone();
            query.push(("since".into(), ts(since)));
            query.push(("until".into(), ts(until)));
            let query = Arc::new(query);
            let mut page = fetch_page::<T>(client, &path, wrapper, &query, 0, true, kind).await?;
            if page.total.unwrap_or(0) > MAX_OFFSET_PLUS_LIMIT
                && until - since > Duration::seconds(2)
            {
                let mid = since + (until - since) / 2;
                // Older half first.
                self.pending.push((mid, until));
                self.pending.push((since, mid));
                continue;
            }
            // Without a total, one page is asked for at a time.
            let total = page.total;
            let mut offset = 0;
            let mut planned = 0;
            let mut ahead: Ahead<T> = Ahead::new();
            loop {
                let next = offset + page.count;
                let done =
                    !page.more || page.count == 0 || next + MAX_LIMIT > MAX_OFFSET_PLUS_LIMIT;
                if done && page.more {
                    tracing::warn!(path = %path, "window still over the offset cap after splitting; some objects may be missed");
                }
                if !done {
                    planned = planned.max(next);
                    let end = total.map_or(next + 1, |t| t.max(next + 1));
                    while ahead.len() < FETCH_AHEAD
                        && planned < end
                        && planned + MAX_LIMIT <= MAX_OFFSET_PLUS_LIMIT
                    {
                        let (client, path, query) = (client.clone(), path.clone(), query.clone());
                        let at = planned;
                        ahead.push_back((
                            at,
                            AbortOnDropHandle::new(tokio::spawn(async move {
                                fetch_page::<T>(&client, &path, wrapper, &query, at, false, kind)
                                    .await
                            })),
                        ));
                        planned += MAX_LIMIT;
                    }
                }
                let decoded = Decoded {
                    items: std::mem::take(&mut page.items),
                    skipped: std::mem::take(&mut page.skipped),
                    completes: done.then_some(until),
                };
                if tx.send(Ok(Some(decoded))).await.is_err() {
                    return Ok(false);
                }
                if done {
                    break;
                }
                // The page at `next`; when a short page moved the offsets
                // (the list changed meanwhile), those planned are dropped
                // and the rest are asked for from there.
                page = match ahead.pop_front() {
                    Some((at, handle)) if at == next => {
                        handle.await.map_err(|_| Error::FetcherStopped("page"))??
                    }
                    _ => {
                        ahead.clear();
                        planned = next;
                        fetch_page::<T>(client, &path, wrapper, &query, next, false, kind).await?
                    }
                };
                offset = next;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    pub(super) async fn a_page_fetcher_that_dies_is_an_error_not_the_end() {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut pages = Prefetched::<()>(rx);
        drop(tx); // as when the task panics: no end marker
        assert!(matches!(
            pages.next().await,
            Err(Error::FetcherStopped("page"))
        ));
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut pages = Prefetched::<()>(rx);
        tx.send(Ok(None)).await.unwrap();
        drop(tx);
        assert!(matches!(pages.next().await, Ok(None)));
    }

    #[test]
    pub(super) fn windows_cover_the_range_without_gaps() {
        let a = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let b = a + Duration::days(400);
        let w = windows(a, b, Duration::days(180));
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0, a);
        assert_eq!(w[2].1, b);
        for pair in w.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        assert!(windows(a, a, Duration::days(1)).is_empty());
    }
}

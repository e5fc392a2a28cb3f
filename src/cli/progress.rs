//! Progress for command-line runs: a progress bar on a terminal, plain log
//! lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::pagerduty::sync::Progress;

/// Picks a bar when stderr is a terminal, log lines otherwise.
pub fn for_cli() -> std::sync::Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        std::sync::Arc::new(Bar {
            bar: Mutex::new(None),
        })
    } else {
        std::sync::Arc::new(Lines {
            phase: Mutex::new(String::new()),
            done: AtomicU64::new(0),
        })
    }
}

struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bar.take() {
            b.finish();
        }
        let b = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{prefix:>16} [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>16} {spinner} {pos} ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        b.set_prefix(name.to_owned());
        *bar = Some(b);
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(n);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish();
        }
    }
}

struct Lines {
    phase: Mutex<String>,
    done: AtomicU64,
}

impl Progress for Lines {
    fn phase(&self, name: &str, total: Option<u64>) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = name.to_owned();
        self.done.store(0, Ordering::Relaxed);
        match total {
            Some(t) => tracing::info!(phase = name, total = t, "sync phase"),
            None => tracing::info!(phase = name, "sync phase"),
        }
    }

    fn advance(&self, n: u64) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        // A line every thousand objects.
        if (before + n) / 1000 > before / 1000 {
            let phase = self.phase.lock().unwrap_or_else(|e| e.into_inner()).clone();
            tracing::info!(phase = %phase, done = before + n, "progress");
        }
    }
}

/// Report progress on the same bar (or log lines) as a sync.
pub struct ReportRows {
    inner: std::sync::Arc<dyn Progress>,
    started: std::sync::atomic::AtomicBool,
    last: AtomicU64,
}

/// Progress for `pagerlens report`.
pub fn for_cli_report() -> ReportRows {
    ReportRows {
        inner: for_cli(),
        started: std::sync::atomic::AtomicBool::new(false),
        last: AtomicU64::new(0),
    }
}

impl crate::reports::Progress for ReportRows {
    fn rows(&self, done: u64, total: u64) {
        if !self.started.swap(true, Ordering::Relaxed) {
            self.inner.phase("rows", Some(total));
        }
        let before = self.last.swap(done, Ordering::Relaxed);
        if done > before {
            self.inner.advance(done - before);
        }
    }
}

//! Progress on stderr for long runs: a bar (bytes, rate, ETA, entries) when stderr is a
//! terminal and `--quiet` is not given; nothing otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::Progress;

/// A terminal progress bar, or nothing.
pub struct TermProgress {
    bar: Option<ProgressBar>,
    noun: &'static str,
}

impl TermProgress {
    /// `total`: bytes expected (None: a spinner). `noun`: what the count counts.
    pub fn new(quiet: bool, total: Option<u64>, noun: &'static str) -> TermProgress {
        if quiet || !std::io::stderr().is_terminal() {
            return TermProgress { bar: None, noun };
        }
        let bar = match total {
            Some(t) => {
                let b = ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(4));
                b.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b
            }
            None => {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
                b.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} {spinner} {bytes} {binary_bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            }
        };
        bar.enable_steady_tick(Duration::from_millis(250));
        TermProgress { bar: Some(bar), noun }
    }

    /// Remove the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for TermProgress {
    fn update(&mut self, bytes: u64, entries: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes);
            b.set_message(format!("{entries} {}", self.noun));
        }
    }

    fn phase(&mut self, name: &str) {
        if let Some(b) = &self.bar {
            b.set_message(name.to_owned());
        }
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

//! What went wrong, as one line on standard error and an exit code a script
//! can tell apart.

use std::fmt::Write as _;
use std::process::ExitCode;

/// The exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Druid refused, failed or answered something unusable: 1.
    Druid,
    /// The command line, the config or an input file is wrong: 2 (as clap).
    Usage,
    /// The cluster could not be reached (connect, TLS, timeout): 3.
    Connection,
    /// Interrupted (Ctrl-C): 130, as a shell reports SIGINT.
    Interrupted,
}

impl Kind {
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::Druid => 1,
            Kind::Usage => 2,
            Kind::Connection => 3,
            Kind::Interrupted => 130,
        }
    }
}

/// A failure of a command: one line, and the detail behind `--verbose`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: Kind,
    pub(crate) message: String,
    pub(crate) detail: Option<String>,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Usage,
            message: message.into(),
            detail: None,
        }
    }

    pub(crate) fn druid(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Druid,
            message: message.into(),
            detail: None,
        }
    }

    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Interrupted,
            message: message.into(),
            detail: None,
        }
    }

    /// Writes the failure to standard error and gives the exit code. The
    /// message is one line and the detail shows Druid's answer: both come
    /// from the network, so their control characters are shown as escapes.
    pub(crate) fn report(&self, verbose: bool) -> ExitCode {
        let mut text = format!("druid: {}", crate::escape::line(&self.message));
        match (&self.detail, verbose) {
            (Some(detail), true) => {
                let _ = write!(text, "\n{}", crate::escape::text(detail));
            }
            (Some(_), false) => text.push_str(" (--verbose for the detail)"),
            (None, _) => {}
        }
        eprintln!("{text}");
        ExitCode::from(self.kind.code())
    }
}

impl From<druid_api::Error> for Failure {
    fn from(error: druid_api::Error) -> Self {
        let kind = if error.is_invalid_input()
            || error.is_read_only()
            || error.is_plaintext_refused()
            || is_config(&error)
        {
            Kind::Usage
        } else if error.api().is_none()
            && (error.is_connect() || error.is_tls() || error.is_timeout())
        {
            Kind::Connection
        } else {
            Kind::Druid
        };
        let detail = detail(&error);
        let mut message = error.to_string();
        if error.is_plaintext_refused() {
            message.push_str(
                " (druid: --allow-plaintext-credentials or \
                 $DRUID_ALLOW_PLAINTEXT_CREDENTIALS; $DRUID_PREFER_TLS=false for plaintext ports)",
            );
        }
        Failure {
            kind,
            message,
            detail: (!detail.is_empty()).then_some(detail),
        }
    }
}

impl From<druid_api::transport::Error> for Failure {
    fn from(error: druid_api::transport::Error) -> Self {
        Failure::from(druid_api::Error::from(error))
    }
}

fn is_config(error: &druid_api::Error) -> bool {
    matches!(
        error
            .transport()
            .map(druid_api::transport::Error::last_attempt),
        Some(druid_api::transport::Error::Config { .. })
    )
}

/// The causes of an error, one per line, and Druid's whole answer.
fn detail(error: &druid_api::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = writeln!(text, "  caused by: {cause}");
        source = cause.source();
    }
    if let Some(api) = error.api() {
        let _ = writeln!(text, "  {} answered {}:", api.url, api.status);
        for line in api.body.lines().take(40) {
            let _ = writeln!(text, "    {line}");
        }
    }
    if error.attempts() > 1 {
        let _ = writeln!(text, "  attempts: {}", error.attempts());
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_distinct_codes() {
        let codes = [
            Kind::Druid,
            Kind::Usage,
            Kind::Connection,
            Kind::Interrupted,
        ]
        .map(Kind::code);
        assert_eq!(codes, [1, 2, 3, 130]);
    }

    #[test]
    fn library_errors_sort_into_kinds() {
        let bad = druid_api::Error::invalid_input("no such column");
        assert_eq!(Failure::from(bad).kind, Kind::Usage);
        let not_found = druid_api::Error::NotFound {
            what: "a Broker".to_owned(),
        };
        let failure = Failure::from(not_found);
        assert_eq!(failure.kind, Kind::Druid);
        assert!(failure.message.contains("Broker"), "{}", failure.message);
    }
}

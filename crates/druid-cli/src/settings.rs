//! Where the connection comes from: the command line, then the environment,
//! then a named profile of the config file, then the defaults. Each value
//! remembers its source, for `druid config`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::args::Connection;
use crate::fail::Failure;

/// The Router (or Broker) of `cargo xtask druid up`, and of Druid's
/// quickstart.
pub(crate) const DEFAULT_URL: &str = "http://localhost:8888";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag(&'static str),
    Env(&'static str),
    Profile(String),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "--{flag}"),
            Source::Env(var) => write!(f, "${var}"),
            Source::Profile(name) => write!(f, "profile {name}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Set<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

/// Where the password is read from; never the password on the command line.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PasswordFrom {
    /// The value of an environment variable (`DRUID_PASSWORD`, or the one a
    /// profile's `password_env` names).
    Env(String, String),
    /// The first line of a file.
    File(PathBuf),
    /// Asked on the terminal.
    Prompt,
}

impl fmt::Debug for PasswordFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordFrom::Env(var, _) => write!(f, "Env({var}, <hidden>)"),
            PasswordFrom::File(path) => write!(f, "File({})", path.display()),
            PasswordFrom::Prompt => f.write_str("Prompt"),
        }
    }
}

/// Everything the connection needs, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) profile: Option<Set<String>>,
    pub(crate) url: Set<String>,
    pub(crate) user: Option<Set<String>>,
    pub(crate) password: Option<Set<PasswordFrom>>,
    pub(crate) ca_cert: Option<Set<PathBuf>>,
    pub(crate) client_cert: Option<Set<PathBuf>>,
    /// Unset: TLS follows the URL's scheme.
    pub(crate) prefer_tls: Option<Set<bool>>,
    pub(crate) allow_plaintext_credentials: Set<bool>,
    pub(crate) port_map: Option<Set<String>>,
    pub(crate) timeout: Option<Set<Duration>>,
    pub(crate) read_only: Set<bool>,
}

/// The config file: named profiles of connection settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// The profile used when none is named.
    pub(crate) default_profile: Option<String>,
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// One profile of the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) url: Option<String>,
    pub(crate) user: Option<String>,
    /// The environment variable that holds the password.
    pub(crate) password_env: Option<String>,
    /// A file whose first line is the password.
    pub(crate) password_file: Option<PathBuf>,
    pub(crate) ca_cert: Option<PathBuf>,
    pub(crate) client_cert: Option<PathBuf>,
    pub(crate) prefer_tls: Option<bool>,
    pub(crate) allow_plaintext_credentials: Option<bool>,
    /// Docker-style `EXTERNAL:INTERNAL` pairs.
    pub(crate) port_map: Option<Vec<String>>,
    /// Seconds, or text like `30s`, `2m`.
    pub(crate) timeout: Option<toml::Value>,
    pub(crate) read_only: Option<bool>,
}

/// The environment, as the resolver sees it (a map in tests).
pub(crate) trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process's environment.
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}

/// The config file's path: `--config`, `$DRUID_CONFIG`, else `druid/config.toml`
/// in the user's config folder.
pub(crate) fn config_path(flag: Option<&Path>, env: &dyn Env) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| env.var("DRUID_CONFIG").map(PathBuf::from))
        .or_else(|| {
            env.var("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(dirs::config_dir)
                .map(|dir| dir.join("druid").join("config.toml"))
        })
}

/// Reads the config file; a missing file at the default place is no file.
pub(crate) fn read_config(path: &Path, must_exist: bool) -> Result<ConfigFile, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(ConfigFile::default());
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map_err(|e| {
        let message = e.message().to_owned();
        Failure::usage(format!("config file {}: {message}", path.display()))
    })
}

/// `30`, `30s`, `500ms`, `2m`, `1h` as a duration.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 30s, 500ms, 2m or 1h"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "{other:?} is not a unit of time; write e.g. 30s, 500ms, 2m or 1h"
            ));
        }
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 * 365.0 {
        return Err(format!(
            "{text:?} is not a usable duration (above 0, under a year)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_bool(var: &str, text: &str) -> Result<bool, Failure> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Failure::usage(format!(
            "${var} is {text:?}; write true or false"
        ))),
    }
}

/// Expands a leading `~/` to the home folder.
fn expand(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => dirs::home_dir().map_or_else(|| path.to_path_buf(), |home| home.join(rest)),
        Err(_) => path.to_path_buf(),
    }
}

/// Picks the first of flag, environment, profile, with its source.
fn first<T>(
    flag: Option<(T, &'static str)>,
    env: Option<(T, &'static str)>,
    profile: Option<(T, &str)>,
) -> Option<Set<T>> {
    if let Some((value, name)) = flag {
        return Some(Set {
            value,
            source: Source::Flag(name),
        });
    }
    if let Some((value, name)) = env {
        return Some(Set {
            value,
            source: Source::Env(name),
        });
    }
    profile.map(|(value, name)| Set {
        value,
        source: Source::Profile(name.to_owned()),
    })
}

/// Resolves the settings from the command line, the environment and the
/// config file.
pub(crate) fn resolve(args: &Connection, env: &dyn Env) -> Result<Settings, Failure> {
    let path = config_path(args.config.as_deref(), env);
    let explicit = args.config.is_some() || env.var("DRUID_CONFIG").is_some();
    let file = match &path {
        Some(path) => read_config(path, explicit)?,
        None => ConfigFile::default(),
    };
    let profile = first(
        args.profile.clone().map(|p| (p, "profile")),
        env.var("DRUID_PROFILE").map(|p| (p, "DRUID_PROFILE")),
        file.default_profile.clone().map(|p| (p, "default_profile")),
    );
    let (profile_name, chosen) = match &profile {
        Some(set) => match file.profiles.get(&set.value) {
            Some(found) => (set.value.clone(), found.clone()),
            None => {
                let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
                let where_ = path
                    .as_ref()
                    .map_or_else(String::new, |p| format!(" in {}", p.display()));
                return Err(Failure::usage(format!(
                    "no profile {:?}{where_} (from {}); known profiles: {}",
                    set.value,
                    set.source,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        },
        None => (String::new(), Profile::default()),
    };
    let name = profile_name.as_str();
    let in_profile = |value: Option<String>| value.map(|v| (v, name));

    let url = first(
        args.url.clone().map(|v| (v, "url")),
        env.var("DRUID_URL").map(|v| (v, "DRUID_URL")),
        in_profile(chosen.url.clone()),
    )
    .unwrap_or(Set {
        value: DEFAULT_URL.to_owned(),
        source: Source::Default,
    });
    refuse_credentials_in(&url)?;
    let user = first(
        args.user.clone().map(|v| (v, "user")),
        env.var("DRUID_USER").map(|v| (v, "DRUID_USER")),
        in_profile(chosen.user.clone()),
    );

    let password = if let Some(file) = &args.password_file {
        Some(Set {
            value: PasswordFrom::File(file.clone()),
            source: Source::Flag("password-file"),
        })
    } else if args.password_prompt {
        Some(Set {
            value: PasswordFrom::Prompt,
            source: Source::Flag("password-prompt"),
        })
    } else if let Some(value) = env.var("DRUID_PASSWORD") {
        Some(Set {
            value: PasswordFrom::Env("DRUID_PASSWORD".to_owned(), value),
            source: Source::Env("DRUID_PASSWORD"),
        })
    } else if let Some(file) = env.var("DRUID_PASSWORD_FILE") {
        Some(Set {
            value: PasswordFrom::File(PathBuf::from(file)),
            source: Source::Env("DRUID_PASSWORD_FILE"),
        })
    } else if let Some(var) = &chosen.password_env {
        let value = env.var(var).ok_or_else(|| {
            Failure::usage(format!(
                "profile {name} reads the password from ${var}, which is not set"
            ))
        })?;
        Some(Set {
            value: PasswordFrom::Env(var.clone(), value),
            source: Source::Profile(name.to_owned()),
        })
    } else {
        chosen.password_file.as_ref().map(|file| Set {
            value: PasswordFrom::File(expand(file)),
            source: Source::Profile(name.to_owned()),
        })
    };

    let path_of = |flag: &Option<PathBuf>,
                   flag_name: &'static str,
                   var: &'static str,
                   from_profile: &Option<PathBuf>| {
        first(
            flag.clone().map(|v| (v, flag_name)),
            env.var(var).map(|v| (PathBuf::from(v), var)),
            from_profile.as_ref().map(|p| (expand(p), name)),
        )
    };
    let ca_cert = path_of(&args.ca_cert, "ca-cert", "DRUID_CA_CERT", &chosen.ca_cert);
    let client_cert = path_of(
        &args.client_cert,
        "client-cert",
        "DRUID_CLIENT_CERT",
        &chosen.client_cert,
    );

    let env_bool = |var: &'static str| -> Result<Option<(bool, &'static str)>, Failure> {
        env.var(var)
            .map(|text| parse_bool(var, &text).map(|b| (b, var)))
            .transpose()
    };
    let prefer_tls = first(
        args.prefer_tls.then_some((true, "prefer-tls")),
        env_bool("DRUID_PREFER_TLS")?,
        chosen.prefer_tls.map(|b| (b, name)),
    );
    let allow_plaintext_credentials = first(
        args.allow_plaintext_credentials
            .then_some((true, "allow-plaintext-credentials")),
        env_bool("DRUID_ALLOW_PLAINTEXT_CREDENTIALS")?,
        chosen.allow_plaintext_credentials.map(|b| (b, name)),
    )
    .unwrap_or(Set {
        value: false,
        source: Source::Default,
    });
    let read_only = first(
        args.read_only.then_some((true, "read-only")),
        env_bool("DRUID_READ_ONLY")?,
        chosen.read_only.map(|b| (b, name)),
    )
    .unwrap_or(Set {
        value: false,
        source: Source::Default,
    });

    let port_map = first(
        (!args.port_map.is_empty()).then(|| (args.port_map.join(","), "port-map")),
        env.var("DRUID_PORT_MAP").map(|v| (v, "DRUID_PORT_MAP")),
        chosen
            .port_map
            .as_ref()
            .map(|pairs| (pairs.join(","), name)),
    );

    let profile_timeout = match &chosen.timeout {
        None => None,
        Some(toml::Value::Integer(secs)) => Some(
            parse_duration(&secs.to_string())
                .map_err(|e| Failure::usage(format!("profile {name}: timeout: {e}")))?,
        ),
        Some(toml::Value::String(text)) => Some(
            parse_duration(text)
                .map_err(|e| Failure::usage(format!("profile {name}: timeout: {e}")))?,
        ),
        Some(other) => {
            return Err(Failure::usage(format!(
                "profile {name}: timeout is {other}; write seconds (30) or text (\"30s\")"
            )));
        }
    };
    let env_timeout = env
        .var("DRUID_TIMEOUT")
        .map(|text| {
            parse_duration(&text)
                .map(|d| (d, "DRUID_TIMEOUT"))
                .map_err(|e| Failure::usage(format!("$DRUID_TIMEOUT: {e}")))
        })
        .transpose()?;
    let timeout = first(
        args.timeout.map(|d| (d, "timeout")),
        env_timeout,
        profile_timeout.map(|d| (d, name)),
    );

    Ok(Settings {
        config_file: path,
        profile,
        url,
        user,
        password,
        ca_cert,
        client_cert,
        prefer_tls,
        allow_plaintext_credentials,
        port_map,
        timeout,
        read_only,
    })
}

/// Refuses a URL with a user or a password inside: a password on the
/// command line is seen by every user of the machine (`ps`) and kept in the
/// shell's history, and one in a config file or the environment is as easy
/// to leak. The message never shows it.
fn refuse_credentials_in(url: &Set<String>) -> Result<(), Failure> {
    let redacted = druid_api::transport::redact_url_text(&url.value);
    if redacted == url.value {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "the URL (from {}) holds a user or password ({redacted}); give the user with --user \
         or $DRUID_USER and the password with $DRUID_PASSWORD, --password-file or \
         --password-prompt",
        url.source
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::Parser as _;

    fn connection(args: &[&str]) -> Connection {
        let mut all = vec!["druid"];
        all.extend_from_slice(args);
        all.push("config");
        crate::args::Cli::try_parse_from(all).unwrap().connection
    }

    fn config(text: &str) -> (tempdir::Dir, String) {
        let dir = tempdir::Dir::new();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_string_lossy().into_owned();
        (dir, path)
    }

    /// A temporary folder, removed on drop.
    mod tempdir {
        use std::path::{Path, PathBuf};
        use std::sync::atomic::{AtomicU32, Ordering};

        pub(crate) struct Dir(PathBuf);
        static NEXT: AtomicU32 = AtomicU32::new(0);

        impl Dir {
            pub(crate) fn new() -> Self {
                let n = NEXT.fetch_add(1, Ordering::SeqCst);
                let path =
                    std::env::temp_dir().join(format!("druid-cli-test-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
            pub(crate) fn path(&self) -> &Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const PROFILES: &str = r#"
default_profile = "local"
[profiles.local]
url = "http://localhost:8888"
[profiles.prod]
url = "https://druid.example.com:9088"
user = "ops"
password_env = "PROD_PW"
ca_cert = "/etc/druid/ca.pem"
prefer_tls = true
port_map = ["8899:8888", "8081:8081"]
timeout = "2m"
read_only = true
"#;

    #[test]
    fn the_command_line_wins_over_the_environment_over_the_profile() {
        let (_dir, path) = config(PROFILES);
        let env: BTreeMap<&str, &str> = [
            ("DRUID_CONFIG", path.as_str()),
            ("DRUID_PROFILE", "prod"),
            ("DRUID_USER", "env-user"),
            ("PROD_PW", "secret"),
        ]
        .into();
        let settings = resolve(&connection(&["--url", "http://flag:1"]), &env).unwrap();
        assert_eq!(settings.url.value, "http://flag:1");
        assert_eq!(settings.url.source, Source::Flag("url"));
        let user = settings.user.unwrap();
        assert_eq!(
            (user.value.as_str(), user.source),
            ("env-user", Source::Env("DRUID_USER"))
        );
        assert_eq!(
            settings.profile.unwrap().source,
            Source::Env("DRUID_PROFILE")
        );
        assert_eq!(
            settings.ca_cert.unwrap().value,
            PathBuf::from("/etc/druid/ca.pem")
        );
        assert_eq!(settings.port_map.unwrap().value, "8899:8888,8081:8081");
        assert_eq!(settings.timeout.unwrap().value, Duration::from_secs(120));
        assert!(settings.read_only.value && settings.prefer_tls.unwrap().value);
        assert_eq!(
            settings.password.unwrap().value,
            PasswordFrom::Env("PROD_PW".to_owned(), "secret".to_owned())
        );
    }

    #[test]
    fn the_default_profile_applies_and_a_flag_picks_another() {
        let (_dir, path) = config(PROFILES);
        let env: BTreeMap<&str, &str> = [("DRUID_CONFIG", path.as_str())].into();
        let settings = resolve(&connection(&[]), &env).unwrap();
        assert_eq!(settings.url.source, Source::Profile("local".to_owned()));
        assert!(!settings.read_only.value);
        let err = resolve(&connection(&["--profile", "prod"]), &env).unwrap_err();
        assert!(
            err.message.contains("$PROD_PW, which is not set"),
            "{}",
            err.message
        );
        let err = resolve(&connection(&["--profile", "staging"]), &env).unwrap_err();
        assert!(
            err.message.contains("no profile \"staging\"")
                && err.message.contains("known profiles: local, prod"),
            "{}",
            err.message
        );
    }

    #[test]
    fn without_anything_the_defaults_apply() {
        let env: BTreeMap<&str, &str> = [("XDG_CONFIG_HOME", "/nonexistent-druid-cli")].into();
        let settings = resolve(&connection(&[]), &env).unwrap();
        assert_eq!(settings.url.value, DEFAULT_URL);
        assert_eq!(settings.url.source, Source::Default);
        assert!(settings.user.is_none() && settings.password.is_none());
        assert_eq!(
            settings.config_file.unwrap(),
            PathBuf::from("/nonexistent-druid-cli/druid/config.toml")
        );
    }

    #[test]
    fn a_bad_config_file_says_where_and_what() {
        let (_dir, path) = config("[profiles.x]\nurll = \"http://a\"\n");
        let env: BTreeMap<&str, &str> = [("DRUID_CONFIG", path.as_str())].into();
        let err = resolve(&connection(&[]), &env).unwrap_err();
        assert!(
            err.message.contains(&path) && err.message.contains("urll"),
            "{}",
            err.message
        );
        let env: BTreeMap<&str, &str> = [("DRUID_CONFIG", "/nonexistent/druid.toml")].into();
        let err = resolve(&connection(&[]), &env).unwrap_err();
        assert!(
            err.message.contains("cannot read the config file"),
            "{}",
            err.message
        );
    }

    #[test]
    fn durations_and_booleans_parse_or_say_why() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration("3 weeks")
                .unwrap_err()
                .contains("not a unit")
        );
        assert!(parse_duration("0").is_err());
        let env: BTreeMap<&str, &str> = [
            ("XDG_CONFIG_HOME", "/nonexistent-druid-cli"),
            ("DRUID_READ_ONLY", "maybe"),
        ]
        .into();
        let err = resolve(&connection(&[]), &env).unwrap_err();
        assert!(
            err.message.contains("$DRUID_READ_ONLY is \"maybe\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_url_with_credentials_is_refused_wherever_it_comes_from() {
        let (_dir, path) = config(
            "default_profile = \"p\"\n[profiles.p]\nurl = \"https://ops:s3cret@druid:9088\"\n",
        );
        let env: BTreeMap<&str, &str> = [("DRUID_CONFIG", path.as_str())].into();
        let err = resolve(&connection(&[]), &env).unwrap_err();
        assert!(err.message.contains("(from profile p)"), "{}", err.message);
        assert!(!err.message.contains("s3cret"), "{}", err.message);
        let err = resolve(&connection(&["--url", "ops:s3cret@host:8888"]), &env).unwrap_err();
        assert!(err.message.contains("(from --url)"), "{}", err.message);
        assert!(!err.message.contains("s3cret"), "{}", err.message);
        assert!(err.message.contains("DRUID_PASSWORD"), "{}", err.message);
        let env: BTreeMap<&str, &str> = [
            ("XDG_CONFIG_HOME", "/nonexistent-druid-cli"),
            ("DRUID_URL", "http://u:p@h:1"),
        ]
        .into();
        assert!(resolve(&connection(&[]), &env).is_err());
    }

    #[test]
    fn tls_follows_the_url_unless_set_and_plaintext_credentials_are_opt_in() {
        let env: BTreeMap<&str, &str> = [("XDG_CONFIG_HOME", "/nonexistent-druid-cli")].into();
        let settings = resolve(&connection(&["--url", "https://druid:9088"]), &env).unwrap();
        assert!(settings.prefer_tls.is_none());
        assert!(!settings.allow_plaintext_credentials.value);
        let env: BTreeMap<&str, &str> = [
            ("XDG_CONFIG_HOME", "/nonexistent-druid-cli"),
            ("DRUID_PREFER_TLS", "false"),
            ("DRUID_ALLOW_PLAINTEXT_CREDENTIALS", "true"),
        ]
        .into();
        let settings = resolve(&connection(&[]), &env).unwrap();
        assert!(!settings.prefer_tls.unwrap().value);
        assert_eq!(
            settings.allow_plaintext_credentials.source,
            Source::Env("DRUID_ALLOW_PLAINTEXT_CREDENTIALS")
        );
        let (_dir, path) =
            config("default_profile = \"p\"\n[profiles.p]\ntimeout = 999999999999\n");
        let env: BTreeMap<&str, &str> = [("DRUID_CONFIG", path.as_str())].into();
        let err = resolve(&connection(&[]), &env).unwrap_err();
        assert!(err.message.contains("under a year"), "{}", err.message);
    }

    #[test]
    fn a_password_never_shows_in_debug() {
        let from = PasswordFrom::Env("DRUID_PASSWORD".to_owned(), "hunter2".to_owned());
        assert!(!format!("{from:?}").contains("hunter2"));
    }
}

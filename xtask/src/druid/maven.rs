//! Assembling a Druid distribution (`lib/` + `extensions/`) from Maven Central with a
//! throw-away pom, cached per version.
//!
//! Environment:
//! - `MAVEN_CENTRAL_URL`: the one mirror every repository is redirected to
//!   (default <https://repo.maven.apache.org/maven2>);
//! - `DRUID_M2_REPO`: the local repository (`-Dmaven.repo.local`; default: Maven's own,
//!   `~/.m2/repository`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::gates::Clock;
use super::layout::Layout;

/// The default of `MAVEN_CENTRAL_URL`.
pub(crate) const DEFAULT_CENTRAL_URL: &str = "https://repo.maven.apache.org/maven2";

/// The dependency plugin used for `copy-dependencies` and `copy`.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/// Jars that must be in `lib/` for the cluster to start at all.
const REQUIRED_JARS: [&str; 11] = [
    "druid-services",
    "druid-server",
    "druid-processing",
    "druid-sql",
    "druid-indexing-service",
    "zookeeper",
    "zookeeper-jute",
    "derby",
    "derbynet",
    "derbyclient",
    "log4j-jul",
];

/// The major version of a Druid version string (`27` for `27.0.0`).
pub(crate) fn major(version: &str) -> Result<u32, String> {
    let valid = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let major = version.split('.').next().and_then(|m| m.parse().ok());
    match major {
        Some(major) if valid => Ok(major),
        _ => Err(format!(
            "not a Druid version: {version:?} (expected something like 27.0.0)"
        )),
    }
}

/// One extension, copied into `extensions/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extension {
    /// The artifact id under `org.apache.druid.extensions`, also the directory name.
    pub(crate) name: &'static str,
    /// The artifact version (usually the Druid version).
    pub(crate) version: String,
}

/// Everything that has to be downloaded for one Druid version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Artifacts {
    /// The Druid version (`org.apache.druid:druid-services:<version>`).
    pub(crate) version: String,
    /// The version of `druid-indexing-hadoop` put on the class path.
    pub(crate) indexing_hadoop_version: String,
    /// The extensions to copy.
    pub(crate) extensions: Vec<Extension>,
}

impl Artifacts {
    /// The artifacts for `version`, with the pins this mirror needs: the core, MSQ while it
    /// is an extension (before 35) unless `msq` is off, and for the `secure` profile the
    /// security extensions and the catalog (the profile CI runs, so that the basic-security
    /// and catalog APIs are proven against a real cluster). Only what is loaded is downloaded.
    pub(crate) fn for_version(version: &str, secure: bool, msq: bool) -> Result<Self, String> {
        let major = major(version)?;
        // druid-indexing-hadoop:<V> must be on the class path: Airline reflects on the fields
        // of CliInternalHadoopIndexer at startup (NoClassDefFoundError otherwise), but only
        // as class definitions, Hadoop itself is never needed. 27.0.0 is 404 on the mirror,
        // so the 28.0.0 jar (the same 12 referenced classes) is used, without its own deps.
        let indexing_hadoop_version = match version {
            "27.0.0" => "28.0.0".to_owned(),
            other => other.to_owned(),
        };
        let extension = |name, version: &str| Extension {
            name,
            version: version.to_owned(),
        };
        // Each extension is a single jar (all its deps are "provided"). Before 35 MSQ is an
        // extension, from 35 on it is core. simple-client-sslcontext exists on the mirror
        // only as 0.17.1/0.20.0/0.23.0 before 35; the 0.23.0 jar links against 27 and works.
        let mut extensions = Vec::new();
        if msq && major < 35 {
            extensions.push(extension("druid-multi-stage-query", version));
        }
        if secure {
            let sslcontext = if major < 35 { "0.23.0" } else { version };
            extensions.extend([
                extension("druid-basic-security", version),
                extension("simple-client-sslcontext", sslcontext),
                extension("druid-catalog", version),
            ]);
        }
        Ok(Artifacts {
            version: version.to_owned(),
            indexing_hadoop_version,
            extensions,
        })
    }

    /// `druid.extensions.loadList`: every extension downloaded, as a JSON list.
    pub(crate) fn load_list(&self) -> String {
        let names: Vec<&str> = self.extensions.iter().map(|e| e.name).collect();
        serde_json::Value::from(names).to_string()
    }

    /// The content of the `.complete` marker: a warm start skips Maven only if it matches.
    pub(crate) fn stamp(&self) -> String {
        let extensions: Vec<String> = self
            .extensions
            .iter()
            .map(|e| format!("{}:{}", e.name, e.version))
            .collect();
        format!(
            "druid={} indexing-hadoop={} extensions={}",
            self.version,
            self.indexing_hadoop_version,
            extensions.join(" ")
        )
    }
}

/// `settings.xml`: one mirror for `*`, so that the repositories declared in Druid's poms (e.g.
/// repository.mulesoft.org for sigar) are never contacted; a missing artifact is then a plain
/// "Could not find artifact" instead of an "Unknown host" failure.
pub(crate) fn settings_xml(central_url: &str) -> String {
    format!(
        r#"<settings>
  <mirrors>
    <mirror>
      <id>central-only</id>
      <mirrorOf>*</mirrorOf>
      <url>{central_url}</url>
    </mirror>
  </mirrors>
</settings>
"#
    )
}

/// The throw-away pom whose runtime closure is `lib/`.
pub(crate) fn pom_xml(artifacts: &Artifacts) -> String {
    const TEMPLATE: &str = r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.it</groupId>
  <artifactId>druid-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties>
    <druid.version>@DRUID_VERSION@</druid.version>
    <druid.indexing.hadoop.version>@INDEXING_HADOOP_VERSION@</druid.indexing.hadoop.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <!-- Druid's root pom as a BOM: same third-party versions as the release's lib/ -->
      <dependency>
        <groupId>org.apache.druid</groupId>
        <artifactId>druid</artifactId>
        <version>${druid.version}</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.druid</groupId>
      <artifactId>druid-services</artifactId>
      <version>${druid.version}</version>
      <exclusions>
        <!-- sigar is not on Central (only used by the deprecated SysMonitor) -->
        <exclusion><groupId>org.hyperic</groupId><artifactId>*</artifactId></exclusion>
        <!-- replaced by the explicit dependency below -->
        <exclusion><groupId>org.apache.druid</groupId><artifactId>druid-indexing-hadoop</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <!-- only its classes are needed (CLI start-up reflects on them); @PIN_NOTE@ -->
      <groupId>org.apache.druid</groupId>
      <artifactId>druid-indexing-hadoop</artifactId>
      <version>${druid.indexing.hadoop.version}</version>
      <exclusions>
        <!-- its deps are druid-server/processing (already present) + hadoop (provided) -->
        <exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
"#;
    let pin_note = if artifacts.indexing_hadoop_version == artifacts.version {
        "same version as Druid".to_owned()
    } else {
        format!("pinned: {} is not on the mirror", artifacts.version)
    };
    TEMPLATE
        .replace("@DRUID_VERSION@", &artifacts.version)
        .replace(
            "@INDEXING_HADOOP_VERSION@",
            &artifacts.indexing_hadoop_version,
        )
        .replace("@PIN_NOTE@", &pin_note)
}

/// How Maven is invoked.
#[derive(Debug, Clone)]
pub(crate) struct Maven {
    /// The mirror URL written into `settings.xml`.
    pub(crate) central_url: String,
    /// `-Dmaven.repo.local`, if set.
    pub(crate) repo_local: Option<PathBuf>,
}

impl Maven {
    /// From the environment (`MAVEN_CENTRAL_URL`, `DRUID_M2_REPO`).
    pub(crate) fn from_env() -> Self {
        let non_empty = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Maven {
            central_url: non_empty("MAVEN_CENTRAL_URL")
                .unwrap_or_else(|| DEFAULT_CENTRAL_URL.to_owned()),
            repo_local: non_empty("DRUID_M2_REPO").map(PathBuf::from),
        }
    }

    /// Runs `mvn -B -ntp -s settings.xml [-Dmaven.repo.local=...] -f pom.xml <args>`, output
    /// into `log`. On failure, the error names the goal and shows the ERROR lines of the log.
    fn run(&self, build: &Path, args: &[String], log: &Path) -> Result<(), String> {
        let log_file =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| format!("cannot reopen {}: {e}", log.display()))?;
        let mut command = Command::new("mvn");
        command
            .args(["-B", "-ntp", "-s"])
            .arg(build.join("settings.xml"))
            .arg("-f")
            .arg(build.join("pom.xml"));
        if let Some(repo) = &self.repo_local {
            command.arg(format!("-Dmaven.repo.local={}", repo.display()));
        }
        let status = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .status()
            .map_err(|e| format!("cannot run mvn (is Maven installed and on PATH?): {e}"))?;
        if status.success() {
            return Ok(());
        }
        let text = fs::read_to_string(log).unwrap_or_default();
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .take(30)
            .collect();
        Err(format!(
            "mvn {} failed ({status}); full log: {}\n{}",
            args.first().map(String::as_str).unwrap_or_default(),
            log.display(),
            errors.join("\n")
        ))
    }
}

/// Makes sure `<state>/dist/<version>/` holds `lib/` and `extensions/`, running Maven only
/// if the version-stamped marker is missing or different. Returns the dist directory.
pub(crate) fn ensure_dist(
    layout: &Layout,
    artifacts: &Artifacts,
    maven: &Maven,
    clock: &Clock,
) -> Result<PathBuf, String> {
    let dist = layout.dist(&artifacts.version);
    let marker = dist.join(".complete");
    let stamp = artifacts.stamp();
    if fs::read_to_string(&marker).is_ok_and(|found| found.trim() == stamp) {
        clock.say(format!(
            "maven: {} matches ({stamp}), skipping Maven",
            marker.display()
        ));
        check_lib(&dist.join("lib"))?;
        return Ok(dist);
    }

    let build = layout.build(&artifacts.version);
    fs::create_dir_all(&build).map_err(|e| format!("cannot create {}: {e}", build.display()))?;
    write(
        &build.join("settings.xml"),
        &settings_xml(&maven.central_url),
    )?;
    write(&build.join("pom.xml"), &pom_xml(artifacts))?;
    for stale in [dist.join("lib"), dist.join("extensions"), marker.clone()] {
        remove(&stale)?;
    }
    let repo = maven
        .repo_local
        .as_ref()
        .map_or_else(|| "Maven's default".to_owned(), |r| r.display().to_string());
    clock.say(format!(
        "maven: resolving Druid {} into {} (local repository: {repo}, mirror: {})",
        artifacts.version,
        dist.display(),
        maven.central_url
    ));
    let started = Instant::now();

    let lib = dist.join("lib");
    maven.run(
        &build,
        &[
            format!("{DEPENDENCY_PLUGIN}:copy-dependencies"),
            "-DincludeScope=runtime".to_owned(),
            format!("-DoutputDirectory={}", lib.display()),
        ],
        &build.join("mvn-lib.log"),
    )?;
    clock.say(format!(
        "maven: lib/ done in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    for extension in &artifacts.extensions {
        let target = dist.join("extensions").join(extension.name);
        maven.run(
            &build,
            &[
                format!("{DEPENDENCY_PLUGIN}:copy"),
                format!(
                    "-Dartifact=org.apache.druid.extensions:{}:{}",
                    extension.name, extension.version
                ),
                format!("-DoutputDirectory={}", target.display()),
            ],
            &build.join(format!("mvn-ext-{}.log", extension.name)),
        )?;
    }
    let (jars, bytes) = check_lib(&lib)?;
    clock.say(format!(
        "maven: done in {:.1}s; lib/ = {jars} jars, {:.1} MiB; {} extensions",
        started.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0),
        artifacts.extensions.len()
    ));
    write(&marker, &format!("{stamp}\n"))?;
    Ok(dist)
}

/// Sanity check of `lib/`: every required jar is present. Returns (jar count, total bytes).
pub(crate) fn check_lib(lib: &Path) -> Result<(usize, u64), String> {
    let entries = fs::read_dir(lib).map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
    let mut names = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jar") {
            bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            names.push(name);
        }
    }
    let missing: Vec<&str> = REQUIRED_JARS
        .into_iter()
        .filter(|jar| !names.iter().any(|name| is_jar_of(name, jar)))
        .collect();
    if missing.is_empty() {
        Ok((names.len(), bytes))
    } else {
        Err(format!(
            "{} is incomplete: no jar for {}; delete {} to force a new download",
            lib.display(),
            missing.join(", "),
            lib.parent().unwrap_or(lib).join(".complete").display()
        ))
    }
}

/// Whether `file` is `<artifact>-<digit>...jar` (so `zookeeper` does not match
/// `zookeeper-jute-3.5.10.jar`).
fn is_jar_of(file: &str, artifact: &str) -> bool {
    file.strip_prefix(artifact)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| {
            rest.starts_with(|c: char| c.is_ascii_digit()) && rest.ends_with(".jar")
        })
}

/// Writes a file, with the path in the error.
fn write(path: &Path, content: &str) -> Result<(), String> {
    fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Removes a file or a directory tree if it exists.
fn remove(path: &Path) -> Result<(), String> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else if path.exists() {
        fs::remove_file(path)
    } else {
        Ok(())
    };
    result.map_err(|e| format!("cannot remove {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_27_pins_indexing_hadoop_to_28() {
        let a = Artifacts::for_version("27.0.0", true, true).unwrap();
        assert_eq!(a.indexing_hadoop_version, "28.0.0");
        let pom = pom_xml(&a);
        assert!(pom.contains("<druid.version>27.0.0</druid.version>"));
        assert!(
            pom.contains("<druid.indexing.hadoop.version>28.0.0</druid.indexing.hadoop.version>")
        );
        assert!(pom.contains("pinned: 27.0.0 is not on the mirror"));
        assert!(pom.contains("<groupId>org.hyperic</groupId><artifactId>*</artifactId>"));
        assert!(pom.contains("<scope>import</scope>"));
        assert!(!pom.contains('@'), "unfilled placeholder in\n{pom}");
    }

    #[test]
    fn other_versions_use_their_own_indexing_hadoop() {
        for version in ["28.0.0", "33.0.0", "35.0.1"] {
            let a = Artifacts::for_version(version, true, true).unwrap();
            assert_eq!(a.indexing_hadoop_version, version);
            let pom = pom_xml(&a);
            assert!(pom.contains(&format!(
                "<druid.indexing.hadoop.version>{version}</druid.indexing.hadoop.version>"
            )));
            assert!(pom.contains("same version as Druid"));
        }
    }

    #[test]
    fn only_the_loaded_extensions_are_downloaded() {
        let names = |v, secure, msq| -> Vec<&str> {
            Artifacts::for_version(v, secure, msq)
                .unwrap()
                .extensions
                .iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names("27.0.0", false, true), ["druid-multi-stage-query"]);
        assert_eq!(names("34.0.0", false, true), ["druid-multi-stage-query"]);
        assert!(
            names("35.0.1", false, true).is_empty(),
            "MSQ is core from 35"
        );
        assert!(names("33.0.0", false, false).is_empty());
        assert_eq!(
            names("33.0.0", true, false),
            [
                "druid-basic-security",
                "simple-client-sslcontext",
                "druid-catalog"
            ]
        );
        let a = Artifacts::for_version("27.0.0", true, true).unwrap();
        assert_eq!(
            a.stamp(),
            "druid=27.0.0 indexing-hadoop=28.0.0 extensions=druid-multi-stage-query:27.0.0 \
             druid-basic-security:27.0.0 simple-client-sslcontext:0.23.0 druid-catalog:27.0.0"
        );
        assert_eq!(
            a.load_list(),
            r#"["druid-multi-stage-query","druid-basic-security","simple-client-sslcontext","druid-catalog"]"#
        );
        assert_eq!(
            Artifacts::for_version("33.0.0", false, false)
                .unwrap()
                .load_list(),
            "[]"
        );
        let newest = Artifacts::for_version("36.0.0", true, true).unwrap();
        assert_eq!(newest.extensions[1].version, "36.0.0");
    }

    #[test]
    fn settings_mirror_everything_to_the_given_url() {
        let s = settings_xml("http://mirror.example/maven2");
        assert!(s.contains("<mirrorOf>*</mirrorOf>"));
        assert!(s.contains("<url>http://mirror.example/maven2</url>"));
    }

    #[test]
    fn bad_versions_are_rejected() {
        assert_eq!(major("27.0.0"), Ok(27));
        assert!(major("").is_err());
        assert!(major("latest").is_err());
        assert!(major("27.0.0</version>").is_err());
    }

    #[test]
    fn jar_names_match_exactly() {
        assert!(is_jar_of("zookeeper-3.5.10.jar", "zookeeper"));
        assert!(!is_jar_of("zookeeper-jute-3.5.10.jar", "zookeeper"));
        assert!(is_jar_of("zookeeper-jute-3.5.10.jar", "zookeeper-jute"));
        assert!(!is_jar_of("derbynet-10.14.2.0.jar", "derby"));
    }
}

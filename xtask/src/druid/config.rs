//! The cluster's `conf/` directory and the JVM command lines.
//!
//! The templates below read like the heredocs of the original bash recipe: `${NAME}` is
//! substituted by [`fill`], everything else is literal.

use std::fs;
use std::path::{Path, PathBuf};

use super::layout::{Layout, Ports, Service, Worker};

/// Password of the `admin` user in the secure profile.
pub(crate) const ADMIN_PASSWORD: &str = "admin-pw";
/// Password of the internal `druid_system` user (the escalator) in the secure profile.
pub(crate) const SYSTEM_PASSWORD: &str = "system-pw";
/// Password of the PKCS12 key and trust stores.
pub(crate) const TLS_PASSWORD: &str = "changeit";

/// Everything the configuration depends on.
#[derive(Debug, Clone)]
pub(crate) struct ConfParams<'a> {
    /// The state directory layout.
    pub(crate) layout: &'a Layout,
    /// The distribution directory (`lib/`, `extensions/`).
    pub(crate) dist: &'a Path,
    /// `druid.extensions.loadList`, a JSON list (from [`super::maven::Artifacts::load_list`]).
    pub(crate) load_list: &'a str,
    /// The (shifted) ports.
    pub(crate) ports: Ports,
    /// Which worker runs tasks.
    pub(crate) worker: Worker,
    /// TLS + basic auth.
    pub(crate) secure: bool,
    /// A second Coordinator-Overlord (`coordinator-2`).
    pub(crate) ha: bool,
    /// The `java` binary (the MiddleManager forks peons with it).
    pub(crate) java: &'a Path,
}

const COMMON: &str = r#"druid.extensions.directory=${DIST}/extensions
druid.extensions.loadList=${LOAD_LIST}
druid.host=localhost
druid.startup.logging.logProperties=true
druid.zk.service.host=localhost:${ZK_PORT}
druid.zk.paths.base=/druid
druid.metadata.storage.type=derby
${DERBY_NOTE}druid.metadata.storage.connector.connectURI=jdbc:derby://localhost:${DERBY_PORT}/var/druid/metadata.db;create=true
druid.metadata.storage.connector.host=localhost
druid.metadata.storage.connector.port=${COORDINATOR_DERBY_PORT}
druid.storage.type=local
druid.storage.storageDirectory=var/druid/segments
druid.indexer.logs.type=file
druid.indexer.logs.directory=var/druid/indexing-logs
druid.selectors.indexing.serviceName=druid/overlord
druid.selectors.coordinator.serviceName=druid/coordinator
# sigar is excluded from lib/: SysMonitor/JvmCpuMonitor would fail, so no monitors at all
druid.monitoring.monitors=[]
druid.emitter=noop
druid.sql.enable=true
druid.lookup.enableLookupSyncOnStartup=false
druid.sql.planner.metadataRefreshPeriod=PT5S
druid.indexing.doubleStorage=double
# default 0 => Jetty's own 30 s stop timeout; the Indexer always has an open long-poll
# from the Overlord, so without this SIGTERM takes ~30 s on the Indexer
druid.server.http.gracefulShutdownTimeout=PT1S
# druid.processing.* is deliberately not here but in broker/historical/indexer: the Router
# logs an ERROR for numMergeBuffers ("configured, that is ignored on Router")
"#;

/// The query-processing settings, only for the services that process queries.
const PROCESSING: &str = "druid.processing.numThreads=1
druid.processing.numMergeBuffers=2
druid.processing.buffer.sizeBytes=50MiB";

const LOG4J2: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} %p [%t] %c - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="Console"/></Root>
    <Logger name="org.apache.druid.server.QueryLifecycle" level="info" additivity="false"><AppenderRef ref="Console"/></Logger>
    <Logger name="org.apache.zookeeper" level="warn" additivity="false"><AppenderRef ref="Console"/></Logger>
    <Logger name="org.apache.curator" level="warn" additivity="false"><AppenderRef ref="Console"/></Logger>
  </Loggers>
</Configuration>
"#;

const ZOO_CFG: &str = "tickTime=2000
dataDir=${VAR}/zk
clientPortAddress=127.0.0.1
clientPort=${ZK_PORT}
initLimit=5
syncLimit=2
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,srvr
";

/// Both Coordinator-Overlords (`${PORT}` and `${OWN_DERBY_PORT}` are each one's own).
const COORDINATOR: &str = "druid.service=druid/coordinator
druid.plaintextPort=${PORT}
# where this Coordinator's own Derby server listens (see common.runtime.properties)
druid.metadata.storage.connector.port=${OWN_DERBY_PORT}
druid.coordinator.startDelay=PT10S
druid.coordinator.period=PT5S
druid.manager.segments.pollDuration=PT5S
druid.coordinator.asOverlord.enabled=true
druid.coordinator.asOverlord.overlordService=druid/overlord
druid.indexer.queue.startDelay=PT5S
druid.indexer.runner.type=httpRemote
druid.indexer.storage.type=metadata
# how often the Coordinator pushes lookups to the nodes, ms (default 120000): new lookups
# would take up to two minutes to load
druid.manager.lookups.period=5000
";

/// Derby's network server (`--ha` only) takes its settings on the command line
/// (`NetworkServerControl start -h localhost -p <port>`); this file only says so.
const DERBY: &str = "# Derby's network server, the metadata store (its own JVM; started with
# NetworkServerControl start -h localhost -p <port>, the values below)
derby.drda.host=localhost
derby.drda.portNumber=${DERBY_PORT}
";

const BROKER: &str = "${PROCESSING}
druid.service=druid/broker
druid.plaintextPort=${BROKER_PORT}
druid.server.http.numThreads=6
druid.broker.http.numConnections=5
druid.processing.tmpDir=var/druid/processing
druid.broker.cache.useCache=false
druid.broker.cache.populateCache=false
";

const HISTORICAL: &str = r#"${PROCESSING}
druid.service=druid/historical
druid.plaintextPort=${HISTORICAL_PORT}
druid.server.http.numThreads=6
druid.segmentCache.locations=[{"path":"var/druid/segment-cache","maxSize":10000000000}]
# explicit, equal to the cache location size
druid.server.maxSize=10000000000
druid.processing.tmpDir=var/druid/processing
"#;

const INDEXER: &str = r#"${PROCESSING}
druid.service=druid/indexer
druid.plaintextPort=${WORKER_PORT}
druid.worker.capacity=3
druid.worker.baseTaskDirs=["var/druid/task"]
druid.server.http.numThreads=12
druid.processing.tmpDir=var/druid/processing
# default PT5M: a running task would hold up the shutdown for minutes
druid.indexer.task.gracefulShutdownTimeout=PT5S
"#;

const MIDDLE_MANAGER: &str = r#"druid.service=druid/middleManager
druid.plaintextPort=${WORKER_PORT}
druid.worker.capacity=2
druid.worker.baseTaskDirs=["var/druid/task"]
druid.server.http.numThreads=6
# peons get ports from here on (shifted with the other ports)
druid.indexer.runner.startPort=${PEON_START_PORT}
druid.indexer.runner.javaCommand=${JAVA}
# Druid >= 27 adds the Java 17 --add-opens/--add-exports flags to peons by itself
druid.indexer.runner.javaOptsArray=["-server","-Xms256m","-Xmx768m","-XX:MaxDirectMemorySize=256m","-Duser.timezone=UTC","-Dfile.encoding=UTF-8","-XX:+ExitOnOutOfMemoryError","-Djava.io.tmpdir=var/tmp","-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager","-Dlog4j.configurationFile=${CONF}/_common/log4j2.xml"]
druid.indexer.fork.property.druid.processing.numThreads=1
druid.indexer.fork.property.druid.processing.numMergeBuffers=2
druid.indexer.fork.property.druid.processing.buffer.sizeBytes=25MiB
druid.indexer.fork.property.druid.processing.tmpDir=var/druid/processing
druid.indexer.task.gracefulShutdownTimeout=PT5S
"#;

const ROUTER: &str = "druid.service=druid/router
druid.plaintextPort=${ROUTER_PORT}
druid.router.defaultBrokerServiceName=druid/broker
druid.router.coordinatorServiceName=druid/coordinator
druid.router.managementProxy.enabled=true
druid.router.http.numConnections=10
druid.server.http.numThreads=10
";

/// Appended to the common properties by `--secure`.
const SECURE_COMMON: &str = r#"# ---- --secure: TLS (plaintext kept for probes) ----
druid.enableTlsPort=true
druid.enablePlaintextPort=true
druid.server.https.keyStoreType=PKCS12
druid.server.https.keyStorePath=${TLS}/server.p12
druid.server.https.keyStorePassword=${TLS_PASSWORD}
druid.server.https.certAlias=druid
druid.server.https.keyManagerPassword=${TLS_PASSWORD}
druid.client.https.protocol=TLSv1.2
druid.client.https.trustStoreType=PKCS12
druid.client.https.trustStorePath=${TLS}/truststore.p12
druid.client.https.trustStorePassword=${TLS_PASSWORD}
# ---- --secure: basic auth ----
druid.auth.authenticatorChain=["basic"]
druid.auth.authenticator.basic.type=basic
druid.auth.authenticator.basic.initialAdminPassword=${ADMIN_PASSWORD}
druid.auth.authenticator.basic.initialInternalClientPassword=${SYSTEM_PASSWORD}
druid.auth.authenticator.basic.credentialsValidator.type=metadata
druid.auth.authenticator.basic.skipOnFailure=false
druid.auth.authenticator.basic.authorizerName=basic
druid.escalator.type=basic
druid.escalator.internalClientUsername=druid_system
druid.escalator.internalClientPassword=${SYSTEM_PASSWORD}
druid.escalator.authorizerName=basic
druid.auth.authorizers=["basic"]
druid.auth.authorizer.basic.type=basic
"#;

/// Replaces every `${NAME}` of `template` with its value from `vars`.
///
/// Unknown names are left as they are (a unit test checks that no `${` survives).
pub(crate) fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    out
}

/// The comment above the metadata store settings.
fn derby_note(ha: bool) -> &'static str {
    if ha {
        "# the metadata store: Derby's network server, its own JVM (conf/derby, --ha)
# host:port below is NOT the metadata store: Druid's Derby module starts a Derby server of its
# own in every Coordinator there, and its graceful stop sends Derby's shutdown command there. So
# each Coordinator gets an idle port of its own (coordinator-2 overrides it), and stopping a
# Coordinator never stops the metadata store the other one uses
"
    } else {
        "# the metadata store: the Derby network server the Coordinator starts on host:port
"
    }
}

/// Where a Coordinator's own Derby network server listens: the metadata store itself with one
/// Coordinator, an idle port of its own with `--ha` (see [`derby_note`]).
fn coordinator_derby_port(p: &ConfParams<'_>, service: Service) -> u16 {
    match (p.ha, service) {
        (false, _) => p.ports.derby,
        (true, Service::Coordinator2) => p.ports.coordinator2_derby,
        (true, _) => p.ports.coordinator_derby,
    }
}

/// Every file of `conf/` (path relative to `conf/`, content).
pub(crate) fn render(p: &ConfParams<'_>) -> Vec<(PathBuf, String)> {
    let conf = p.layout.conf();
    let vars = [
        ("DIST", p.dist.display().to_string()),
        ("CONF", conf.display().to_string()),
        ("VAR", p.layout.var().display().to_string()),
        ("TLS", p.layout.tls().display().to_string()),
        ("JAVA", p.java.display().to_string()),
        ("LOAD_LIST", p.load_list.to_owned()),
        ("PROCESSING", PROCESSING.to_owned()),
        ("ZK_PORT", p.ports.zookeeper.to_string()),
        ("DERBY_PORT", p.ports.derby.to_string()),
        ("DERBY_NOTE", derby_note(p.ha).to_owned()),
        (
            "COORDINATOR_DERBY_PORT",
            coordinator_derby_port(p, Service::Coordinator).to_string(),
        ),
        ("BROKER_PORT", p.ports.broker.to_string()),
        ("HISTORICAL_PORT", p.ports.historical.to_string()),
        ("WORKER_PORT", p.ports.worker.to_string()),
        ("ROUTER_PORT", p.ports.router.to_string()),
        ("PEON_START_PORT", p.ports.peon_start.to_string()),
        ("TLS_PASSWORD", TLS_PASSWORD.to_owned()),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
        ("SYSTEM_PASSWORD", SYSTEM_PASSWORD.to_owned()),
    ];

    let mut common = fill(COMMON, &vars);
    if p.secure {
        common.push_str(&fill(SECURE_COMMON, &vars));
    }
    let mut files = vec![
        (PathBuf::from("_common/common.runtime.properties"), common),
        (PathBuf::from("_common/log4j2.xml"), LOG4J2.to_owned()),
        (PathBuf::from("zk/zoo.cfg"), fill(ZOO_CFG, &vars)),
    ];
    let mut coordinators = vec![Service::Coordinator];
    if p.ha {
        files.push((PathBuf::from("derby/server.properties"), fill(DERBY, &vars)));
        coordinators.push(Service::Coordinator2);
    }
    let mut services: Vec<(Service, String)> = coordinators
        .into_iter()
        .map(|service| {
            let own = [
                ("PORT", p.ports.plaintext(service).to_string()),
                (
                    "OWN_DERBY_PORT",
                    coordinator_derby_port(p, service).to_string(),
                ),
            ];
            (service, fill(COORDINATOR, &own))
        })
        .collect();
    services.extend(
        [
            (Service::Broker, BROKER),
            (Service::Historical, HISTORICAL),
            (
                p.worker.service(),
                match p.worker {
                    Worker::Indexer => INDEXER,
                    Worker::MiddleManager => MIDDLE_MANAGER,
                },
            ),
            (Service::Router, ROUTER),
        ]
        .map(|(service, template)| (service, template.to_owned())),
    );
    for (service, template) in services {
        let mut properties = fill(&template, &vars);
        if let (true, Some(tls_port)) = (p.secure, p.ports.tls(service)) {
            properties.push_str(&format!("druid.tlsPort={tls_port}\n"));
        }
        files.push((
            Path::new(service.conf_dir()).join("runtime.properties"),
            properties,
        ));
    }
    files
}

/// Replaces `conf/` with freshly rendered files (so no stale worker config survives).
pub(crate) fn write(layout: &Layout, files: &[(PathBuf, String)]) -> Result<(), String> {
    let conf = layout.conf();
    if conf.exists() {
        fs::remove_dir_all(&conf).map_err(|e| format!("cannot remove {}: {e}", conf.display()))?;
    }
    for (relative, content) in files {
        let path = conf.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The Java 17 flags Druid needs (docs/operations/java.md; `examples/bin/run-java`).
const JAVA_17_FLAGS: [&str; 8] = [
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
];

/// Heap and direct-memory limits per service (sized for a 2-core, 24 GiB machine).
fn memory_flags(service: Service) -> &'static [&'static str] {
    match service {
        Service::Zookeeper => &["-Xms64m", "-Xmx128m"],
        Service::Derby => &["-Xms64m", "-Xmx256m"],
        Service::Coordinator | Service::Coordinator2 => &["-Xms256m", "-Xmx512m"],
        Service::Broker | Service::Historical => {
            &["-Xms256m", "-Xmx512m", "-XX:MaxDirectMemorySize=400m"]
        }
        Service::Indexer => &["-Xms512m", "-Xmx1g", "-XX:MaxDirectMemorySize=512m"],
        Service::MiddleManager => &["-Xms64m", "-Xmx128m"],
        Service::Router => &["-Xms128m", "-Xmx256m", "-XX:MaxDirectMemorySize=128m"],
    }
}

/// The arguments of `java` for a service (run with the state directory as working directory,
/// because the configuration uses paths like `var/druid/...`, and the Derby database is
/// `var/druid/metadata.db` relative to it).
///
/// `derby_port` is the port of the Derby network server (used only for [`Service::Derby`]).
pub(crate) fn java_args(
    layout: &Layout,
    dist: &Path,
    service: Service,
    derby_port: u16,
) -> Vec<String> {
    let conf = layout.conf();
    let lib = format!("{}/lib/*", dist.display());
    // log4j2.xml is also passed explicitly so that ZooKeeper (class path conf/zk:lib/*)
    // uses it too
    let log4j = format!(
        "-Dlog4j.configurationFile={}",
        conf.join("_common/log4j2.xml").display()
    );
    let mut args: Vec<String> = Vec::new();
    match service.druid_role() {
        None if service == Service::Derby => {
            args.extend(memory_flags(service).iter().map(|f| (*f).to_owned()));
            args.extend([
                // the engine's own log (derby.log) goes to stdout, i.e. into log/derby.log
                "-Dderby.stream.error.field=java.lang.System.out".to_owned(),
                "-cp".to_owned(),
                // conf/derby first: the class path marks the JVM as this cluster's
                format!("{}:{lib}", conf.join("derby").display()),
                "org.apache.derby.drda.NetworkServerControl".to_owned(),
                "start".to_owned(),
                "-h".to_owned(),
                "localhost".to_owned(),
                "-p".to_owned(),
                derby_port.to_string(),
                "-noSecurityManager".to_owned(),
            ]);
        }
        None => {
            args.extend(memory_flags(service).iter().map(|f| (*f).to_owned()));
            args.extend([
                "-Dzookeeper.admin.enableServer=false".to_owned(),
                "-Dzookeeper.jmx.log4j.disable=true".to_owned(),
                log4j,
                "-cp".to_owned(),
                format!("{}:{lib}", conf.join("zk").display()),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain".to_owned(),
                conf.join("zk/zoo.cfg").display().to_string(),
            ]);
        }
        Some(role) => {
            args.extend(JAVA_17_FLAGS.iter().map(|f| (*f).to_owned()));
            args.extend(
                [
                    "-server",
                    "-XX:+ExitOnOutOfMemoryError",
                    "-Duser.timezone=UTC",
                    "-Dfile.encoding=UTF-8",
                    "-Djava.io.tmpdir=var/tmp",
                    "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
                ]
                .map(str::to_owned),
            );
            args.push(log4j);
            args.extend(memory_flags(service).iter().map(|f| (*f).to_owned()));
            // the engine of the Coordinator's own Derby server logs here
            match service {
                Service::Coordinator => {
                    args.push("-Dderby.stream.error.file=var/druid/derby.log".to_owned());
                }
                Service::Coordinator2 => args
                    .push("-Dderby.stream.error.file=var/druid/derby-coordinator-2.log".to_owned()),
                _ => {}
            }
            args.extend([
                "-cp".to_owned(),
                format!(
                    "{}:{}:{lib}",
                    conf.join("_common").display(),
                    conf.join(service.conf_dir()).display()
                ),
                "org.apache.druid.cli.Main".to_owned(),
                "server".to_owned(),
                role.to_owned(),
            ]);
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(offset: u16, worker: Worker, secure: bool) -> Vec<(PathBuf, String)> {
        render_ha(offset, worker, secure, true)
    }

    fn render_ha(offset: u16, worker: Worker, secure: bool, ha: bool) -> Vec<(PathBuf, String)> {
        let layout = Layout::new(PathBuf::from("/tmp/state"));
        let dist = layout.dist("27.0.0");
        render(&ConfParams {
            layout: &layout,
            dist: &dist,
            load_list: r#"["druid-multi-stage-query"]"#,
            ports: Ports::with_offset(offset).unwrap(),
            worker,
            secure,
            ha,
            java: Path::new("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"),
        })
    }

    fn file<'a>(files: &'a [(PathBuf, String)], path: &str) -> &'a str {
        files
            .iter()
            .find(|(p, _)| p == Path::new(path))
            .map(|(_, c)| c.as_str())
            .unwrap_or_else(|| panic!("{path} not rendered"))
    }

    /// Every port number of the default layout, as it would appear in a file.
    const DEFAULT_PORTS: [u16; 17] = [
        2181, 1527, 1528, 1529, 8081, 18081, 8082, 8083, 8091, 8888, 8281, 18281, 8282, 8283, 8291,
        9088, 8100,
    ];

    #[test]
    fn port_offset_is_applied_everywhere() {
        for worker in [Worker::Indexer, Worker::MiddleManager] {
            let files = render_with(100, worker, true);
            for (path, content) in &files {
                for port in DEFAULT_PORTS {
                    for pattern in [
                        format!("={port}\n"),
                        format!(":{port}\n"),
                        format!(":{port}/"),
                    ] {
                        assert!(
                            !content.contains(&pattern),
                            "{} still mentions the unshifted port {port}:\n{content}",
                            path.display()
                        );
                    }
                }
            }
            let common = file(&files, "_common/common.runtime.properties");
            assert!(common.contains("druid.zk.service.host=localhost:2281\n"));
            assert!(common.contains("jdbc:derby://localhost:1627/var/druid/metadata.db"));
            // the Coordinator's idle Derby server, not the metadata store
            assert!(common.contains("druid.metadata.storage.connector.port=1628\n"));
            let derby = file(&files, "derby/server.properties");
            assert!(derby.contains("derby.drda.portNumber=1627\n"));
            let second = file(&files, "coordinator-overlord-2/runtime.properties");
            assert!(second.contains("druid.plaintextPort=18181\n"));
            assert!(second.contains("druid.tlsPort=18381\n"));
            assert!(second.contains("druid.metadata.storage.connector.port=1629\n"));
            assert!(second.contains("druid.coordinator.asOverlord.enabled=true\n"));
            assert!(file(&files, "zk/zoo.cfg").contains("clientPort=2281\n"));
            let coordinator = file(&files, "coordinator-overlord/runtime.properties");
            assert!(coordinator.contains("druid.plaintextPort=8181\n"));
            assert!(coordinator.contains("druid.tlsPort=8381\n"));
            assert!(coordinator.contains("druid.metadata.storage.connector.port=1628\n"));
            assert!(file(&files, "broker/runtime.properties").contains("druid.tlsPort=8382\n"));
            let router = file(&files, "router/runtime.properties");
            assert!(router.contains("druid.plaintextPort=8988\n"));
            assert!(router.contains("druid.tlsPort=9188\n"));
            let worker_conf = file(
                &files,
                &format!("{}/runtime.properties", worker.service().conf_dir()),
            );
            assert!(worker_conf.contains("druid.plaintextPort=8191\n"));
            assert!(worker_conf.contains("druid.tlsPort=8391\n"));
        }
    }

    #[test]
    fn default_profile_uses_default_ports_and_no_tls() {
        let files = render_with(0, Worker::Indexer, false);
        let common = file(&files, "_common/common.runtime.properties");
        assert!(common.contains("druid.zk.service.host=localhost:2181\n"));
        assert!(common.contains("druid.extensions.loadList=[\"druid-multi-stage-query\"]\n"));
        assert!(common.contains("druid.server.http.gracefulShutdownTimeout=PT1S\n"));
        assert!(common.contains("druid.monitoring.monitors=[]\n"));
        assert!(!common.contains("druid.processing.numThreads"));
        assert!(!common.contains("druid.enableTlsPort"));
        assert!(!files.iter().any(|(_, c)| c.contains("druid.tlsPort")));
        assert!(file(&files, "router/runtime.properties").contains("druid.plaintextPort=8888\n"));
        assert!(!file(&files, "router/runtime.properties").contains("druid.processing"));
        assert!(
            file(&files, "broker/runtime.properties").contains("druid.processing.numThreads=1\n")
        );
        assert!(
            !files.iter().any(|(p, _)| p.starts_with("middleManager")),
            "only the selected worker is configured"
        );
        let single = render_ha(0, Worker::Indexer, false, false);
        assert!(
            !single
                .iter()
                .any(|(p, _)| p.starts_with("coordinator-overlord-2")),
            "coordinator-2 only with --ha"
        );
        // one Coordinator: it runs the metadata store itself, as before --ha existed
        assert!(!single.iter().any(|(p, _)| p.starts_with("derby")));
        let common = file(&single, "_common/common.runtime.properties");
        assert!(common.contains("jdbc:derby://localhost:1527/var/druid/metadata.db"));
        assert!(common.contains("druid.metadata.storage.connector.port=1527\n"));
        assert!(!common.contains("idle port"));
        let coordinator = file(&single, "coordinator-overlord/runtime.properties");
        assert!(coordinator.contains("druid.metadata.storage.connector.port=1527\n"));
    }

    #[test]
    fn every_placeholder_is_filled() {
        for secure in [false, true] {
            for worker in [Worker::Indexer, Worker::MiddleManager] {
                for ha in [false, true] {
                    for (path, content) in render_ha(7, worker, secure, ha) {
                        assert!(!content.contains("${"), "{}:\n{content}", path.display());
                    }
                }
            }
        }
    }

    #[test]
    fn secure_profile_adds_tls_and_basic_auth() {
        let files = render_with(0, Worker::Indexer, true);
        let common = file(&files, "_common/common.runtime.properties");
        assert!(common.contains("druid.server.https.keyStorePath=/tmp/state/tls/server.p12\n"));
        assert!(common.contains("druid.auth.authenticator.basic.initialAdminPassword=admin-pw\n"));
        assert!(common.contains("druid.enablePlaintextPort=true\n"));
        assert!(file(&files, "router/runtime.properties").contains("druid.tlsPort=9088\n"));
    }

    #[test]
    fn java_args_use_absolute_conf_and_lib_paths() {
        let layout = Layout::new(PathBuf::from("/tmp/state"));
        let dist = layout.dist("27.0.0");
        let broker = java_args(&layout, &dist, Service::Broker, 1527);
        let tail: Vec<&str> = broker
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail,
            [
                "/tmp/state/conf/_common:/tmp/state/conf/broker:/tmp/state/dist/27.0.0/lib/*",
                "org.apache.druid.cli.Main",
                "server",
                "broker"
            ]
        );
        assert!(
            broker
                .iter()
                .any(|a| a == "--add-opens=java.base/java.lang=ALL-UNNAMED")
        );
        let zk = java_args(&layout, &dist, Service::Zookeeper, 1527);
        assert!(zk.contains(&"org.apache.zookeeper.server.quorum.QuorumPeerMain".to_owned()));
        assert!(zk.iter().any(|a| a.contains(&layout.cmdline_marker())));
        let mm = java_args(&layout, &dist, Service::MiddleManager, 1527);
        assert_eq!(mm.last().map(String::as_str), Some("middleManager"));
        let derby = java_args(&layout, &dist, Service::Derby, 2527);
        let tail: Vec<&str> = derby
            .iter()
            .rev()
            .take(9)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail,
            [
                "-cp",
                "/tmp/state/conf/derby:/tmp/state/dist/27.0.0/lib/*",
                "org.apache.derby.drda.NetworkServerControl",
                "start",
                "-h",
                "localhost",
                "-p",
                "2527",
                "-noSecurityManager",
            ]
        );
        let second = java_args(&layout, &dist, Service::Coordinator2, 1527);
        assert!(
            second.contains(
                &"-Dderby.stream.error.file=var/druid/derby-coordinator-2.log".to_owned()
            )
        );
        assert!(
            second
                .iter()
                .any(|a| a.contains("/tmp/state/conf/coordinator-overlord-2:"))
        );
        assert_eq!(second.last().map(String::as_str), Some("coordinator"));
    }
}

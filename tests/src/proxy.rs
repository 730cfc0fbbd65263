//! A TCP port forwarder: exposes a local service on another port, as Docker
//! or NAT would, and counts the connections it carried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running forwarder from a free loopback port to `127.0.0.1:target`; it
/// stops when dropped.
#[derive(Debug)]
pub struct PortForward {
    port: u16,
    target: u16,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for PortForward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PortForward {
    /// Starts forwarding to `127.0.0.1:target`.
    pub async fn start(target: u16) -> PortForward {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        PortForward {
            port,
            target,
            connections,
            task,
        }
    }

    /// The local port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port forwarded to.
    pub fn target(&self) -> u16 {
        self.target
    }

    /// Connections carried so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

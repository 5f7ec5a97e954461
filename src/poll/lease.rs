//! One active poller: a `coordination.k8s.io` Lease, held through the `kube-lease-manager`
//! crate (0.13, built on the same kube 5 and k8s-openapi 0.29). A replica polls only while
//! the channel [`elect`] returns says it holds the Lease; the crate renews it `grace` seconds
//! before it lapses and takes it over only after the holder let it lapse
//! (`renewTime + leaseDurationSeconds` past), with server-side apply, so two replicas never
//! both win. The state in the ConfigMap is re-read on every win, so a new leader continues
//! from the last recorded import.
//!
//! What this module adds to the crate: it steps down on any API error (the crate's own
//! `watch()` keeps reporting `true` while renewals fail, so a replica cut off from the API
//! would go on polling after its Lease lapsed), then starts a fresh manager, which reports
//! holding again at once if the Lease is still its own; and it releases the Lease when the
//! channel is dropped (on SIGTERM), so a successor takes over without waiting for it to
//! lapse.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

/// Where the Lease is and who asks for it.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// `leaseDurationSeconds`: how long a silent holder keeps it.
    pub duration_seconds: u64,
}

impl LeaseOptions {
    /// Renew this long before the Lease lapses: a third of its duration, at least a second.
    pub fn grace_seconds(&self) -> u64 {
        (self.duration_seconds / 3).clamp(1, self.duration_seconds.saturating_sub(1).max(1))
    }
}

/// Start competing for the Lease. The channel says whether this replica holds it now; the
/// task ends (releasing the Lease if held) once every receiver is dropped.
pub fn elect(
    client: kube::Client,
    options: LeaseOptions,
) -> (watch::Receiver<bool>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let manager = match build(&client, &options).await {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, lease = %options.name, "cannot reach the lease");
                    tx.send_replace(false);
                    if pause_or_closed(&tx).await {
                        return;
                    }
                    continue;
                }
            };
            loop {
                tokio::select! {
                    biased;
                    () = tx.closed() => {
                        if let Err(e) = manager.release().await {
                            warn!(error = %e, "lease not released");
                        }
                        return;
                    }
                    changed = manager.changed() => match changed {
                        Ok(holding) => {
                            tx.send_replace(holding);
                        }
                        Err(e) => {
                            warn!(error = %e, lease = %options.name, "lease not renewed: standing by");
                            tx.send_replace(false);
                            break;
                        }
                    },
                }
            }
            if pause_or_closed(&tx).await {
                return;
            }
        }
    });
    (rx, task)
}

async fn build(
    client: &kube::Client,
    options: &LeaseOptions,
) -> kube_lease_manager::Result<LeaseManager> {
    LeaseManagerBuilder::new(client.clone(), &options.name)
        .with_namespace(&options.namespace)
        .with_identity(&options.identity)
        .with_field_manager(format!("autoredeploy-poller-{}", options.identity))
        .with_duration(options.duration_seconds.max(2))
        .with_grace(options.grace_seconds())
        .build()
        .await
}

/// Wait a moment before trying again; `true` when nobody listens any more.
async fn pause_or_closed(tx: &watch::Sender<bool>) -> bool {
    tokio::select! {
        () = tx.closed() => true,
        () = tokio::time::sleep(Duration::from_secs(2)) => false,
    }
}

/// Resolves once `holding` turns false (or its sender is gone).
pub async fn lost(holding: &mut watch::Receiver<bool>) {
    let _ = holding.wait_for(|held| !*held).await;
}

/// Resolves once `holding` turns true; `false` if the election task ended.
pub async fn won(holding: &mut watch::Receiver<bool>) -> bool {
    holding.wait_for(|held| *held).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(duration_seconds: u64) -> LeaseOptions {
        LeaseOptions {
            namespace: "n".into(),
            name: "l".into(),
            identity: "me".into(),
            duration_seconds,
        }
    }

    #[test]
    fn grace_is_a_third_and_always_below_the_duration() {
        // The crate panics unless 0 < grace < duration.
        assert_eq!(options(30).grace_seconds(), 10);
        assert_eq!(options(6).grace_seconds(), 2);
        assert_eq!(options(2).grace_seconds(), 1);
    }

    #[tokio::test]
    async fn lost_and_won_follow_the_channel() {
        let (tx, mut rx) = watch::channel(false);
        lost(&mut rx).await;
        tx.send_replace(true);
        assert!(won(&mut rx).await);
        let (tx, mut ended) = watch::channel(false);
        drop(tx);
        assert!(!won(&mut ended).await, "an ended election never wins");
    }
}

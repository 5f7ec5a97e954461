//! One active poller: a `coordination.k8s.io` Lease held by the pod that polls. A replica
//! polls only while it holds the Lease; it renews it each cycle and takes it over only after
//! the holder let it lapse (`renewTime + leaseDurationSeconds` past), with the Lease's
//! resourceVersion, so two replicas never both win. The state in the ConfigMap is re-read on
//! every win, so a new leader continues from the last recorded import.
//!
//! A small hand-written loop instead of a lease crate: the rules are these few lines, and it
//! adds nothing to the dependency tree (kube and k8s-openapi are already there).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

/// Whether `holder` may take a Lease now. Pure.
pub fn may_take(spec: &LeaseSpec, me: &str, now: Timestamp) -> bool {
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() || holder == me {
        return true;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0.as_second());
    renewed.is_none_or(|at| now.as_second() >= at + duration)
}

pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration_seconds: i32,
}

impl LeaseLock {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration_seconds: i32,
    ) -> Self {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            duration_seconds,
        }
    }

    /// Acquire or renew; `Ok(false)` while another replica holds it.
    pub async fn try_hold(&self) -> anyhow::Result<bool> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let mut lease = Lease::default();
            lease.metadata.name = Some(self.name.clone());
            lease.spec = Some(self.spec(now, now, 0));
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if !may_take(&spec, &self.identity, now) {
            return Ok(false);
        }
        let mine = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let acquired = match (&spec.acquire_time, mine) {
            (Some(t), true) => t.0,
            _ => now,
        };
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        lease.spec = Some(self.spec(acquired, now, transitions));
        // The resourceVersion read above makes a concurrent take-over a 409.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration_seconds),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_is_taken_only_when_free_mine_or_lapsed() {
        let at = |s| Timestamp::from_second(s).unwrap();
        assert!(may_take(&LeaseSpec::default(), "b", at(0)));
        assert!(may_take(&held_by("b", 100), "b", at(101)));
        assert!(!may_take(&held_by("a", 100), "b", at(114)));
        assert!(may_take(&held_by("a", 100), "b", at(115)));
    }
}

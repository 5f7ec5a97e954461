//! [`Cluster`] over the API server: ImageStreams listed through the dynamic API,
//! `ImageStreamImport`s created in the tag's namespace, the state in a ConfigMap of the
//! poller's namespace (written with its resourceVersion; a conflict is re-read and retried),
//! and Events on the ImageStream through kube's recorder.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ObjectReference};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::Value;
use tracing::warn;

use super::Cluster;
use super::scope::ScopeInputs;
use super::state::{PollState, STATE_KEY};
use super::tags::PolledTag;

pub struct KubeCluster {
    client: kube::Client,
    /// Namespaces to poll; empty means all.
    namespaces: Vec<String>,
    state_namespace: String,
    state_name: String,
    recorder: Recorder,
}

impl KubeCluster {
    pub fn new(
        client: kube::Client,
        namespaces: Vec<String>,
        state_namespace: String,
        state_name: String,
    ) -> Self {
        let reporter = Reporter {
            controller: "autoredeploy-poller".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        KubeCluster {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            namespaces,
            state_namespace,
            state_name,
        }
    }

    fn resource(kind: &str) -> ApiResource {
        ApiResource::from_gvk(&GroupVersionKind::gvk("image.openshift.io", "v1", kind))
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.state_namespace)
    }
}

impl Cluster for KubeCluster {
    async fn image_streams(&self) -> anyhow::Result<Vec<Value>> {
        let resource = Self::resource("ImageStream");
        let apis: Vec<Api<DynamicObject>> = if self.namespaces.is_empty() {
            vec![Api::all_with(self.client.clone(), &resource)]
        } else {
            (self.namespaces.iter())
                .map(|ns| Api::namespaced_with(self.client.clone(), ns, &resource))
                .collect()
        };
        let mut out = Vec::new();
        for api in apis {
            let mut params = ListParams::default().limit(500);
            loop {
                let page = api.list(&params).await?;
                let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
                for item in page.items {
                    out.push(serde_json::to_value(item)?);
                }
                match next {
                    Some(token) => params = params.continue_token(&token),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    async fn scope_inputs(&self) -> ScopeInputs {
        let configurations = Api::<MutatingWebhookConfiguration>::all(self.client.clone());
        let configurations = list_values(&configurations).await.map(|all| {
            (all.into_iter())
                .filter(crate::scan::scope::holds_autoredeploy)
                .collect()
        });
        let namespaces = list_values(&Api::<Namespace>::all(self.client.clone())).await;
        ScopeInputs {
            configurations,
            namespaces,
        }
    }

    async fn create_import(&self, namespace: &str, body: Value) -> anyhow::Result<Value> {
        let resource = Self::resource("ImageStreamImport");
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        let object: DynamicObject = serde_json::from_value(body)?;
        let answer = api.create(&PostParams::default(), &object).await?;
        Ok(serde_json::to_value(answer)?)
    }

    async fn patch_image_stream(
        &self,
        namespace: &str,
        name: &str,
        patch: Value,
    ) -> anyhow::Result<()> {
        let resource = Self::resource("ImageStream");
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        let params = PatchParams {
            field_manager: Some("autoredeploy-poller".into()),
            ..PatchParams::default()
        };
        api.patch(name, &params, &Patch::Merge(&patch)).await?;
        Ok(())
    }

    async fn load_state(&self) -> anyhow::Result<PollState> {
        let Some(map) = self.config_maps().get_opt(&self.state_name).await? else {
            return Ok(PollState::default());
        };
        match map.data.as_ref().and_then(|d| d.get(STATE_KEY)) {
            Some(text) => PollState::from_json(text),
            None => Ok(PollState::default()),
        }
    }

    async fn save_state(&self, state: &PollState) -> anyhow::Result<()> {
        let api = self.config_maps();
        let data = BTreeMap::from([(STATE_KEY.to_string(), state.to_json())]);
        for _ in 0..3 {
            let result = match api.get_opt(&self.state_name).await? {
                Some(mut map) => {
                    map.data = Some(data.clone());
                    api.replace(&self.state_name, &PostParams::default(), &map)
                        .await
                        .map(drop)
                }
                None => {
                    let mut map = ConfigMap::default();
                    map.metadata.name = Some(self.state_name.clone());
                    map.metadata.namespace = Some(self.state_namespace.clone());
                    map.data = Some(data.clone());
                    api.create(&PostParams::default(), &map).await.map(drop)
                }
            };
            match result {
                Ok(()) => return Ok(()),
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("poller state: conflicting writes, three times")
    }

    async fn event(&self, tag: &PolledTag, reason: &str, message: &str, warning: bool) {
        let reference = ObjectReference {
            api_version: Some("image.openshift.io/v1".into()),
            kind: Some("ImageStream".into()),
            name: Some(tag.stream.clone()),
            namespace: Some(tag.namespace.clone()),
            ..ObjectReference::default()
        };
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(message.chars().take(1000).collect()),
            action: "Poll".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &reference).await {
            warn!(error = %e, reason, "event not published");
        }
    }
}

/// Every object of `api`, page by page, as JSON; or the error, in words.
async fn list_values<K>(api: &Api<K>) -> Result<Vec<Value>, String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.map_err(|e| e.to_string())?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        for item in page.items {
            out.push(serde_json::to_value(item).map_err(|e| e.to_string())?);
        }
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

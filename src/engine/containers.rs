//! The containers of a pod template, read once per object: which list, which index, name
//! and image. Owns nothing else; it must not change the object.

use serde_json::Value;

/// Which container list of a pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Containers,
    InitContainers,
}

impl List {
    /// The field name, as in pod specs and annotation `fieldPath`s.
    pub fn key(self) -> &'static str {
        match self {
            List::Containers => "containers",
            List::InitContainers => "initContainers",
        }
    }
}

/// One container of a pod spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub list: List,
    pub index: usize,
    pub name: String,
    /// `None` when `image` is absent or not a string.
    pub image: Option<String>,
}

impl Container {
    /// JSON pointer of this container under the pod spec at `pod_spec`.
    pub fn pointer(&self, pod_spec: &str) -> String {
        format!("{pod_spec}/{}/{}", self.list.key(), self.index)
    }
}

/// Containers then init containers; entries without a string name are skipped (nothing
/// can refer to them).
pub fn read(pod_spec: Option<&Value>) -> Vec<Container> {
    let mut found = Vec::new();
    for list in [List::Containers, List::InitContainers] {
        let entries = pod_spec
            .and_then(|spec| spec.get(list.key()))
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for (index, entry) in entries.enumerate() {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            found.push(Container {
                list,
                index,
                name: name.to_string(),
                image: entry
                    .get("image")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
    }
    found
}

/// The container called `name`, preferring the same list.
pub fn find<'a>(containers: &'a [Container], list: List, name: &str) -> Option<&'a Container> {
    containers
        .iter()
        .filter(|c| c.name == name)
        .min_by_key(|c| c.list != list)
}

//! The pure admission adapter against the recorded API-server requests: every response must
//! pass the API server's own checks, audit mode never patches, odd requests get an empty
//! allow, and malformed bodies are typed errors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use autoredeploy::admission::{
    self, AUDIT_WARNING_PREFIX, Context, MAX_WARNING_CHARS, ReviewError, Verdict,
    WARNING_BUDGET_CHARS, WARNING_PREFIX, WOULD_PATCH_ANNOTATION,
};
use autoredeploy::catalog::{CatalogIndex, EmptyCatalog};
use autoredeploy::config::{Mode, RuleConfig};
use autoredeploy::engine::fields::{self, UNREAD_ANNOTATIONS};
use autoredeploy::engine::kind::Kind;
use autoredeploy::engine::{self, Change, Code, Outcome};
use autoredeploy::testing::recorded::{
    MYAPP_FIRST, engine_input, fixture, fixtures, image_policy_streams,
};
use autoredeploy::testing::{assert_accepted_by_apiserver, nested_arrays};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn answer(request: &Value, mode: Mode) -> (Value, admission::Summary) {
    let config = RuleConfig::default();
    let ctx = Context {
        mode,
        catalog: &EmptyCatalog,
        config: &config,
    };
    let body = serde_json::to_vec(request).unwrap();
    let (review, summary) = admission::review(&body, &ctx).expect("a valid review");
    (serde_json::to_value(review).unwrap(), summary)
}

/// An outcome that adds a label and an annotation whose key needs pointer escaping.
fn outcome_for(request: &Value) -> Outcome {
    let object = request["request"]["object"].clone();
    let mut mutated = object.clone();
    mutated["metadata"]["labels"]["autoredeploy.io/test"] = json!("yes");
    mutated["metadata"]["annotations"] = json!({"image.openshift.io/triggers": "[]"});
    Outcome {
        bindings: Vec::new(),
        patch: json_patch::diff(&object, &mutated),
        object: mutated,
        changes: vec![Change::new(
            Code::AnnotationTrigger,
            "/metadata",
            "added a trigger",
        )],
        findings: vec![Change::new(
            Code::UntrackedImage,
            "/spec",
            "nginx is untracked",
        )],
    }
}

fn synthetic(request: &Value, mode: Mode) -> (Value, admission::Summary) {
    let decoded = admission::decode(&serde_json::to_vec(request).unwrap()).unwrap();
    let (review, summary) = admission::respond_with_outcome(&decoded, mode, &outcome_for(request));
    (serde_json::to_value(review).unwrap(), summary)
}

#[test]
fn every_fixture_is_accepted_in_both_modes() {
    for (name, bytes) in fixtures() {
        let request: Value = serde_json::from_slice(&bytes).unwrap();
        for mode in [Mode::Enforce, Mode::Audit] {
            let (response, summary) = answer(&request, mode);
            assert_accepted_by_apiserver(&request, &response);
            assert_eq!(summary.mode, mode, "{name}");
        }
    }
}

#[test]
fn enforce_sends_a_base64_patch_that_applies_with_one_warning_per_change() {
    for (name, bytes) in fixtures() {
        let request: Value = serde_json::from_slice(&bytes).unwrap();
        let (response, summary) = synthetic(&request, Mode::Enforce);
        assert_accepted_by_apiserver(&request, &response);
        assert_eq!(response["response"]["patchType"], "JSONPatch", "{name}");
        assert_eq!(summary.verdict, Verdict::Patched);
        assert_eq!(summary.changes, vec![Code::AnnotationTrigger]);
        let warnings = response["response"]["warnings"].as_array().unwrap();
        assert_eq!(warnings[0], format!("{WARNING_PREFIX}added a trigger"));
        assert_eq!(warnings[1], format!("{WARNING_PREFIX}nginx is untracked"));
        assert!(response["response"].get("auditAnnotations").is_none());
    }
}

#[test]
fn audit_mode_returns_warnings_and_would_patch_but_no_patch() {
    let request = fixture("deployment-create.json");
    let (response, summary) = synthetic(&request, Mode::Audit);
    assert_accepted_by_apiserver(&request, &response);
    let inner = &response["response"];
    assert!(inner.get("patch").is_none() && inner.get("patchType").is_none());
    assert_eq!(summary.verdict, Verdict::Audited);
    for warning in inner["warnings"].as_array().unwrap() {
        let expected = format!("{AUDIT_WARNING_PREFIX}{WARNING_PREFIX}");
        assert!(
            warning.as_str().unwrap().starts_with(&expected),
            "{warning}"
        );
    }
    let would_patch = inner["auditAnnotations"][WOULD_PATCH_ANNOTATION]
        .as_str()
        .unwrap();
    let expected = serde_json::to_string(&outcome_for(&request).patch).unwrap();
    assert_eq!(would_patch, expected);
    assert!(!would_patch.contains('\n'), "compact JSON");
}

#[test]
fn unchanged_outcome_in_audit_mode_has_no_would_patch() {
    let request = fixture("imagestream-create.json");
    let decoded = admission::decode(&serde_json::to_vec(&request).unwrap()).unwrap();
    let object = request["request"]["object"].clone();
    let outcome = Outcome {
        bindings: Vec::new(),
        patch: json_patch::diff(&object, &object),
        object,
        changes: vec![],
        findings: vec![],
    };
    let (review, summary) = admission::respond_with_outcome(&decoded, Mode::Audit, &outcome);
    let response = serde_json::to_value(review).unwrap();
    assert!(response["response"].get("auditAnnotations").is_none());
    assert!(response["response"].get("warnings").is_none());
    assert_eq!(summary.verdict, Verdict::Unchanged);
}

#[test]
fn the_engine_schedules_imports_on_a_recorded_imagestream() {
    let request = fixture("imagestream-create.json");
    let (response, summary) = answer(&request, Mode::Enforce);
    assert_accepted_by_apiserver(&request, &response);
    assert_eq!(summary.verdict, Verdict::Patched);
    assert!(
        summary.changes.contains(&Code::ScheduledImport),
        "{summary:?}"
    );
    let (response, summary) = answer(&request, Mode::Audit);
    assert_accepted_by_apiserver(&request, &response);
    assert_eq!(summary.verdict, Verdict::Audited);
    assert!(response["response"]["auditAnnotations"][WOULD_PATCH_ANNOTATION].is_string());
    assert!(response["response"].get("patch").is_none());
}

/// The decoder leaves out what no rule reads (`engine::fields`); the engine, run on the
/// whole objects the API server sent, must give exactly the same patch.
#[test]
fn leaving_out_unread_members_never_changes_a_patch() {
    let web = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "web", "namespace": "whtest"},
        "spec": {"tags": [{"name": "1.0", "from": {"kind": "DockerImage", "name": "registry.example/web:1.0"}}]},
        "status": {"tags": [{"tag": "1.0", "items": [{"dockerImageReference": "registry.example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]}]}});
    let frontend = fixture("imagestream-create.json")["request"]["object"].clone();
    // The ImagePolicy reviews' streams: those reviews bind only by what the manifest said.
    let shop = image_policy_streams(MYAPP_FIRST);
    let catalog = CatalogIndex::from_objects([&web, &frontend].into_iter().chain(&shop), "");
    let config = RuleConfig::default();
    let ctx = Context {
        mode: Mode::Enforce,
        catalog: &catalog,
        config: &config,
    };
    let mut left_out = BTreeMap::<String, usize>::new();
    let mut patched = 0;
    for (name, bytes) in fixtures() {
        let whole: Value = serde_json::from_slice(&bytes).unwrap();
        let request = &whole["request"];
        let mut decoded = admission::decode(&bytes).unwrap();
        let mut expected = request["object"].clone();
        let kind = Kind::of(&request["object"]);
        let intent = kind.is_some_and(fields::reads_intent);
        trim(&mut expected, false, intent, &mut left_out);
        if let Some(pod_spec) = kind.and_then(Kind::pod_spec_pointer) {
            prune_managed_fields(&mut expected, pod_spec);
        }
        assert_eq!(decoded.object.as_ref(), Some(&expected), "{name}: object");
        let reads_old = Kind::of(&request["object"]).is_some_and(fields::reads_old_object);
        let expected_old = match &request["oldObject"] {
            Value::Null => None,
            _ if !reads_old => {
                *left_out.entry("oldObject".into()).or_default() += 1;
                None
            }
            old => {
                let mut old = old.clone();
                trim(&mut old, true, false, &mut left_out);
                Some(old)
            }
        };
        assert_eq!(decoded.old_object, expected_old, "{name}: oldObject");
        let (object, engine_request) = engine_input(request);
        let from_whole = engine::mutate(object, &engine_request, &catalog, &config).patch;
        let (review, _) = admission::respond(&mut decoded, &ctx);
        let response = serde_json::to_value(review).unwrap();
        let from_kept: json_patch::Patch = match response["response"]["patch"].as_str() {
            Some(patch) => serde_json::from_slice(&BASE64.decode(patch).unwrap()).unwrap(),
            None => json_patch::Patch(Vec::new()),
        };
        assert_eq!(from_kept, from_whole, "{name}");
        patched += usize::from(!from_whole.0.is_empty());
    }
    // The recorded reviews carry each kind of unread member, so the test checks them all.
    for member in [
        "status",
        "managedFields",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        UNREAD_ANNOTATIONS[0],
        "oldObject.apiVersion",
    ] {
        assert!(
            left_out.get(member).is_some_and(|n| *n > 0),
            "{member}: {left_out:?}"
        );
    }
    assert!(patched >= 2, "some fixtures are patched: {patched}");
}

/// What the decoder should keep of `object` (or of `oldObject` when `old`), written out
/// from the lists (a workload's object, `intent`, keeps what the manifest said); counts what
/// was removed by name.
fn trim(object: &mut Value, old: bool, intent: bool, left_out: &mut BTreeMap<String, usize>) {
    let members = object.as_object_mut().unwrap();
    let mut count = |name: String| *left_out.entry(name).or_default() += 1;
    members.retain(|key, _| {
        let keep = if old {
            fields::OLD_OBJECT_MEMBERS.contains(&key.as_str())
        } else {
            !fields::UNREAD_MEMBERS.contains(&key.as_str())
        };
        if !keep {
            count(if old {
                format!("oldObject.{key}")
            } else {
                key.clone()
            });
        }
        keep
    });
    let Some(metadata) = members.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    metadata.retain(|key, _| {
        let keep = !fields::UNREAD_METADATA.contains(&key.as_str())
            || (intent && fields::INTENT_METADATA.contains(&key.as_str()));
        if !keep {
            count(key.clone());
        }
        keep
    });
    if let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.retain(|key, _| {
            let keep = !UNREAD_ANNOTATIONS.contains(&key.as_str())
                || (intent && fields::INTENT_ANNOTATIONS.contains(&key.as_str()));
            if !keep {
                count(key.clone());
            }
            keep
        });
    }
}

/// What the decoder keeps of a workload's `managedFields`, written out by hand: each entry's
/// `operation` and `fieldsType`, and of `fieldsV1` the maps on the paths to the last-applied
/// annotation and to the containers' `f:image` and `f:imagePullPolicy`, which become `{}`.
fn prune_managed_fields(object: &mut Value, pod_spec: &str) {
    let Some(entries) = object
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let pod: Vec<String> = pod_spec
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| format!("f:{s}"))
        .collect();
    let mut patterns: Vec<Vec<String>> = vec![
        [
            "f:metadata",
            "f:annotations",
            "f:kubectl.kubernetes.io/last-applied-configuration",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for list in ["f:containers", "f:initContainers"] {
        for field in ["f:image", "f:imagePullPolicy"] {
            let mut pattern = pod.clone();
            pattern.extend([list.to_string(), "k:*".to_string(), field.to_string()]);
            patterns.push(pattern);
        }
    }
    fn prune(value: &Value, patterns: &[&[String]]) -> Value {
        if patterns.iter().any(|p| p.is_empty()) {
            return if value.is_object() {
                json!({})
            } else {
                value.clone()
            };
        }
        let Some(map) = value.as_object() else {
            return value.clone();
        };
        let mut kept = serde_json::Map::new();
        for (key, child) in map {
            let below: Vec<&[String]> = patterns
                .iter()
                .filter(|p| p[0] == *key || (p[0] == "k:*" && key.starts_with("k:")))
                .map(|p| &p[1..])
                .collect();
            if !below.is_empty() {
                kept.insert(key.clone(), prune(child, &below));
            }
        }
        Value::Object(kept)
    }
    let patterns: Vec<&[String]> = patterns.iter().map(Vec::as_slice).collect();
    for entry in entries {
        let mut kept = serde_json::Map::new();
        for (key, value) in entry.as_object().into_iter().flatten() {
            match key.as_str() {
                "operation" | "fieldsType" => {
                    kept.insert(key.clone(), value.clone());
                }
                "fieldsV1" => {
                    kept.insert(key.clone(), prune(value, &patterns));
                }
                _ => {}
            }
        }
        *entry = Value::Object(kept);
    }
}

/// An ImageStream UPDATE (the recorded `kubectl apply` envelope carrying a stream): no rule
/// reads a stream's stored object, so `oldObject` is skipped, and the patch is the one the
/// engine gives with the whole stored object.
#[test]
fn an_image_stream_update_skips_the_stored_object() {
    let stream = fixture("imagestream-create.json")["request"]["object"].clone();
    let mut review = fixture("deploymentconfig-update-kubectl-apply.json");
    review["request"]["kind"] =
        json!({"group": "image.openshift.io", "version": "v1", "kind": "ImageStream"});
    review["request"]["resource"] =
        json!({"group": "image.openshift.io", "version": "v1", "resource": "imagestreams"});
    review["request"]["object"] = stream.clone();
    review["request"]["oldObject"] = stream;
    let bytes = serde_json::to_vec(&review).unwrap();
    let mut decoded = admission::decode(&bytes).unwrap();
    assert!(decoded.object.is_some());
    assert_eq!(decoded.old_object, None);
    let catalog = EmptyCatalog;
    let config = RuleConfig::default();
    let ctx = Context {
        mode: Mode::Enforce,
        catalog: &catalog,
        config: &config,
    };
    let (object, engine_request) = engine_input(&review["request"]);
    let from_whole = engine::mutate(object, &engine_request, &catalog, &config).patch;
    assert!(
        !from_whole.0.is_empty(),
        "the stream gets scheduled imports"
    );
    let (response, _) = admission::respond(&mut decoded, &ctx);
    let patch = response.response.patch.expect("a patch");
    let from_kept: json_patch::Patch =
        serde_json::from_slice(&BASE64.decode(patch).unwrap()).unwrap();
    assert_eq!(from_kept, from_whole);

    // With `kind` after `oldObject`, the stored object is decoded (trimmed) all the same.
    let kind = review["request"]
        .as_object_mut()
        .unwrap()
        .remove("kind")
        .unwrap();
    let text = serde_json::to_string(&review).unwrap();
    // `request` is the review's last member (`to_string` sorts them): append `kind` to it.
    let moved = format!("{},\"kind\":{kind}}}}}", text.strip_suffix("}}").unwrap());
    let decoded = admission::decode(moved.as_bytes()).unwrap();
    assert_eq!(decoded.kind.kind, "ImageStream");
    assert!(decoded.old_object.is_some());
}

fn assert_empty_allow(request: &Value) {
    let (response, summary) = answer(request, Mode::Enforce);
    assert_accepted_by_apiserver(request, &response);
    let inner = response["response"].as_object().unwrap();
    let keys: Vec<&str> = inner.keys().map(String::as_str).collect();
    assert_eq!(keys, ["allowed", "uid"], "{response}");
    assert_eq!(summary.verdict, Verdict::Skipped);
}

#[test]
fn delete_connect_subresources_and_unknown_kinds_get_an_empty_allow() {
    let base = fixture("deploymentconfig-update-kubectl-apply.json");
    let mut delete = base.clone();
    delete["request"]["operation"] = json!("DELETE");
    delete["request"]["object"] = Value::Null;
    assert_empty_allow(&delete);
    let mut connect = base.clone();
    connect["request"]["operation"] = json!("CONNECT");
    assert_empty_allow(&connect);
    let mut status = base.clone();
    status["request"]["subResource"] = json!("status");
    assert_empty_allow(&status);
    let mut pod = fixture("deployment-create.json");
    pod["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "Pod"});
    assert_empty_allow(&pod);
}

#[test]
fn dry_run_is_answered_like_a_real_request() {
    let dry = fixture("deploymentconfig-update-dry-run.json");
    assert_eq!(dry["request"]["dryRun"], true);
    let (response, summary) = answer(&dry, Mode::Enforce);
    assert_accepted_by_apiserver(&dry, &response);
    let mut real = dry.clone();
    real["request"]["dryRun"] = json!(false);
    let (real_response, real_summary) = answer(&real, Mode::Enforce);
    assert_eq!(summary, real_summary);
    assert_eq!(
        response["response"]["patch"],
        real_response["response"]["patch"]
    );
    let (response, _) = synthetic(&dry, Mode::Enforce);
    assert_accepted_by_apiserver(&dry, &response);
    assert_eq!(response["response"]["patchType"], "JSONPatch");
}

#[test]
fn object_annotation_selects_audit_mode() {
    let mut request = fixture("deployment-create.json");
    request["request"]["object"]["metadata"]["annotations"] =
        json!({"autoredeploy.io/mode": "audit"});
    let (response, summary) = answer(&request, Mode::Enforce);
    assert_accepted_by_apiserver(&request, &response);
    assert_eq!(summary.mode, Mode::Audit);
    let (_, plain) = answer(&fixture("deployment-create.json"), Mode::Enforce);
    assert_eq!(plain.mode, Mode::Enforce);
}

#[test]
fn an_object_that_is_not_an_object_gets_an_allow_with_a_warning() {
    let mut request = fixture("deployment-create.json");
    request["request"]["object"] = json!("not an object");
    let (response, summary) = answer(&request, Mode::Enforce);
    assert_accepted_by_apiserver(&request, &response);
    assert_eq!(summary.verdict, Verdict::Unreadable);
    let warning = response["response"]["warnings"][0].as_str().unwrap();
    assert!(warning.starts_with(WARNING_PREFIX), "{warning}");
}

#[test]
fn warnings_are_sanitised_truncated_and_within_budget() {
    let mut changes = vec![Change::new(
        Code::PullPolicy,
        "/",
        "line\none\ttab\u{7}bell",
    )];
    changes.push(Change::new(Code::PullPolicy, "/", "é".repeat(1000)));
    for i in 0..200 {
        changes.push(Change::new(
            Code::PullPolicy,
            "/",
            format!("change {i} {}", "x".repeat(90)),
        ));
    }
    changes.push(Change::new(
        Code::PullPolicy,
        "/",
        "line\none\ttab\u{7}bell",
    ));
    let warnings = admission::warnings(AUDIT_WARNING_PREFIX, changes.iter());
    assert_eq!(warnings[0], "(audit) autoredeploy: lineonetabbell");
    assert_eq!(warnings[1].chars().count(), MAX_WARNING_CHARS);
    assert!(warnings[1].ends_with("..."));
    let total: usize = warnings.iter().map(|w| w.chars().count()).sum();
    assert!(total <= WARNING_BUDGET_CHARS, "{total}");
    assert!(
        warnings
            .last()
            .unwrap()
            .ends_with("more warnings not shown")
    );
    assert!(warnings.iter().all(|w| !w.chars().any(char::is_control)));
}

fn decode_err(body: &[u8]) -> ReviewError {
    admission::decode(body).expect_err("must be rejected")
}

#[test]
fn malformed_bodies_are_typed_errors() {
    assert!(matches!(decode_err(b"garbage"), ReviewError::Json(_)));
    assert!(matches!(decode_err(b""), ReviewError::Json(_)));
    assert!(matches!(decode_err(b"[]"), ReviewError::Json(_)));
    assert!(matches!(decode_err(b"{}"), ReviewError::ApiVersion(_)));
    let v1 = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
    assert!(matches!(
        decode_err(v1.to_string().as_bytes()),
        ReviewError::MissingRequest
    ));
    let mut wrong_kind = v1.clone();
    wrong_kind["kind"] = json!("Pod");
    assert!(matches!(
        decode_err(wrong_kind.to_string().as_bytes()),
        ReviewError::Kind(_)
    ));
    let mut no_uid = fixture("deployment-create.json");
    no_uid["request"].as_object_mut().unwrap().remove("uid");
    let err = decode_err(no_uid.to_string().as_bytes());
    assert!(matches!(err, ReviewError::MissingUid));
    assert!(err.to_string().contains("request.uid"), "{err}");
    let mut bad_type = fixture("deployment-create.json");
    bad_type["request"]["uid"] = json!(5);
    assert!(matches!(
        decode_err(bad_type.to_string().as_bytes()),
        ReviewError::Json(_)
    ));
    let mut bad_op = fixture("deployment-create.json");
    bad_op["request"]["operation"] = json!("PATCH");
    assert!(matches!(
        decode_err(bad_op.to_string().as_bytes()),
        ReviewError::Json(_)
    ));
}

/// `fixture` with `"field": [[[...]]]` (100k deep) spliced into `request`.
fn with_nested_field(field: &str) -> Vec<u8> {
    let mut review = fixture("deployment-create.json");
    review["request"].as_object_mut().unwrap().remove(field);
    let mut request = review.to_string().into_bytes();
    let tail = request.split_off(request.len() - 2); // "}}"
    request.extend_from_slice(format!(",\"{field}\":").as_bytes());
    request.extend(nested_arrays(100_000));
    request.extend(tail);
    request
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    assert!(matches!(
        decode_err(&nested_arrays(100_000)),
        ReviewError::Json(_)
    ));
    // A parsed field hits serde_json's recursion limit...
    let err = decode_err(&with_nested_field("oldObject"));
    assert!(err.to_string().contains("recursion limit"), "{err}");
    // ...and an ignored one is skipped without recursing at all.
    assert!(admission::decode(&with_nested_field("options")).is_ok());
}

/// `imagetags` is the third door into a stream that bypasses an `imagestreams` webhook
/// (openshift-apiserver updates the stream internally, without admission for `imagestreams`): an
/// ImageTag review gets the scheduled import.
#[test]
fn an_image_tag_review_gets_a_scheduled_import() {
    let mut request = fixture("imagestream-create.json");
    request["request"]["kind"]["kind"] = json!("ImageTag");
    request["request"]["resource"]["resource"] = json!("imagetags");
    request["request"]["object"] = json!({
        "apiVersion": "image.openshift.io/v1", "kind": "ImageTag",
        "metadata": {"name": "web:stable", "namespace": "whtest"},
        "spec": {"name": "stable", "from": {"kind": "DockerImage", "name": "quay.io/org/web:stable"}}});
    let (response, summary) = answer(&request, Mode::Enforce);
    assert_accepted_by_apiserver(&request, &response);
    assert_eq!(summary.verdict, Verdict::Patched);
    assert_eq!(summary.changes, vec![Code::ScheduledImport]);
    let patch = BASE64
        .decode(response["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/spec/importPolicy", "value": {"scheduled": true}}])
    );
}

/// JSON text is UTF-8: a body that is not is refused as a whole, wherever the bad byte sits
/// (even in a member the decoder skips), with a reason of its own.
#[test]
fn a_body_that_is_not_utf8_is_refused_wherever_the_bad_byte_sits() {
    let review = fixture("deploymentconfig-create.json");
    let text = serde_json::to_string(&review).unwrap();
    for member in ["\"groups\":[\"", "\"name\":\""] {
        let at = text.find(member).unwrap() + member.len();
        let mut bytes = text.clone().into_bytes();
        bytes.insert(at, 0xff);
        let error = admission::decode(&bytes).unwrap_err();
        assert_eq!(error.reason(), "utf-8", "{member}");
        assert!(error.to_string().contains("not UTF-8"), "{error}");
    }
    assert!(admission::decode(text.as_bytes()).is_ok());
}

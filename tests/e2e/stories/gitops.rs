//! GitOps tools compare Git with the cluster. Git says `image: REPO:latest`; the cluster runs
//! the digest the trigger controller wrote. These stories show, on the real API server, which
//! comparisons see a difference: a local diff (Argo CD's default) does; a server-side dry run
//! (Argo CD's `ServerSideDiff=true`, Flux's drift detection, `kubectl diff`) goes through the
//! webhook, which keeps the running image, and sees none.

use crate::Story;
use crate::support::*;

pub const STORIES: &[Story] = &[Story {
    name: "gitops::server_side_diff_is_clean_and_local_diff_is_not",
    exclusive: false,
    run: server_side_diff_is_clean_and_local_diff_is_not,
}];

fn server_side_diff_is_clean_and_local_diff_is_not(ns: &Ns) {
    let kube = &env().kube;
    let ns = ns.name.as_str();
    kube.apply_server_side(
        &imagestream(ns, "app", &[("latest", "quay.io/acme/git:latest")]),
        "argocd-controller",
    );
    let first = push(ns, "app", "latest", "quay.io/acme/git");
    wait_catalog(ns, "quay.io/acme/git:latest", Some(&first));
    let git = deployment(ns, "web", "quay.io/acme/git:latest");
    kube.apply_server_side(&git, "argocd-controller");
    let second = push(ns, "app", "latest", "quay.io/acme/git");
    let live = kube.wait_for(ns, "deployment", "web", "the pushed image", REACT, |d| {
        (image_of(d) == second).then(|| d.clone())
    });
    wait_catalog(ns, "quay.io/acme/git:latest", Some(&second));

    // A local comparison of Git with the live object sees the image differ (Argo CD's
    // default diff: OutOfSync, and with self-heal a sync on every refresh).
    assert_ne!(image_of(&git), image_of(&live));

    // After the trigger controller's write, `openshift-controller-manager` owns the image
    // field: a server-side apply without force conflicts with it (OpenShift's doing, with or
    // without autoredeploy). Argo CD and Flux apply with force.
    let out = kube.try_run(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=argocd-controller",
            "-f",
            "-",
        ],
        Some(&git.to_string()),
    );
    assert!(
        !out.ok && out.stderr.contains("openshift-controller-manager"),
        "{}",
        out.stderr
    );

    // Argo CD's server-side diff is a server-side apply dry run of the Git manifest with its
    // field manager; the result is compared with the live object.
    let out = kube.run(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "--field-manager=argocd-controller",
            "-o",
            "json",
            "-f",
            "-",
        ],
        Some(&git.to_string()),
    );
    let predicted = out.json();
    assert_eq!(
        predicted["spec"]["template"], live["spec"]["template"],
        "the server-side dry run predicts the live pod template"
    );
    // `kubectl diff --server-side` (what Flux's drift detection does: a server-side apply dry
    // run) exits 0 when nothing differs; plain `kubectl diff` (a dry-run patch) too.
    for args in [
        &[
            "diff",
            "--server-side",
            "--force-conflicts",
            "--field-manager=argocd-controller",
            "-f",
            "-",
        ][..],
        &["diff", "-f", "-"][..],
    ] {
        let out = kube.try_run(args, Some(&git.to_string()));
        assert!(
            out.ok,
            "kubectl {} reported a difference:\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
    }
    // The dry runs rolled nothing out.
    assert_eq!(
        kube.must_get(ns, "deployment", "web")["spec"]["template"],
        live["spec"]["template"]
    );
    assert_eq!(replicasets(ns, "web").len(), 2);
}

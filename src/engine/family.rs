//! Which trigger family a workload kind uses: DeploymentConfigs keep `spec.triggers`; the
//! four kinds OpenShift's annotation trigger controller watches keep the
//! `image.openshift.io/triggers` annotation with their pod spec's `fieldPath` prefix. The
//! only place that maps kinds to families; it must not know how either stores triggers.

use super::annotation_triggers::AnnotationTriggers;
use super::deploymentconfig::DeploymentConfigTriggers;
use super::kind::Kind;
use super::triggers::Triggers;

static DEPLOYMENT_CONFIG: DeploymentConfigTriggers = DeploymentConfigTriggers;
static POD_TEMPLATE: AnnotationTriggers = AnnotationTriggers {
    prefix: "spec.template.spec",
};
static JOB_TEMPLATE: AnnotationTriggers = AnnotationTriggers {
    prefix: "spec.jobTemplate.spec.template.spec",
};

/// The family of `kind`, or `None` for kinds that carry no image triggers.
pub fn of(kind: Kind) -> Option<&'static dyn Triggers> {
    match kind {
        Kind::DeploymentConfig => Some(&DEPLOYMENT_CONFIG),
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => Some(&POD_TEMPLATE),
        Kind::CronJob => Some(&JOB_TEMPLATE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_with_a_pod_spec_has_a_family_and_matching_prefix() {
        for kind in [
            Kind::DeploymentConfig,
            Kind::Deployment,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::CronJob,
        ] {
            assert!(
                kind.pod_spec_pointer().is_some() && of(kind).is_some(),
                "{kind:?}"
            );
        }
        assert!(of(Kind::ImageStream).is_none());
        assert_eq!(Kind::CronJob.field_path_prefix(), Some(JOB_TEMPLATE.prefix));
        assert_eq!(
            Kind::Deployment.field_path_prefix(),
            Some(POD_TEMPLATE.prefix)
        );
    }
}

//! How states and resources are named in history events.

use aslan_asl::definition::{IntegrationPattern, Resource, ResourceKind, StateKind};
use aslan_types::HistoryEventType;
use aslan_types::history::HistoryEventExecutionDataDetails;

/// `{"truncated": false}`.
pub(crate) fn not_truncated() -> HistoryEventExecutionDataDetails {
    HistoryEventExecutionDataDetails::not_truncated()
}

/// `PassStateEntered`, `TaskStateEntered`, ...
pub(crate) fn entered(kind: &StateKind) -> HistoryEventType {
    HistoryEventType::state_entered(kind.type_name()).unwrap_or(HistoryEventType::PassStateEntered)
}

/// `PassStateExited`, ...; Fail states have none.
pub(crate) fn exited(kind: &StateKind) -> Option<HistoryEventType> {
    HistoryEventType::state_exited(kind.type_name())
}

/// The `resourceType` and `resource` of task events: `lambda` + `invoke` for
/// `arn:aws:states:::lambda:invoke`, `activity` for activities, `lambda-function` for the legacy
/// function ARNs.
pub(crate) fn resource_names(resource: &Resource) -> (String, String) {
    let suffix = match resource.pattern {
        IntegrationPattern::RequestResponse => "",
        IntegrationPattern::Sync => ".sync",
        IntegrationPattern::Sync2 => ".sync:2",
        IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
    };
    match &resource.kind {
        ResourceKind::Service { service, action } => (service.clone(), format!("{action}{suffix}")),
        ResourceKind::Activity => ("activity".into(), resource.arn.clone()),
        ResourceKind::LambdaFunction { .. } => ("lambda-function".into(), resource.arn.clone()),
        ResourceKind::Other => ("other".into(), resource.arn.clone()),
    }
}

//! The errors of the AWS Step Functions API: their codes, HTTP statuses and JSON body.
//!
//! On the AWS JSON 1.0 protocol an error is an HTTP 4xx or 5xx response whose body names the
//! error in `__type` and explains it in `message` (lower case):
//!
//! ```json
//! {"__type": "com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist", "message": "..."}
//! ```
//!
//! Clients strip everything up to `#`, so a bare `ExecutionDoesNotExist` works as well; botocore
//! then raises the modeled exception of that name. [`ErrorCode`] lists the 33 exception shapes
//! of the service model, which AWS sends with status 400 (the model gives none of them another
//! `httpStatusCode`), and the errors the protocol and its authentication layer send for every
//! operation, such as `UnknownOperationException` for an unknown `X-Amz-Target` and
//! `InternalFailure` (500) for a failure of the service itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::shapes::{KmsKeyState, UnknownVariant, ValidationExceptionReason};

/// Declares [`ErrorCode`] with each variant's HTTP status and whether the model defines it.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $status:literal, $modeled:literal;)+) => {
        /// An error AWS Step Functions answers with, named as in `__type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ErrorCode {
            /// Every error code: the model's exception shapes in the model's order, then the
            /// protocol's errors.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)+];

            /// Returns the error's name, the `__type` of its body without a namespace.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)+
                }
            }

            /// Returns the HTTP status code AWS answers the error with.
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$name => $status,)+
                }
            }

            /// Tells whether the error is an exception shape of the service model, which
            /// clients raise as a modeled exception of that name.
            pub const fn is_modeled(self) -> bool {
                match self {
                    $(ErrorCode::$name => $modeled,)+
                }
            }
        }
    };
}

error_codes! {
    /// An activity with the same name already exists.
    ActivityAlreadyExists = 400, true;
    /// The specified activity does not exist.
    ActivityDoesNotExist = 400, true;
    /// The maximum number of activities has been reached.
    ActivityLimitExceeded = 400, true;
    /// The maximum number of workers concurrently polling for activity tasks has been reached.
    ActivityWorkerLimitExceeded = 400, true;
    /// Updating or deleting a resource could leave it in an inconsistent state.
    ConflictException = 400, true;
    /// An execution with the same `name` but a different `input` exists.
    ExecutionAlreadyExists = 400, true;
    /// The specified execution does not exist.
    ExecutionDoesNotExist = 400, true;
    /// The maximum number of running executions has been reached.
    ExecutionLimitExceeded = 400, true;
    /// The specified execution cannot be redriven.
    ExecutionNotRedrivable = 400, true;
    /// The provided Amazon Resource Name (ARN) is not valid.
    InvalidArn = 400, true;
    /// The provided Amazon States Language definition is not valid.
    InvalidDefinition = 400, true;
    /// The `encryptionConfiguration` is not valid.
    InvalidEncryptionConfiguration = 400, true;
    /// The provided JSON input data is not valid.
    InvalidExecutionInput = 400, true;
    /// The logging configuration is not valid.
    InvalidLoggingConfiguration = 400, true;
    /// The provided name is not valid.
    InvalidName = 400, true;
    /// The provided JSON output data is not valid.
    InvalidOutput = 400, true;
    /// The provided token is not valid.
    InvalidToken = 400, true;
    /// The `tracingConfiguration` is not valid.
    InvalidTracingConfiguration = 400, true;
    /// The KMS key policy or the caller lacks the required permissions.
    KmsAccessDeniedException = 400, true;
    /// The KMS key is not in a valid state; the body carries `kmsKeyState`.
    KmsInvalidStateException = 400, true;
    /// KMS throttled a call Step Functions made on behalf of the caller.
    KmsThrottlingException = 400, true;
    /// The request is missing a required parameter.
    MissingRequiredParameter = 400, true;
    /// The referenced resource does not exist; the body carries `resourceName`.
    ResourceNotFound = 400, true;
    /// The request would exceed a service quota.
    ServiceQuotaExceededException = 400, true;
    /// A state machine with the same name but a different definition or role exists.
    StateMachineAlreadyExists = 400, true;
    /// The specified state machine is being deleted.
    StateMachineDeleting = 400, true;
    /// The specified state machine does not exist.
    StateMachineDoesNotExist = 400, true;
    /// The maximum number of state machines has been reached.
    StateMachineLimitExceeded = 400, true;
    /// The state machine's type does not support the operation.
    StateMachineTypeNotSupported = 400, true;
    /// The task does not exist.
    TaskDoesNotExist = 400, true;
    /// The task token has expired or its task is already closed.
    TaskTimedOut = 400, true;
    /// The resource would have more tags than allowed; the body carries `resourceName`.
    TooManyTags = 400, true;
    /// The input does not satisfy the API's constraints; the body may carry `reason`.
    ValidationException = 400, true;
    /// `X-Amz-Target` names no operation of the service.
    UnknownOperationException = 400, false;
    /// The request body is not JSON, or does not have the shape of the operation's input.
    SerializationException = 400, false;
    /// The caller is not authorized to perform the operation.
    AccessDeniedException = 400, false;
    /// The `Authorization` header is not a well-formed SigV4 signature.
    IncompleteSignatureException = 400, false;
    /// The request's SigV4 signature does not match the one computed for it.
    InvalidSignatureException = 400, false;
    /// The request is not signed.
    MissingAuthenticationTokenException = 403, false;
    /// The access key or security token is not known.
    UnrecognizedClientException = 400, false;
    /// The request rate is too high.
    ThrottlingException = 400, false;
    /// The service failed to process the request.
    InternalFailure = 500, false;
    /// The service is temporarily unable to handle the request.
    ServiceUnavailable = 503, false;
}

impl ErrorCode {
    /// Returns the error a `__type` names, with or without a namespace before `#`
    /// (`com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist`).
    pub fn from_type(type_name: &str) -> Option<ErrorCode> {
        let name = type_name.rsplit('#').next().unwrap_or(type_name);
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "ErrorCode",
                value: s.to_owned(),
            })
    }
}

/// The JSON body of an error response.
///
/// Besides `message`, three exception shapes of the model carry a member of their own:
/// `ValidationException` a `reason`, `ResourceNotFound` and `TooManyTags` a `resourceName`,
/// and `KmsInvalidStateException` a `kmsKeyState`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error's name, possibly after a namespace and `#`; see [`ErrorBody::code`].
    #[serde(rename = "__type")]
    pub error_type: String,
    /// What went wrong, for people. Some AWS services spell it `Message`, which is accepted.
    #[serde(default, alias = "Message")]
    pub message: String,
    /// Why a `ValidationException` was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ValidationExceptionReason>,
    /// The resource of a `ResourceNotFound` or `TooManyTags`.
    #[serde(
        rename = "resourceName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_name: Option<String>,
    /// The state of the KMS key of a `KmsInvalidStateException`.
    #[serde(
        rename = "kmsKeyState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_key_state: Option<KmsKeyState>,
}

impl ErrorBody {
    /// Builds the body of `code` with `message`, naming the error without a namespace.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error_type: code.as_str().to_owned(),
            message: message.into(),
            reason: None,
            resource_name: None,
            kms_key_state: None,
        }
    }

    /// Sets the `reason` of a `ValidationException`.
    pub fn with_reason(mut self, reason: ValidationExceptionReason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the `resourceName` of a `ResourceNotFound` or `TooManyTags`.
    pub fn with_resource_name(mut self, resource_name: impl Into<String>) -> Self {
        self.resource_name = Some(resource_name.into());
        self
    }

    /// Sets the `kmsKeyState` of a `KmsInvalidStateException`.
    pub fn with_kms_key_state(mut self, kms_key_state: KmsKeyState) -> Self {
        self.kms_key_state = Some(kms_key_state);
        self
    }

    /// Returns the error `__type` names, if it is one of [`ErrorCode::ALL`].
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::from_type(&self.error_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::EXCEPTION_SHAPES;

    #[test]
    fn modeled_codes_are_the_model_exception_shapes() {
        let modeled: Vec<&str> = ErrorCode::ALL
            .iter()
            .filter(|code| code.is_modeled())
            .map(|code| code.as_str())
            .collect();
        let shapes: Vec<&str> = EXCEPTION_SHAPES.iter().map(|(name, _)| *name).collect();
        assert_eq!(modeled, shapes);
        assert_eq!(modeled.len(), 33);
    }

    #[test]
    fn error_body_carries_every_exception_member() {
        let carried = ["message", "reason", "resourceName", "kmsKeyState"];
        for (shape, members) in EXCEPTION_SHAPES {
            for member in *members {
                assert!(carried.contains(member), "{shape}.{member} is not carried");
            }
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorCode::ExecutionDoesNotExist.http_status(), 400);
        assert_eq!(ErrorCode::ValidationException.http_status(), 400);
        assert_eq!(ErrorCode::InternalFailure.http_status(), 500);
        assert_eq!(ErrorCode::ServiceUnavailable.http_status(), 503);
        for code in ErrorCode::ALL.iter().filter(|code| code.is_modeled()) {
            assert_eq!(code.http_status(), 400, "{code}");
        }
    }

    #[test]
    fn names_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
            assert_eq!(ErrorCode::from_type(code.as_str()), Some(*code));
        }
        assert_eq!(
            ErrorCode::from_type("com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist"),
            Some(ErrorCode::ExecutionDoesNotExist)
        );
        assert_eq!(
            ErrorCode::from_type("com.amazon.coral.service#UnknownOperationException"),
            Some(ErrorCode::UnknownOperationException)
        );
        assert_eq!(ErrorCode::from_type("NoSuchThing"), None);
        assert!("executiondoesnotexist".parse::<ErrorCode>().is_err());
    }
}

//! Step Functions ARNs and the naming rules of the resources they name.
//!
//! A [`StatesArn`] is `arn:{partition}:states:{region}:{account}:{resource}`, where the
//! resource part is one of the forms of [`StatesResource`]:
//!
//! | form | resource part |
//! |---|---|
//! | state machine | `stateMachine:{name}` |
//! | version | `stateMachine:{name}:{version}` |
//! | alias | `stateMachine:{name}:{alias}` |
//! | Distributed Map state | `stateMachine:{name}/{label}` |
//! | execution | `execution:{stateMachineName}:{executionName}` |
//! | express execution | `express:{stateMachineName}:{executionName}:{executionId}` |
//! | Map Run | `mapRun:{stateMachineName}/{label}:{mapRunId}` |
//! | Map Run child execution | `execution:{stateMachineName}/{label}:{executionName}` |
//! | activity | `activity:{name}` |
//!
//! Names cannot contain `:` or `/` (see [`validate_name`]), so the parts split unambiguously.
//! A qualifier of digits only is a version, anything else an alias; AWS alias names must
//! contain a non-digit for that reason (see [`validate_alias_name`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest name AWS allows for a state machine, execution, activity or alias.
pub const MAX_NAME_LEN: usize = 80;

/// Why a name is not a valid Step Functions resource name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameErrorKind {
    /// The name is empty.
    Empty,
    /// The name has more than [`MAX_NAME_LEN`] characters.
    TooLong,
    /// The name contains a character that names may not contain.
    ForbiddenChar(char),
    /// An alias name consists of digits only, which would read as a version number.
    OnlyDigits,
}

/// A name that AWS would reject with `InvalidName`.
///
/// Its `Display` is the message AWS returns with `InvalidName`: `Invalid Name: '{name}'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    name: String,
    kind: NameErrorKind,
}

impl NameError {
    /// Returns the rejected name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns which rule the name breaks.
    pub fn kind(&self) -> NameErrorKind {
        self.kind
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid Name: '{}'", self.name)
    }
}

impl std::error::Error for NameError {}

/// Tells whether AWS forbids `c` in the name of a state machine, execution or activity.
///
/// The rules are those of the AWS API reference: no white space, no brackets `< > { } [ ]`,
/// no wildcards `? *`, none of `" # % \ ^ | ~ ` $ & , ; : /`, no control characters
/// (U+0000–001F, U+007F–009F) and none of the noncharacters U+FFFE, U+FFFF and U+10FFFF.
pub fn is_forbidden_name_char(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '?'
                | '*'
                | '"'
                | '#'
                | '%'
                | '\\'
                | '^'
                | '|'
                | '~'
                | '`'
                | '$'
                | '&'
                | ','
                | ';'
                | ':'
                | '/'
                | '\u{0}'..='\u{1f}'
                | '\u{7f}'..='\u{9f}'
                | '\u{fffe}'
                | '\u{ffff}'
                | '\u{10ffff}'
        )
}

/// Checks a state machine, execution, activity or Map Run name against AWS's rules: 1 to 80
/// characters, none of them forbidden by [`is_forbidden_name_char`].
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let error = |kind| {
        Err(NameError {
            name: name.to_owned(),
            kind,
        })
    };
    if name.is_empty() {
        return error(NameErrorKind::Empty);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return error(NameErrorKind::TooLong);
    }
    match name.chars().find(|&c| is_forbidden_name_char(c)) {
        Some(c) => error(NameErrorKind::ForbiddenChar(c)),
        None => Ok(()),
    }
}

/// Checks a state machine alias name against AWS's rules: 1 to 80 characters from
/// `a-z A-Z 0-9 _ - .`, at least one of them not a digit.
pub fn validate_alias_name(name: &str) -> Result<(), NameError> {
    let error = |kind| {
        Err(NameError {
            name: name.to_owned(),
            kind,
        })
    };
    if name.is_empty() {
        return error(NameErrorKind::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return error(NameErrorKind::TooLong);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return error(NameErrorKind::ForbiddenChar(c));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return error(NameErrorKind::OnlyDigits);
    }
    Ok(())
}

/// What a Step Functions ARN names, with the names it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatesResource {
    /// `stateMachine:{name}`.
    StateMachine {
        /// The state machine's name.
        name: String,
    },
    /// `stateMachine:{name}:{version}`, a published version.
    StateMachineVersion {
        /// The state machine's name.
        name: String,
        /// The version number, counted from 1.
        version: u64,
    },
    /// `stateMachine:{name}:{alias}`.
    StateMachineAlias {
        /// The state machine's name.
        name: String,
        /// The alias name.
        alias: String,
    },
    /// `stateMachine:{name}/{label}`, a Distributed Map state of a state machine.
    StateMachineLabel {
        /// The state machine's name.
        name: String,
        /// The Map state's label.
        label: String,
    },
    /// `execution:{stateMachineName}:{executionName}`, an execution of a standard workflow.
    Execution {
        /// The name of the state machine it runs.
        state_machine_name: String,
        /// The execution's name.
        execution_name: String,
    },
    /// `express:{stateMachineName}:{executionName}:{executionId}`, an execution of an express
    /// workflow, whose names may repeat and so carry an id.
    ExpressExecution {
        /// The name of the state machine it runs.
        state_machine_name: String,
        /// The execution's name.
        execution_name: String,
        /// The id that makes the ARN unique, a UUID.
        execution_id: String,
    },
    /// `mapRun:{stateMachineName}/{label}:{mapRunId}`, the run of a Distributed Map state.
    MapRun {
        /// The name of the state machine of the parent execution.
        state_machine_name: String,
        /// The Map state's label.
        label: String,
        /// The id of this run, a UUID.
        map_run_id: String,
    },
    /// `execution:{stateMachineName}/{label}:{executionName}`, a child execution of a Map Run.
    MapRunExecution {
        /// The name of the state machine of the parent execution.
        state_machine_name: String,
        /// The Map state's label.
        label: String,
        /// The child execution's name.
        execution_name: String,
    },
    /// `activity:{name}`.
    Activity {
        /// The activity's name.
        name: String,
    },
}

/// A parsed Step Functions ARN: `arn:{partition}:states:{region}:{account}:{resource}`.
///
/// It displays as the ARN string, parses with [`FromStr`], and serializes as a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatesArn {
    /// The partition, such as `aws` or `aws-cn`.
    pub partition: String,
    /// The region, such as `us-east-1`.
    pub region: String,
    /// The twelve-digit account id.
    pub account: String,
    /// What the ARN names.
    pub resource: StatesResource,
}

/// A string that is not a Step Functions ARN of the expected form.
///
/// Its `Display` suits the message of an `InvalidArn` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnError {
    arn: String,
    reason: &'static str,
}

impl ArnError {
    fn new(arn: &str, reason: &'static str) -> Self {
        ArnError {
            arn: arn.to_owned(),
            reason,
        }
    }

    /// Returns the rejected string.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Returns what is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid Arn: '{}: {}'", self.reason, self.arn)
    }
}

impl std::error::Error for ArnError {}

impl StatesArn {
    /// Makes an ARN from its parts, without checking them.
    pub fn new(
        partition: impl Into<String>,
        region: impl Into<String>,
        account: impl Into<String>,
        resource: StatesResource,
    ) -> Self {
        StatesArn {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            resource,
        }
    }

    /// Makes an ARN in the same partition, region and account with another resource.
    pub fn with_resource(&self, resource: StatesResource) -> Self {
        StatesArn {
            resource,
            ..self.scope()
        }
    }

    /// Copies the partition, region and account, with a placeholder resource.
    fn scope(&self) -> Self {
        StatesArn {
            partition: self.partition.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            resource: StatesResource::Activity {
                name: String::new(),
            },
        }
    }

    /// Parses and checks an ARN; see the module documentation for the accepted forms.
    pub fn parse(arn: &str) -> Result<Self, ArnError> {
        let err = |reason| ArnError::new(arn, reason);
        let mut head = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) = (
            head.next(),
            head.next(),
            head.next(),
            head.next(),
            head.next(),
            head.next(),
        ) else {
            return Err(err("not an ARN"));
        };
        if service != "states" {
            return Err(err("not a Step Functions ARN"));
        }
        if partition.is_empty()
            || !partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
        {
            return Err(err("invalid partition"));
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("invalid region"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("invalid account id"));
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let name = |s: &str| {
            validate_name(s)
                .map(|()| s.to_owned())
                .map_err(|_| err("invalid name"))
        };
        let id = |s: &str| {
            if s.is_empty() || s.contains('/') {
                Err(err("invalid id"))
            } else {
                Ok(s.to_owned())
            }
        };
        let resource = match parts.as_slice() {
            ["stateMachine", qualified] => match qualified.split_once('/') {
                None => StatesResource::StateMachine {
                    name: name(qualified)?,
                },
                Some((sm, label)) => StatesResource::StateMachineLabel {
                    name: name(sm)?,
                    label: id(label)?,
                },
            },
            ["stateMachine", sm, qualifier] => {
                if qualifier.bytes().all(|b| b.is_ascii_digit()) {
                    let version = qualifier
                        .parse::<u64>()
                        .ok()
                        .filter(|v| *v > 0 && !qualifier.starts_with('0'))
                        .ok_or_else(|| err("invalid version"))?;
                    StatesResource::StateMachineVersion {
                        name: name(sm)?,
                        version,
                    }
                } else {
                    validate_alias_name(qualifier).map_err(|_| err("invalid alias name"))?;
                    StatesResource::StateMachineAlias {
                        name: name(sm)?,
                        alias: (*qualifier).to_owned(),
                    }
                }
            }
            ["execution", qualified, execution] => match qualified.split_once('/') {
                None => StatesResource::Execution {
                    state_machine_name: name(qualified)?,
                    execution_name: name(execution)?,
                },
                Some((sm, label)) => StatesResource::MapRunExecution {
                    state_machine_name: name(sm)?,
                    label: id(label)?,
                    execution_name: name(execution)?,
                },
            },
            ["express", sm, execution, execution_id] => StatesResource::ExpressExecution {
                state_machine_name: name(sm)?,
                execution_name: name(execution)?,
                execution_id: id(execution_id)?,
            },
            ["mapRun", qualified, map_run_id] => {
                let (sm, label) = qualified
                    .split_once('/')
                    .ok_or_else(|| err("a Map Run ARN needs a label"))?;
                StatesResource::MapRun {
                    state_machine_name: name(sm)?,
                    label: id(label)?,
                    map_run_id: id(map_run_id)?,
                }
            }
            ["activity", activity] => StatesResource::Activity {
                name: name(activity)?,
            },
            _ => return Err(err("unknown resource type")),
        };
        Ok(StatesArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource,
        })
    }

    /// Returns the name of the state machine this ARN is or belongs to; `None` for an activity.
    pub fn state_machine_name(&self) -> Option<&str> {
        match &self.resource {
            StatesResource::StateMachine { name }
            | StatesResource::StateMachineVersion { name, .. }
            | StatesResource::StateMachineAlias { name, .. }
            | StatesResource::StateMachineLabel { name, .. } => Some(name),
            StatesResource::Execution {
                state_machine_name, ..
            }
            | StatesResource::ExpressExecution {
                state_machine_name, ..
            }
            | StatesResource::MapRun {
                state_machine_name, ..
            }
            | StatesResource::MapRunExecution {
                state_machine_name, ..
            } => Some(state_machine_name),
            StatesResource::Activity { .. } => None,
        }
    }

    /// Returns the unqualified state machine ARN (`stateMachine:{name}`) this ARN is or
    /// belongs to; `None` for an activity.
    pub fn state_machine(&self) -> Option<StatesArn> {
        let name = self.state_machine_name()?.to_owned();
        Some(self.with_resource(StatesResource::StateMachine { name }))
    }

    /// Returns the ARN of a standard execution named `execution_name` of this state machine,
    /// version or alias; executions of a version or alias are named after the state machine.
    pub fn execution(&self, execution_name: impl Into<String>) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::StateMachine { name }
            | StatesResource::StateMachineVersion { name, .. }
            | StatesResource::StateMachineAlias { name, .. } => {
                Some(self.with_resource(StatesResource::Execution {
                    state_machine_name: name.clone(),
                    execution_name: execution_name.into(),
                }))
            }
            _ => None,
        }
    }

    /// Returns the ARN of an express execution of this state machine, version or alias.
    pub fn express_execution(
        &self,
        execution_name: impl Into<String>,
        execution_id: impl Into<String>,
    ) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::StateMachine { name }
            | StatesResource::StateMachineVersion { name, .. }
            | StatesResource::StateMachineAlias { name, .. } => {
                Some(self.with_resource(StatesResource::ExpressExecution {
                    state_machine_name: name.clone(),
                    execution_name: execution_name.into(),
                    execution_id: execution_id.into(),
                }))
            }
            _ => None,
        }
    }

    /// Returns the ARN of a Map Run that this execution starts for the Map state `label`.
    pub fn map_run(
        &self,
        label: impl Into<String>,
        map_run_id: impl Into<String>,
    ) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::Execution {
                state_machine_name, ..
            }
            | StatesResource::ExpressExecution {
                state_machine_name, ..
            }
            | StatesResource::MapRunExecution {
                state_machine_name, ..
            } => Some(self.with_resource(StatesResource::MapRun {
                state_machine_name: state_machine_name.clone(),
                label: label.into(),
                map_run_id: map_run_id.into(),
            })),
            _ => None,
        }
    }

    /// Returns the ARN of a child execution named `execution_name` of this Map Run.
    pub fn map_run_execution(&self, execution_name: impl Into<String>) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::MapRun {
                state_machine_name,
                label,
                ..
            } => Some(self.with_resource(StatesResource::MapRunExecution {
                state_machine_name: state_machine_name.clone(),
                label: label.clone(),
                execution_name: execution_name.into(),
            })),
            _ => None,
        }
    }

    /// Returns the ARN of version `version` of this state machine.
    pub fn version(&self, version: u64) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::StateMachine { name } => {
                Some(self.with_resource(StatesResource::StateMachineVersion {
                    name: name.clone(),
                    version,
                }))
            }
            _ => None,
        }
    }

    /// Returns the ARN of the alias `alias` of this state machine.
    pub fn alias(&self, alias: impl Into<String>) -> Option<StatesArn> {
        match &self.resource {
            StatesResource::StateMachine { name } => {
                Some(self.with_resource(StatesResource::StateMachineAlias {
                    name: name.clone(),
                    alias: alias.into(),
                }))
            }
            _ => None,
        }
    }
}

impl fmt::Display for StatesArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:states:{}:{}:",
            self.partition, self.region, self.account
        )?;
        match &self.resource {
            StatesResource::StateMachine { name } => write!(f, "stateMachine:{name}"),
            StatesResource::StateMachineVersion { name, version } => {
                write!(f, "stateMachine:{name}:{version}")
            }
            StatesResource::StateMachineAlias { name, alias } => {
                write!(f, "stateMachine:{name}:{alias}")
            }
            StatesResource::StateMachineLabel { name, label } => {
                write!(f, "stateMachine:{name}/{label}")
            }
            StatesResource::Execution {
                state_machine_name,
                execution_name,
            } => {
                write!(f, "execution:{state_machine_name}:{execution_name}")
            }
            StatesResource::ExpressExecution {
                state_machine_name,
                execution_name,
                execution_id,
            } => {
                write!(
                    f,
                    "express:{state_machine_name}:{execution_name}:{execution_id}"
                )
            }
            StatesResource::MapRun {
                state_machine_name,
                label,
                map_run_id,
            } => {
                write!(f, "mapRun:{state_machine_name}/{label}:{map_run_id}")
            }
            StatesResource::MapRunExecution {
                state_machine_name,
                label,
                execution_name,
            } => {
                write!(f, "execution:{state_machine_name}/{label}:{execution_name}")
            }
            StatesResource::Activity { name } => write!(f, "activity:{name}"),
        }
    }
}

impl FromStr for StatesArn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatesArn::parse(s)
    }
}

impl Serialize for StatesArn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatesArn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        StatesArn::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld";

    fn sm() -> StatesArn {
        StatesArn::parse(SM).unwrap()
    }

    #[test]
    fn round_trips_every_form() {
        for arn in [
            SM,
            "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld:1",
            "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld:12",
            "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld:PROD",
            "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld/mapStateLabel",
            "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:run-1",
            "arn:aws:states:us-east-1:123456789012:express:HelloWorld:run-1:0f3a1b2c-1111-2222-3333-444455556666",
            "arn:aws:states:us-east-1:123456789012:mapRun:HelloWorld/myLabel:ce9b2db3-1111-2222-3333-444455556666",
            "arn:aws:states:us-east-1:123456789012:execution:HelloWorld/myLabel:ce9b2db3-1111-2222-3333-444455556666",
            "arn:aws:states:us-east-1:123456789012:activity:Worker",
            "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:x",
            "arn:aws-us-gov:states:us-gov-west-1:123456789012:activity:y",
        ] {
            let parsed = StatesArn::parse(arn).unwrap_or_else(|e| panic!("{arn}: {e}"));
            assert_eq!(parsed.to_string(), arn);
        }
    }

    #[test]
    fn parses_parts() {
        let arn =
            StatesArn::parse("arn:aws:states:eu-west-2:000000000000:stateMachine:Hello:3").unwrap();
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.region, "eu-west-2");
        assert_eq!(arn.account, "000000000000");
        assert_eq!(
            arn.resource,
            StatesResource::StateMachineVersion {
                name: "Hello".into(),
                version: 3
            }
        );
        let alias = StatesArn::parse("arn:aws:states:eu-west-2:000000000000:stateMachine:Hello:v2")
            .unwrap();
        assert_eq!(
            alias.resource,
            StatesResource::StateMachineAlias {
                name: "Hello".into(),
                alias: "v2".into()
            }
        );
    }

    #[test]
    fn rejects_bad_arns() {
        for (arn, reason) in [
            ("", "not an ARN"),
            ("arn:aws:states:us-east-1:123456789012", "not an ARN"),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:f",
                "not a Step Functions ARN",
            ),
            (
                "arn::states:us-east-1:123456789012:activity:a",
                "invalid partition",
            ),
            ("arn:aws:states::123456789012:activity:a", "invalid region"),
            (
                "arn:aws:states:us-east-1:1234:activity:a",
                "invalid account id",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:activity:",
                "invalid name",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:activity:a b",
                "invalid name",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:a:0",
                "invalid version",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:a:01",
                "invalid version",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:a:b$c",
                "invalid alias name",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:execution:a",
                "unknown resource type",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:execution:a:b:c",
                "unknown resource type",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:mapRun:a:b",
                "a Map Run ARN needs a label",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:a/",
                "invalid id",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:express:a:b:",
                "invalid id",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:table:a",
                "unknown resource type",
            ),
        ] {
            let err = StatesArn::parse(arn).unwrap_err();
            assert_eq!(err.reason(), reason, "{arn}");
            assert_eq!(err.arn(), arn);
        }
        let err = StatesArn::parse("nope").unwrap_err();
        assert_eq!(err.to_string(), "Invalid Arn: 'not an ARN: nope'");
    }

    #[test]
    fn derives_related_arns() {
        let sm = sm();
        let exec = sm.execution("run-1").unwrap();
        assert_eq!(
            exec.to_string(),
            "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:run-1"
        );
        let via_version = sm.version(4).unwrap().execution("run-1").unwrap();
        assert_eq!(via_version, exec);
        let via_alias = sm.alias("PROD").unwrap();
        assert_eq!(via_alias.to_string(), format!("{SM}:PROD"));
        assert_eq!(via_alias.execution("run-1").unwrap(), exec);
        assert_eq!(
            sm.express_execution("e", "id-1").unwrap().to_string(),
            "arn:aws:states:us-east-1:123456789012:express:HelloWorld:e:id-1"
        );
        let map_run = exec.map_run("label", "uuid-1").unwrap();
        assert_eq!(
            map_run.to_string(),
            "arn:aws:states:us-east-1:123456789012:mapRun:HelloWorld/label:uuid-1"
        );
        assert_eq!(
            map_run.map_run_execution("child").unwrap().to_string(),
            "arn:aws:states:us-east-1:123456789012:execution:HelloWorld/label:child"
        );
        assert_eq!(exec.state_machine().unwrap(), sm);
        assert_eq!(exec.state_machine_name(), Some("HelloWorld"));
        assert_eq!(exec.execution("x"), None);
        assert_eq!(sm.map_run("l", "i"), None);
        assert_eq!(exec.version(1), None);
        let activity = sm.with_resource(StatesResource::Activity { name: "w".into() });
        assert_eq!(activity.state_machine_name(), None);
        assert_eq!(
            activity.to_string(),
            "arn:aws:states:us-east-1:123456789012:activity:w"
        );
    }

    #[test]
    fn serde_as_string() {
        let sm = sm();
        assert_eq!(serde_json::to_string(&sm).unwrap(), format!("\"{SM}\""));
        assert_eq!(
            serde_json::from_str::<StatesArn>(&format!("\"{SM}\"")).unwrap(),
            sm
        );
        assert!(serde_json::from_str::<StatesArn>("\"arn:nope\"").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("HelloWorld"), Ok(()));
        assert_eq!(validate_name("a-b_c.d(e)!@'+=é漢字"), Ok(()));
        assert_eq!(validate_name(&"x".repeat(80)), Ok(()));
        assert_eq!(validate_name(&"é".repeat(80)), Ok(()));
        assert_eq!(validate_name("").unwrap_err().kind(), NameErrorKind::Empty);
        assert_eq!(
            validate_name(&"x".repeat(81)).unwrap_err().kind(),
            NameErrorKind::TooLong
        );
        for c in [
            ' ',
            '\t',
            '\n',
            '\u{a0}',
            '\u{2003}',
            '<',
            '>',
            '{',
            '}',
            '[',
            ']',
            '?',
            '*',
            '"',
            '#',
            '%',
            '\\',
            '^',
            '|',
            '~',
            '`',
            '$',
            '&',
            ',',
            ';',
            ':',
            '/',
            '\u{0}',
            '\u{1f}',
            '\u{7f}',
            '\u{9f}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{10ffff}',
        ] {
            let name = format!("a{c}b");
            let err = validate_name(&name).unwrap_err();
            assert_eq!(err.kind(), NameErrorKind::ForbiddenChar(c), "{c:?}");
            assert_eq!(err.name(), name);
        }
        assert_eq!(
            validate_name("a b").unwrap_err().to_string(),
            "Invalid Name: 'a b'"
        );
    }

    #[test]
    fn alias_names() {
        assert_eq!(validate_alias_name("PROD"), Ok(()));
        assert_eq!(validate_alias_name("v1.2-beta_3"), Ok(()));
        assert_eq!(
            validate_alias_name("123").unwrap_err().kind(),
            NameErrorKind::OnlyDigits
        );
        assert_eq!(
            validate_alias_name("").unwrap_err().kind(),
            NameErrorKind::Empty
        );
        assert_eq!(
            validate_alias_name(&"a".repeat(81)).unwrap_err().kind(),
            NameErrorKind::TooLong
        );
        assert_eq!(
            validate_alias_name("a b").unwrap_err().kind(),
            NameErrorKind::ForbiddenChar(' ')
        );
        assert_eq!(
            validate_alias_name("é").unwrap_err().kind(),
            NameErrorKind::ForbiddenChar('é')
        );
    }
}

//! Jobs: Batch `submitJob`, ECS/Fargate `runTask` and Glue `startJobRun` run a command named in
//! the configuration. With `.sync` the task waits for the command and answers with the shape the
//! service's describe call returns; without it, it answers at once with the submit response.

use std::time::Duration;

use aslan_engine::TaskError;
use serde_json::{Value, json};

use crate::config::JobConfig;
use crate::now_ms;
use crate::process::{self, End, Spec};

/// Which service a job resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Batch,
    Ecs,
    Glue,
}

impl Service {
    pub(crate) fn of(service: &str, action: &str) -> Option<Service> {
        match (service, action) {
            ("batch", "submitJob") => Some(Service::Batch),
            ("ecs", "runTask") => Some(Service::Ecs),
            ("glue", "startJobRun") => Some(Service::Glue),
            _ => None,
        }
    }

    /// The configured job a request names: the job definition, task definition family or job.
    pub(crate) fn job_name(self, parameters: &Value) -> Option<String> {
        let field = match self {
            Service::Batch => "JobDefinition",
            Service::Ecs => "TaskDefinition",
            Service::Glue => "JobName",
        };
        let text = parameters.get(field)?.as_str()?;
        // ARNs end in `.../NAME:REVISION`; names may carry `:REVISION`.
        let last = text.rsplit('/').next().unwrap_or(text);
        Some(last.split(':').next().unwrap_or(last).to_owned())
    }

    fn missing_error(self, name: &str) -> TaskError {
        let (error, what) = match self {
            Service::Batch => ("Batch.ClientException", "Job definition"),
            Service::Ecs => ("ECS.InvalidParameterException", "Task definition"),
            Service::Glue => ("Glue.EntityNotFoundException", "Job"),
        };
        TaskError::new(
            error,
            format!(
                "{what} '{name}' is not defined in the configuration ([jobs.{name}] in aslan.toml)."
            ),
        )
    }
}

/// Extra environment variables the request's overrides ask for.
fn overrides(service: Service, parameters: &Value) -> Vec<(String, String)> {
    let pairs = |list: Option<&Value>| -> Vec<(String, String)> {
        list.and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| {
                        Some((
                            i.get("Name")?.as_str()?.to_owned(),
                            i.get("Value")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match service {
        Service::Batch => pairs(parameters.pointer("/ContainerOverrides/Environment")),
        Service::Ecs => parameters
            .pointer("/Overrides/ContainerOverrides")
            .and_then(Value::as_array)
            .map(|c| c.iter().flat_map(|o| pairs(o.get("Environment"))).collect())
            .unwrap_or_default(),
        Service::Glue => parameters
            .get("Arguments")
            .and_then(Value::as_object)
            .map(|args| {
                args.iter()
                    .map(|(k, v)| {
                        let key = k.trim_start_matches("--").replace('-', "_").to_uppercase();
                        (
                            format!("GLUE_ARG_{key}"),
                            v.as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// What a job run looked like at its end.
struct Run {
    id: String,
    started: i64,
    stopped: i64,
    exit_code: Option<i32>,
    reason: String,
}

fn describe(
    service: Service,
    name: &str,
    parameters: &Value,
    run: &Run,
    region: &str,
    account: &str,
) -> Value {
    let succeeded = run.exit_code == Some(0);
    match service {
        Service::Batch => {
            let queue = parameters
                .get("JobQueue")
                .and_then(Value::as_str)
                .unwrap_or("default");
            json!({
                "Attempts": [{
                    "Container": {"ExitCode": run.exit_code, "LogStreamName": format!("{name}/default/{}", run.id)},
                    "StartedAt": run.started,
                    "StatusReason": run.reason,
                    "StoppedAt": run.stopped,
                }],
                "Container": {"ExitCode": run.exit_code, "Environment": [], "LogStreamName": format!("{name}/default/{}", run.id)},
                "CreatedAt": run.started,
                "DependsOn": [],
                "JobArn": format!("arn:aws:batch:{region}:{account}:job/{}", run.id),
                "JobDefinition": format!("arn:aws:batch:{region}:{account}:job-definition/{name}:1"),
                "JobId": run.id,
                "JobName": parameters.get("JobName").cloned().unwrap_or(json!(name)),
                "JobQueue": format!("arn:aws:batch:{region}:{account}:job-queue/{queue}"),
                "Parameters": parameters.get("Parameters").cloned().unwrap_or(json!({})),
                "StartedAt": run.started,
                "Status": if succeeded { "SUCCEEDED" } else { "FAILED" },
                "StatusReason": run.reason,
                "StoppedAt": run.stopped,
                "Tags": {},
            })
        }
        Service::Ecs => {
            let cluster = parameters
                .get("Cluster")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let task_arn = format!("arn:aws:ecs:{region}:{account}:task/{cluster}/{}", run.id);
            json!({
                "Attachments": [],
                "Attributes": [],
                "ClusterArn": format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}"),
                "Containers": [{
                    "ContainerArn": format!("arn:aws:ecs:{region}:{account}:container/{cluster}/{}/{name}", run.id),
                    "ExitCode": run.exit_code,
                    "LastStatus": "STOPPED",
                    "Name": name,
                    "TaskArn": task_arn,
                }],
                "CreatedAt": run.started,
                "DesiredStatus": "STOPPED",
                "LastStatus": "STOPPED",
                "LaunchType": parameters.get("LaunchType").cloned().unwrap_or(json!("FARGATE")),
                "StartedAt": run.started,
                "StopCode": "EssentialContainerExited",
                "StoppedAt": run.stopped,
                "StoppedReason": run.reason,
                "TaskArn": task_arn,
                "TaskDefinitionArn": format!("arn:aws:ecs:{region}:{account}:task-definition/{name}:1"),
                "Version": 3,
            })
        }
        Service::Glue => {
            let mut run_json = json!({
                "Arguments": parameters.get("Arguments").cloned().unwrap_or(json!({})),
                "Attempt": 0,
                "CompletedOn": run.stopped,
                "ExecutionTime": (run.stopped - run.started) / 1000,
                "Id": run.id,
                "JobName": name,
                "JobRunState": if succeeded { "SUCCEEDED" } else { "FAILED" },
                "LastModifiedOn": run.stopped,
                "StartedOn": run.started,
            });
            if !succeeded {
                run_json["ErrorMessage"] = json!(run.reason);
            }
            run_json
        }
    }
}

/// Everything a job run needs to know about its caller.
pub(crate) struct JobRequest<'a> {
    pub(crate) service: Service,
    pub(crate) wait: bool,
    pub(crate) parameters: &'a Value,
    pub(crate) execution: &'a str,
    pub(crate) state: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
}

/// Runs (or starts) a job.
pub(crate) async fn run(
    jobs: &std::collections::BTreeMap<String, JobConfig>,
    base: &std::path::Path,
    request: JobRequest<'_>,
) -> Result<Value, TaskError> {
    let service = request.service;
    let Some(name) = service.job_name(request.parameters) else {
        return Err(TaskError::new(
            "States.Runtime",
            "The job request names no job (JobDefinition, TaskDefinition or JobName).",
        ));
    };
    let Some(job) = jobs.get(&name) else {
        return Err(service.missing_error(&name));
    };
    let id = uuid::Uuid::new_v4().to_string();
    let id = if service == Service::Glue {
        format!("jr_{}", id.replace('-', ""))
    } else {
        id
    };
    let mut env = vec![
        ("ASLAN_JOB_ID".to_owned(), id.clone()),
        (
            "ASLAN_EXECUTION_ARN".to_owned(),
            request.execution.to_owned(),
        ),
        ("ASLAN_STATE_NAME".to_owned(), request.state.to_owned()),
    ];
    env.extend(job.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(overrides(service, request.parameters));
    let spec = Spec {
        argv: job.command.clone(),
        dir: base.join(
            job.directory
                .as_deref()
                .unwrap_or(std::path::Path::new(".")),
        ),
        env,
        timeout: Duration::from_secs(job.timeout_seconds.unwrap_or(3600)),
        memory_bytes: None,
        max_output: 16 * 1024 * 1024,
        label: format!("job {name}"),
        execution: request.execution.to_owned(),
        state: request.state.to_owned(),
    };
    let input = serde_json::to_vec(request.parameters).unwrap_or_default();
    let started = now_ms();
    let execution = request.execution.to_owned();
    let state = request.state.to_owned();
    let work = async move {
        let end = process::run(&spec, input).await;
        let stopped = now_ms();
        let (exit_code, reason) = match end {
            End::Exited { code, stdout } => {
                for line in String::from_utf8_lossy(&stdout).lines() {
                    tracing::info!(target: "aslan::task", execution = %execution, state = %state, "{}: {line}", spec.label);
                }
                let reason = match code {
                    Some(0) => "Essential container in task exited".to_owned(),
                    Some(c) => format!("Essential container in task exited with code {c}"),
                    None => "Essential container in task was killed".to_owned(),
                };
                (code, reason)
            }
            End::TimedOut => (
                None,
                format!(
                    "Job attempt duration exceeded timeout ({}s)",
                    spec.timeout.as_secs()
                ),
            ),
            End::SpawnFailed(message) => (None, message),
            End::OutOfMemory => (
                None,
                "OutOfMemoryError: Container killed due to memory usage".to_owned(),
            ),
            End::OutputTooLarge => (None, "The job wrote more than 16 MiB to stdout".to_owned()),
        };
        (started, stopped, exit_code, reason)
    };
    if !request.wait {
        tokio::spawn(work);
        let (region, account) = (request.region, request.account);
        return Ok(match service {
            Service::Batch => json!({
                "JobArn": format!("arn:aws:batch:{region}:{account}:job/{id}"),
                "JobId": id,
                "JobName": request.parameters.get("JobName").cloned().unwrap_or(json!(name)),
            }),
            Service::Ecs => json!({
                "Failures": [],
                "Tasks": [{
                    "LastStatus": "PROVISIONING",
                    "DesiredStatus": "RUNNING",
                    "TaskArn": format!("arn:aws:ecs:{region}:{account}:task/default/{id}"),
                    "TaskDefinitionArn": format!("arn:aws:ecs:{region}:{account}:task-definition/{name}:1"),
                    "CreatedAt": started,
                }],
            }),
            Service::Glue => json!({"JobRunId": id}),
        });
    }
    let (started, stopped, exit_code, reason) = work.await;
    let run = Run {
        id,
        started,
        stopped,
        exit_code,
        reason,
    };
    let described = describe(
        service,
        &name,
        request.parameters,
        &run,
        request.region,
        request.account,
    );
    if exit_code == Some(0) {
        Ok(described)
    } else {
        Err(TaskError::new("States.TaskFailed", described.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_from_definitions_and_arns() {
        let batch = json!({"JobDefinition": "arn:aws:batch:us-east-1:1:job-definition/validate:3"});
        assert_eq!(Service::Batch.job_name(&batch).as_deref(), Some("validate"));
        let ecs = json!({"TaskDefinition": "prep:2"});
        assert_eq!(Service::Ecs.job_name(&ecs).as_deref(), Some("prep"));
        assert_eq!(
            Service::Glue
                .job_name(&json!({"JobName": "etl"}))
                .as_deref(),
            Some("etl")
        );
        assert_eq!(Service::of("glue", "startJobRun"), Some(Service::Glue));
        assert_eq!(Service::of("glue", "getJobRun"), None);
    }

    #[test]
    fn environment_overrides() {
        let batch = json!({"ContainerOverrides": {"Environment": [{"Name": "A", "Value": "1"}]}});
        assert_eq!(
            overrides(Service::Batch, &batch),
            vec![("A".into(), "1".into())]
        );
        let glue = json!({"Arguments": {"--input-path": "s3://x"}});
        assert_eq!(
            overrides(Service::Glue, &glue),
            vec![("GLUE_ARG_INPUT_PATH".into(), "s3://x".into())]
        );
    }
}

//! The project configuration file, `aslan.toml`: where each Task resource goes.
//!
//! ```toml
//! [functions.validate]              # arn:aws:lambda:...:function:validate and lambda:invoke
//! command = ["python3", "validate.py"]   # one process per invocation: event on stdin, result on stdout
//! timeout_seconds = 30
//! memory_mb = 256
//!
//! [functions.process]
//! runtime = "python"                # a Lambda-style handler, `module.function`, in `code`
//! handler = "handler.handler"
//! code = "functions/process"
//! workers = 2                       # kept running and reused (expensive start-up)
//!
//! [functions.remote]
//! url = "http://127.0.0.1:9000/invoke"   # the event is POSTed, the body is the result
//!
//! [jobs.validate-data]              # batch:submitJob / ecs:runTask / glue:startJobRun
//! command = ["./validate.sh"]
//!
//! [connections.orders-api]          # http:invoke's Authentication.ConnectionArn
//! kind = "api_key"
//! api_key_name = "x-api-key"
//! api_key_value = { env = "ORDERS_API_KEY" }
//!
//! [state_machines]                  # states:startExecution in `aslan run`
//! child = "child.asl.json"
//!
//! [aws]                             # sqs/sns/dynamodb/events/aws-sdk integrations
//! endpoint_url = "http://127.0.0.1:5000"   # an emulator; leave out for real AWS
//! region = "us-east-1"                     # credentials: AWS_ACCESS_KEY_ID/... by default
//! ```
//!
//! Nothing a definition says can make aslan run a command that this file does not name: a
//! function or job missing here fails the task with the AWS "not found" error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// What is wrong, with the file and place.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

fn config_error(message: impl Into<String>) -> ConfigError {
    ConfigError {
        message: message.into(),
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Functions by name.
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    /// Jobs (Batch job definitions, ECS task definitions, Glue jobs) by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobConfig>,
    /// HTTP connections by name.
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// State machine definition files by name, for nested executions in `aslan run`.
    #[serde(default)]
    pub state_machines: BTreeMap<String, PathBuf>,
    /// S3 buckets that are local directories, by bucket name.
    #[serde(default)]
    pub buckets: BTreeMap<String, PathBuf>,
    /// Where AWS service integrations go, and with which credentials.
    pub aws: Option<crate::aws::AwsConfig>,
    /// The directory the file is in; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// How a function runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// A command run per invocation (or kept running with `workers`).
    pub command: Option<Vec<String>>,
    /// `python` or `node`: run `handler` from `code` the way Lambda's runtime does.
    pub runtime: Option<String>,
    /// `module.function` for a runtime.
    pub handler: Option<String>,
    /// The function's code directory (default: the configuration's directory).
    pub code: Option<PathBuf>,
    /// An HTTP endpoint the event is POSTed to.
    pub url: Option<String>,
    /// Keep this many long-running processes and hand them invocations one at a time.
    pub workers: Option<usize>,
    /// Seconds before an invocation is stopped (default 60; Lambda's limit is 900).
    pub timeout_seconds: Option<u64>,
    /// The most memory the process tree may use, MiB (default 1024).
    pub memory_mb: Option<u64>,
    /// The largest result, bytes (default 6 MiB, as Lambda).
    pub max_output_bytes: Option<usize>,
    /// Extra environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

/// How a job runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The command; the task's parameters arrive as JSON on stdin.
    pub command: Vec<String>,
    /// Seconds before the job is stopped and fails (default 3600).
    pub timeout_seconds: Option<u64>,
    /// Working directory (default: the configuration's directory).
    pub directory: Option<PathBuf>,
    /// Extra environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

/// A secret: written inline, or read from an environment variable or a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    /// `{ env = "NAME" }`.
    Env {
        /// The variable.
        env: String,
    },
    /// `{ file = "path" }`.
    File {
        /// The file, whose content (trimmed) is the secret.
        file: PathBuf,
    },
    /// Inline text (discouraged; fine for local endpoints).
    Inline(String),
}

impl Secret {
    /// Reads the secret; `base` resolves relative file paths.
    pub fn read(&self, base: &Path) -> Result<String, String> {
        match self {
            Secret::Inline(text) => Ok(text.clone()),
            Secret::Env { env } => {
                std::env::var(env).map_err(|_| format!("the environment variable {env} is not set"))
            }
            Secret::File { file } => std::fs::read_to_string(base.join(file))
                .map(|text| text.trim().to_owned())
                .map_err(|e| format!("cannot read {}: {e}", base.join(file).display())),
        }
    }
}

impl fmt::Display for Secret {
    /// Never the value: where it comes from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => f.write_str("(inline secret)"),
            Secret::Env { env } => write!(f, "$({env})"),
            Secret::File { file } => write!(f, "file {}", file.display()),
        }
    }
}

/// An HTTP connection's authorization, as EventBridge connections define it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// `basic`, `api_key`, `oauth_client_credentials` or `none`.
    pub kind: String,
    /// Basic: the user name.
    pub username: Option<String>,
    /// Basic: the password.
    pub password: Option<Secret>,
    /// API key: the header name.
    pub api_key_name: Option<String>,
    /// API key: the value.
    pub api_key_value: Option<Secret>,
    /// OAuth: the token endpoint.
    pub token_url: Option<String>,
    /// OAuth: the client id.
    pub client_id: Option<String>,
    /// OAuth: the client secret.
    pub client_secret: Option<Secret>,
    /// OAuth: the scope, if any.
    pub scope: Option<String>,
    /// Headers added to every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl Config {
    /// Sets an environment variable for every function and job that does not set it itself.
    pub fn set_default_environment(&mut self, name: &str, value: &str) {
        let environments = self
            .functions
            .values_mut()
            .map(|f| &mut f.environment)
            .chain(self.jobs.values_mut().map(|j| &mut j.environment));
        for environment in environments {
            environment
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
    }

    /// Parses the text of `path` (used in messages and to resolve relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| config_error(format!("{}: {e}", path.display())))?;
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Absolute, so that commands started in other directories still find their files.
        config.base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        config.check(path)?;
        Ok(config)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text, path)
    }

    /// The configuration named by `--config`, or else `aslan.toml` in `dir` if there is one.
    pub fn discover(explicit: Option<&Path>, dir: &Path) -> Result<Option<Config>, ConfigError> {
        if let Some(path) = explicit {
            return Config::load(path).map(Some);
        }
        let candidate = dir.join("aslan.toml");
        if candidate.is_file() {
            return Config::load(&candidate).map(Some);
        }
        Ok(None)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let at = |what: &str| format!("{}: {what}", path.display());
        for (name, function) in &self.functions {
            let kinds = [
                function.command.is_some(),
                function.runtime.is_some(),
                function.url.is_some(),
            ];
            match kinds.iter().filter(|k| **k).count() {
                1 => {}
                0 => {
                    return Err(config_error(at(&format!(
                        "function '{name}' needs one of command, runtime (with handler) or url"
                    ))));
                }
                _ => {
                    return Err(config_error(at(&format!(
                        "function '{name}' has more than one of command, runtime and url"
                    ))));
                }
            }
            if function.command.as_ref().is_some_and(Vec::is_empty) {
                return Err(config_error(at(&format!(
                    "function '{name}': command is empty"
                ))));
            }
            if let Some(runtime) = &function.runtime {
                if !matches!(runtime.as_str(), "python" | "node") {
                    return Err(config_error(at(&format!(
                        "function '{name}': runtime '{runtime}' is not one of python, node"
                    ))));
                }
                let valid = function
                    .handler
                    .as_deref()
                    .and_then(|h| h.rsplit_once('.'))
                    .is_some_and(|(m, f)| !m.is_empty() && !f.is_empty());
                if !valid {
                    return Err(config_error(at(&format!(
                        "function '{name}': a runtime needs handler = \"module.function\""
                    ))));
                }
            } else if function.handler.is_some() {
                return Err(config_error(at(&format!(
                    "function '{name}': handler needs runtime = \"python\" or \"node\""
                ))));
            }
            if function.workers == Some(0) {
                return Err(config_error(at(&format!(
                    "function '{name}': workers must be at least 1"
                ))));
            }
            if function.url.is_some() && function.workers.is_some() {
                return Err(config_error(at(&format!(
                    "function '{name}': workers applies to command and runtime functions"
                ))));
            }
        }
        for (name, job) in &self.jobs {
            if job.command.is_empty() {
                return Err(config_error(at(&format!("job '{name}': command is empty"))));
            }
        }
        for (name, connection) in &self.connections {
            let missing = |field: &str| {
                config_error(at(&format!(
                    "connection '{name}' of kind '{}' needs {field}",
                    connection.kind
                )))
            };
            match connection.kind.as_str() {
                "none" => {}
                "basic" => {
                    connection
                        .username
                        .as_ref()
                        .ok_or_else(|| missing("username"))?;
                    connection
                        .password
                        .as_ref()
                        .ok_or_else(|| missing("password"))?;
                }
                "api_key" => {
                    connection
                        .api_key_name
                        .as_ref()
                        .ok_or_else(|| missing("api_key_name"))?;
                    connection
                        .api_key_value
                        .as_ref()
                        .ok_or_else(|| missing("api_key_value"))?;
                }
                "oauth_client_credentials" => {
                    connection
                        .token_url
                        .as_ref()
                        .ok_or_else(|| missing("token_url"))?;
                    connection
                        .client_id
                        .as_ref()
                        .ok_or_else(|| missing("client_id"))?;
                    connection
                        .client_secret
                        .as_ref()
                        .ok_or_else(|| missing("client_secret"))?;
                }
                other => {
                    return Err(config_error(at(&format!(
                        "connection '{name}': kind '{other}' is not one of basic, api_key, oauth_client_credentials, none"
                    ))));
                }
            }
        }
        Ok(())
    }

    /// A path from the file, resolved against its directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/p/aslan.toml"))
    }

    #[test]
    fn a_full_file_parses() {
        let config = parse(
            r#"
            [functions.a]
            command = ["cat"]
            [functions.b]
            runtime = "python"
            handler = "handler.handler"
            code = "fns/b"
            workers = 2
            [functions.c]
            url = "http://127.0.0.1:9/x"
            [jobs.j]
            command = ["true"]
            [connections.k]
            kind = "api_key"
            api_key_name = "x-api-key"
            api_key_value = { env = "KEY" }
            [state_machines]
            child = "child.json"
            "#,
        )
        .unwrap();
        assert_eq!(config.functions.len(), 3);
        assert_eq!(config.base_dir, PathBuf::from("/p"));
        assert_eq!(
            config.resolve(&config.state_machines["child"]),
            PathBuf::from("/p/child.json")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[functions.a]\n", "needs one of command"),
            (
                "[functions.a]\ncommand=[\"x\"]\nurl=\"http://x\"\n",
                "more than one",
            ),
            (
                "[functions.a]\nruntime=\"ruby\"\nhandler=\"a.b\"\n",
                "not one of python",
            ),
            ("[functions.a]\nruntime=\"python\"\n", "module.function"),
            ("[functions.a]\ncommand=[]\n", "command is empty"),
            ("[functions.a]\ncommand=[\"x\"]\nworkers=0\n", "at least 1"),
            ("[functions.a]\ncomand=[\"x\"]\n", "unknown field"),
            (
                "[connections.c]\nkind=\"basic\"\nusername=\"u\"\n",
                "needs password",
            ),
            ("[connections.c]\nkind=\"magic\"\n", "not one of basic"),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().message;
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.starts_with("/p/aslan.toml"), "{error}");
        }
    }

    #[test]
    fn secrets_never_display_their_value() {
        let secret = Secret::Inline("hunter2".into());
        assert!(!secret.to_string().contains("hunter2"));
        assert_eq!(secret.read(Path::new(".")).unwrap(), "hunter2");
        let env = Secret::Env {
            env: "ASLAN_SURELY_UNSET_VARIABLE".into(),
        };
        assert!(env.read(Path::new(".")).is_err());
    }
}

//! Functions: a command per invocation, a Lambda-style handler (Python or Node.js) run the way
//! Lambda's runtime runs it, a pool of long-running workers, or an HTTP endpoint.
//!
//! Every way answers an [`Invocation`]: the raw result payload, or a function error as Lambda
//! reports it, a JSON error object (`{"errorType", "errorMessage", ...}`) kept as its exact text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::Semaphore;

use crate::config::FunctionConfig;
use crate::now_ms;
use crate::process::{self, End, GroupGuard, Spec};

/// Lambda's limit on a synchronous response.
pub(crate) const LAMBDA_MAX_RESPONSE: usize = 6 * 1024 * 1024;

/// What one invocation gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function returned this payload (raw bytes, normally JSON).
    Returned(Vec<u8>),
    /// The function failed: its error type and the error object's exact text.
    Failed {
        /// `errorType`, or `Unhandled` when the object has none.
        error_type: String,
        /// The error object as the function's runtime wrote it.
        payload: String,
    },
}

impl Invocation {
    fn runtime_error(error_type: &str, message: String) -> Invocation {
        Invocation::Failed {
            error_type: error_type.to_owned(),
            payload: json!({"errorType": error_type, "errorMessage": message}).to_string(),
        }
    }

    fn from_error_text(text: String) -> Invocation {
        Invocation::failed_with(text, "Unhandled")
    }

    /// A function error whose object is `text`: its `errorType`, or `default` without one.
    pub(crate) fn failed_with(text: String, default: &str) -> Invocation {
        let error_type = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| default.to_owned());
        Invocation::Failed {
            error_type,
            payload: text,
        }
    }
}

/// Who is calling: for the log and the function's environment.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The execution.
    pub execution: String,
    /// The state.
    pub state: String,
    /// The request id given to the function.
    pub request_id: String,
    /// The function's ARN as invoked.
    pub function_arn: String,
    /// The region.
    pub region: String,
}

/// A configured function.
pub struct Function {
    name: String,
    how: How,
    timeout: Duration,
    memory_mb: u64,
    max_output: usize,
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

enum How {
    Once(Vec<String>),
    Pool(Pool),
    Url(String, reqwest::Client),
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .finish()
    }
}

/// Writes the runtime shims once per process and returns their directory.
fn runtime_dir() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "aslan-runtime-{}-{}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, text) in [
            ("python.py", include_str!("runtime/python.py")),
            ("node.mjs", include_str!("runtime/node.mjs")),
        ] {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(dir)
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

impl Function {
    /// Builds a function from its configuration; `base` resolves relative paths.
    pub fn new(
        name: &str,
        config: &FunctionConfig,
        base: &Path,
        http: &reqwest::Client,
    ) -> Result<Function, String> {
        let dir = base.join(config.code.as_deref().unwrap_or(Path::new(".")));
        let timeout = Duration::from_secs(config.timeout_seconds.unwrap_or(60));
        let memory_mb = config.memory_mb.unwrap_or(1024);
        let max_output = config.max_output_bytes.unwrap_or(LAMBDA_MAX_RESPONSE);
        let argv = |mode: &str| -> Result<Option<Vec<String>>, String> {
            if let Some(command) = &config.command {
                return Ok(Some(command.clone()));
            }
            let Some(runtime) = &config.runtime else {
                return Ok(None);
            };
            let handler = config.handler.as_deref().unwrap_or_default();
            let (module, function) = handler.rsplit_once('.').unwrap_or((handler, ""));
            let shims = runtime_dir()?;
            let (program, shim) = match runtime.as_str() {
                "node" => ("node", shims.join("node.mjs")),
                _ => ("python3", shims.join("python.py")),
            };
            Ok(Some(vec![
                program.to_owned(),
                shim.display().to_string(),
                dir.display().to_string(),
                module.to_owned(),
                function.to_owned(),
                mode.to_owned(),
            ]))
        };
        let how = if let Some(url) = &config.url {
            How::Url(url.clone(), http.clone())
        } else if let Some(workers) = config.workers {
            let argv = argv("pool")?.unwrap_or_default();
            How::Pool(Pool {
                argv,
                permits: Semaphore::new(workers),
                idle: Mutex::new(Vec::new()),
            })
        } else {
            How::Once(argv("once")?.unwrap_or_default())
        };
        Ok(Function {
            name: name.to_owned(),
            how,
            timeout,
            memory_mb,
            max_output,
            dir,
            env: config.environment.clone(),
        })
    }

    /// The function's time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn spec(&self, argv: Vec<String>, caller: &Caller) -> Spec {
        let deadline = now_ms() + self.timeout.as_millis() as i64;
        let mut env: Vec<(String, String)> = vec![
            ("AWS_LAMBDA_FUNCTION_NAME".into(), self.name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_TIMEOUT".into(),
                self.timeout.as_secs().to_string(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                self.memory_mb.to_string(),
            ),
            ("AWS_REGION".into(), caller.region.clone()),
            ("ASLAN_REQUEST_ID".into(), caller.request_id.clone()),
            ("ASLAN_DEADLINE_MS".into(), deadline.to_string()),
            ("ASLAN_FUNCTION_ARN".into(), caller.function_arn.clone()),
            ("ASLAN_EXECUTION_ARN".into(), caller.execution.clone()),
            ("ASLAN_STATE_NAME".into(), caller.state.clone()),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        Spec {
            argv,
            dir: self.dir.clone(),
            env,
            timeout: self.timeout,
            memory_bytes: Some(self.memory_mb * 1024 * 1024),
            max_output: self.max_output,
            label: format!("function {}", self.name),
            execution: caller.execution.clone(),
            state: caller.state.clone(),
        }
    }

    fn timed_out(&self, caller: &Caller) -> Invocation {
        Invocation::runtime_error(
            "Sandbox.Timedout",
            format!(
                "RequestId: {} Error: Task timed out after {:.2} seconds",
                caller.request_id,
                self.timeout.as_secs_f64()
            ),
        )
    }

    fn too_large(&self) -> Invocation {
        Invocation::runtime_error(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size exceeded maximum allowed payload size ({} bytes).",
                self.max_output
            ),
        )
    }

    fn out_of_memory(&self, caller: &Caller) -> Invocation {
        Invocation::runtime_error(
            "Runtime.OutOfMemory",
            format!(
                "RequestId: {} Error: Runtime exited with error: signal: killed (memory limit {} MB)",
                caller.request_id, self.memory_mb
            ),
        )
    }

    /// Invokes the function with the event `payload` (raw bytes, normally JSON).
    pub async fn invoke(&self, payload: Vec<u8>, caller: &Caller) -> Invocation {
        match &self.how {
            How::Once(argv) => {
                let spec = self.spec(argv.clone(), caller);
                match process::run(&spec, payload).await {
                    End::Exited {
                        code: Some(0),
                        stdout,
                    } => Invocation::Returned(stdout),
                    End::Exited { code, stdout } => {
                        let text = String::from_utf8_lossy(&stdout).trim().to_owned();
                        let is_error = serde_json::from_str::<Value>(&text)
                            .is_ok_and(|v| v.get("errorType").is_some_and(Value::is_string));
                        if is_error {
                            Invocation::from_error_text(text)
                        } else {
                            let status = code.map_or_else(
                                || "signal: killed".to_owned(),
                                |c| format!("exit status {c}"),
                            );
                            Invocation::runtime_error(
                                "Runtime.ExitError",
                                format!(
                                    "RequestId: {} Error: Runtime exited with error: {status}",
                                    caller.request_id
                                ),
                            )
                        }
                    }
                    End::TimedOut => self.timed_out(caller),
                    End::OutOfMemory => self.out_of_memory(caller),
                    End::OutputTooLarge => self.too_large(),
                    End::SpawnFailed(message) => {
                        Invocation::runtime_error("Runtime.InvalidEntrypoint", message)
                    }
                }
            }
            How::Pool(pool) => pool.invoke(self, payload, caller).await,
            How::Url(url, client) => {
                let request = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-amz-request-id", &caller.request_id)
                    .header("x-aslan-execution-arn", &caller.execution)
                    .timeout(self.timeout)
                    .body(payload);
                let response = match request.send().await {
                    Ok(response) => response,
                    Err(e) if e.is_timeout() => return self.timed_out(caller),
                    Err(e) => {
                        return Invocation::runtime_error(
                            "Lambda.ServiceException",
                            format!("The function endpoint {url} did not answer: {e}"),
                        );
                    }
                };
                let status = response.status();
                let function_error = response.headers().contains_key("x-amz-function-error");
                let body = match response.bytes().await {
                    Ok(body) if body.len() > self.max_output => return self.too_large(),
                    Ok(body) => body.to_vec(),
                    Err(e) if e.is_timeout() => return self.timed_out(caller),
                    Err(e) => {
                        return Invocation::runtime_error(
                            "Lambda.ServiceException",
                            format!("Reading the answer of {url} failed: {e}"),
                        );
                    }
                };
                if status.is_success() && !function_error {
                    Invocation::Returned(body)
                } else {
                    let text = String::from_utf8_lossy(&body).trim().to_owned();
                    if serde_json::from_str::<Value>(&text)
                        .is_ok_and(|v| v.get("errorType").is_some())
                    {
                        Invocation::from_error_text(text)
                    } else {
                        Invocation::runtime_error(
                            "Lambda.ServiceException",
                            format!("The function endpoint {url} answered {status}: {text}"),
                        )
                    }
                }
            }
        }
    }
}

/// Long-running workers: one request per line on stdin, one answer per line on stdout.
struct Pool {
    argv: Vec<String>,
    permits: Semaphore,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    pid: Option<u32>,
    _child: tokio::process::Child,
    guard: GroupGuard,
}

impl Pool {
    fn start(&self, function: &Function, caller: &Caller) -> Result<Worker, String> {
        let mut spec = function.spec(self.argv.clone(), caller);
        spec.execution = String::new();
        spec.state = String::new();
        let mut child = process::spawn(&spec)?;
        let pid = child.id();
        if let Some(stderr) = child.stderr.take() {
            process::log_stderr(stderr, spec.label, String::new(), String::new());
        }
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Worker {
            stdin,
            stdout: BufReader::new(stdout).lines(),
            pid,
            _child: child,
            guard: GroupGuard::new(pid),
        })
    }

    async fn invoke(&self, function: &Function, payload: Vec<u8>, caller: &Caller) -> Invocation {
        let Ok(_permit) = self.permits.acquire().await else {
            return Invocation::runtime_error("Lambda.ServiceException", "pool closed".into());
        };
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match reused {
            Some(worker) => worker,
            None => match self.start(function, caller) {
                Ok(worker) => worker,
                Err(message) => {
                    return Invocation::runtime_error("Runtime.InvalidEntrypoint", message);
                }
            },
        };
        let event = serde_json::from_slice::<Value>(&payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&payload).into_owned()));
        let deadline = now_ms() + function.timeout.as_millis() as i64;
        let mut line =
            json!({"requestId": caller.request_id, "event": event, "deadlineMs": deadline})
                .to_string();
        line.push('\n');
        let exchange = async {
            worker.stdin.write_all(line.as_bytes()).await.ok()?;
            worker.stdin.flush().await.ok()?;
            worker.stdout.next_line().await.ok().flatten()
        };
        let answer = tokio::select! {
            answer = exchange => answer,
            () = tokio::time::sleep(function.timeout) => {
                worker.guard.kill();
                return function.timed_out(caller);
            }
            () = process::watch_memory(worker.pid, Some(function.memory_mb * 1024 * 1024)) => {
                worker.guard.kill();
                return function.out_of_memory(caller);
            }
        };
        let Some(answer) = answer else {
            worker.guard.kill();
            return Invocation::runtime_error(
                "Runtime.ExitError",
                format!(
                    "RequestId: {} Error: Runtime exited without answering",
                    caller.request_id
                ),
            );
        };
        if answer.len() > function.max_output {
            worker.guard.kill();
            return function.too_large();
        }
        let parsed: Option<Value> = serde_json::from_str(&answer).ok();
        let result = match parsed {
            Some(Value::Object(mut object)) if object.contains_key("result") => {
                let value = object.remove("result").unwrap_or(Value::Null);
                Invocation::Returned(serde_json::to_vec(&value).unwrap_or_default())
            }
            Some(Value::Object(mut object)) if object.contains_key("error") => {
                match object.remove("error").unwrap_or(Value::Null) {
                    Value::String(text) => Invocation::from_error_text(text),
                    other => Invocation::from_error_text(other.to_string()),
                }
            }
            _ => {
                worker.guard.kill();
                return Invocation::runtime_error(
                    "Runtime.InvalidResponse",
                    format!(
                        "A pool worker answered neither {{\"result\"}} nor {{\"error\"}}: {}",
                        answer.chars().take(200).collect::<String>()
                    ),
                );
            }
        };
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(worker);
        result
    }
}

/// Functions by name, shared.
pub type Functions = Arc<BTreeMap<String, Arc<Function>>>;

//! The `aslan` binary: glue between the command line and the library crates.
//!
//! Exit codes follow PRODUCT.md: 0 when the execution succeeded (or the definition is valid),
//! 1 when it did not (or the definition is invalid), 2 for a bad definition or bad usage.

mod nested;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use aslan_asl::{Definition, LoadOptions, MachineType, Parsed, Severity};
use aslan_engine::{NoHandler, RunOptions, SystemClock, TaskHandler, VirtualClock};
use aslan_interp::{ExecutionInfo, Options, Outcome};
use aslan_types::{HistoryEvent, HistoryEventType};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// The executions allocate and free many small JSON values; mimalloc does that several times
/// faster than the system allocator (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aslan",
    version,
    about = "Run, validate and benchmark AWS Step Functions state machines locally."
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Clone, Copy, ValueEnum)]
enum TypeArg {
    #[value(name = "STANDARD", alias = "standard")]
    Standard,
    #[value(name = "EXPRESS", alias = "express")]
    Express,
}

impl From<TypeArg> for MachineType {
    fn from(value: TypeArg) -> Self {
        match value {
            TypeArg::Standard => MachineType::Standard,
            TypeArg::Express => MachineType::Express,
        }
    }
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the AWS Step Functions API (and, later, the console) on one port.
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8083")]
        bind: std::net::SocketAddr,
        /// Where the embedded store keeps its data (`:memory:` keeps nothing).
        #[arg(long, default_value = ".aslan")]
        data_dir: String,
        /// The largest state input or output in bytes (AWS: 262144); 0 for no limit.
        #[arg(long, default_value_t = 262_144)]
        max_payload_bytes: usize,
        /// The most history events of a Standard execution (AWS: 25000); 0 for no limit.
        #[arg(long, default_value_t = 25_000)]
        max_history_events: i64,
        /// Log lines as JSON objects instead of text.
        #[arg(long)]
        log_json: bool,
        /// The project configuration (default: ./aslan.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a state machine to completion in this process and print its output.
    Run {
        /// The definition (JSON, JSON with comments, or YAML).
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Print one JSON object with the status, output, error and cause.
        #[arg(long)]
        json: bool,
        /// STANDARD or EXPRESS (validation rules differ).
        #[arg(long = "type", value_enum, default_value = "STANDARD")]
        machine_type: TypeArg,
        /// Waits and retry delays take no wall time; the execution's clock still advances.
        #[arg(long)]
        virtual_time: bool,
        /// Print the execution history as AWS event objects (JSON lines on stderr).
        #[arg(long)]
        events: bool,
        /// A Step Functions Local mock configuration file.
        #[arg(long, requires = "test_case")]
        mock: Option<PathBuf>,
        /// The test case of the mock configuration to use.
        #[arg(long, requires = "mock")]
        test_case: Option<String>,
        /// The state machine name in the mock configuration (default: its only one, or the
        /// definition file's name).
        #[arg(long)]
        state_machine: Option<String>,
        /// Fail the execution after this many states entered (guards against endless loops).
        #[arg(long, default_value_t = 10_000_000)]
        max_transitions: u64,
        /// The project configuration (default: aslan.toml next to the definition, if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Serve workers (GetActivityTask, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat)
        /// on this address. Default: a free port on 127.0.0.1 when the workflow has activities
        /// or waits for task tokens.
        #[arg(long, value_name = "ADDR")]
        callbacks: Option<std::net::SocketAddr>,
    },
    /// Check a definition as ValidateStateMachineDefinition does.
    Validate {
        /// The definition.
        definition: PathBuf,
        /// Print the ValidateStateMachineDefinition response object.
        #[arg(long)]
        json: bool,
        /// STANDARD or EXPRESS.
        #[arg(long = "type", value_enum, default_value = "STANDARD")]
        machine_type: TypeArg,
    },
    /// Draw a definition as the console does: SVG (default) or the layout as JSON.
    Graph {
        /// The definition.
        definition: PathBuf,
        /// `svg` or `json`.
        #[arg(long, value_enum, default_value = "svg")]
        format: GraphFormat,
        /// STANDARD or EXPRESS.
        #[arg(long = "type", value_enum, default_value = "STANDARD")]
        machine_type: TypeArg,
    },
    /// Run N executions one after another (Express semantics, no history) and time them.
    Bench {
        /// The definition.
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// How many executions.
        #[arg(long, default_value_t = 1)]
        executions: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Commands::Serve {
            bind,
            data_dir,
            max_payload_bytes,
            max_history_events,
            log_json,
            config,
        } => cmd_serve(ServeArgs {
            bind,
            data_dir,
            max_payload_bytes,
            max_history_events,
            log_json,
            config,
        }),
        Commands::Run {
            definition,
            input,
            json,
            machine_type,
            virtual_time,
            events,
            mock,
            test_case,
            state_machine,
            max_transitions,
            config,
            callbacks,
        } => cmd_run(RunArgs {
            definition,
            input,
            json,
            machine_type: machine_type.into(),
            virtual_time,
            events,
            mock,
            test_case,
            state_machine,
            max_transitions,
            config,
            callbacks,
        }),
        Commands::Validate {
            definition,
            json,
            machine_type,
        } => cmd_validate(&definition, json, machine_type.into()),
        Commands::Bench {
            definition,
            input,
            executions,
        } => cmd_bench(&definition, &input, executions),
        Commands::Graph {
            definition,
            format,
            machine_type,
        } => cmd_graph(&definition, format, machine_type.into()),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

struct ServeArgs {
    bind: std::net::SocketAddr,
    data_dir: String,
    max_payload_bytes: usize,
    max_history_events: i64,
    log_json: bool,
    config: Option<PathBuf>,
}

fn cmd_serve(args: ServeArgs) -> Result<ExitCode> {
    aslan_server::init_logging(args.log_json);
    let config = aslan_integrations::Config::discover(args.config.as_deref(), Path::new("."))?
        .unwrap_or_default();
    let options = aslan_server::ServeOptions {
        bind: args.bind,
        data_dir: (args.data_dir != ":memory:").then(|| PathBuf::from(&args.data_dir)),
        max_payload_bytes: (args.max_payload_bytes > 0).then_some(args.max_payload_bytes),
        max_history_events: (args.max_history_events > 0).then_some(args.max_history_events),
        config,
        ..aslan_server::ServeOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(aslan_server::serve(options, None))?;
    Ok(ExitCode::SUCCESS)
}

/// Task processes' stderr (and job output) on this process's stderr, one line each.
fn init_task_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,aslan::task=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_input(input: &str) -> Result<Value> {
    let text = match input.strip_prefix('@') {
        Some(path) => read_text(Path::new(path))?,
        None => input.to_owned(),
    };
    serde_json::from_str(&text).context("the input is not valid JSON")
}

/// Prints diagnostics for a person, with line and column when known.
fn print_diagnostics(path: &Path, text: &str, parsed: &Parsed) {
    for diagnostic in parsed.diagnostics.iter() {
        let position = diagnostic
            .span
            .map(|span| {
                let (line, column) = aslan_asl::source::line_col(text, span.start);
                format!("{}:{line}:{column}: ", path.display())
            })
            .unwrap_or_else(|| format!("{}: ", path.display()));
        let severity = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = diagnostic.location.as_deref().unwrap_or("-");
        eprintln!(
            "{position}{severity}[{}]: {} (at {location})",
            diagnostic.code, diagnostic.message
        );
    }
}

fn load(path: &Path, machine_type: MachineType) -> Result<(String, Parsed)> {
    let text = read_text(path)?;
    let parsed = aslan_asl::parse(&text, LoadOptions { machine_type });
    Ok((text, parsed))
}

fn load_valid(path: &Path, machine_type: MachineType) -> Result<Definition> {
    let (text, parsed) = load(path, machine_type)?;
    match parsed.definition {
        Some(definition) if !parsed.diagnostics.has_errors() => Ok(definition),
        _ => {
            print_diagnostics(path, &text, &parsed);
            bail!("{} is not a valid state machine definition", path.display())
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GraphFormat {
    Svg,
    Json,
}

/// Prints the console's drawing of a definition (exit 2 when the definition is not valid).
fn cmd_graph(path: &Path, format: GraphFormat, machine_type: MachineType) -> Result<ExitCode> {
    let definition = load_valid(path, machine_type)?;
    let layout = aslan_console::layout::layout(&definition);
    let text = match format {
        GraphFormat::Svg => aslan_console::svg::render(&layout),
        GraphFormat::Json => serde_json::to_string(&layout)?,
    };
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    writeln!(stdout, "{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate(path: &Path, json_output: bool, machine_type: MachineType) -> Result<ExitCode> {
    let (text, parsed) = load(path, machine_type)?;
    let valid = !parsed.diagnostics.has_errors();
    if json_output {
        let diagnostics: Vec<Value> = parsed
            .diagnostics
            .iter()
            .map(|d| {
                let mut object = json!({
                    "severity": d.severity.as_str(),
                    "code": d.code,
                    "message": d.message,
                });
                if let Some(location) = &d.location {
                    object["location"] = json!(location);
                }
                object
            })
            .collect();
        let response = json!({
            "result": if valid { "OK" } else { "FAIL" },
            "diagnostics": diagnostics,
            "truncated": false,
        });
        println!("{response}");
    } else {
        print_diagnostics(path, &text, &parsed);
        if valid {
            println!("{}: valid", path.display());
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

struct RunArgs {
    definition: PathBuf,
    input: String,
    json: bool,
    machine_type: MachineType,
    virtual_time: bool,
    events: bool,
    mock: Option<PathBuf>,
    test_case: Option<String>,
    state_machine: Option<String>,
    max_transitions: u64,
    config: Option<PathBuf>,
    callbacks: Option<std::net::SocketAddr>,
}

/// True when a state of the definition waits for a task token (`.waitForTaskToken`, or an
/// activity, whose worker answers with the token it was handed).
fn waits_for_tokens(definition: &Definition) -> bool {
    use aslan_asl::definition::{IntegrationPattern, ResourceKind, StateKind};
    definition.states.iter().any(|state| {
        matches!(&state.kind, StateKind::Task(task)
            if task.resource.pattern == IntegrationPattern::WaitForTaskToken
                || task.resource.kind == ResourceKind::Activity)
    })
}

fn machine_name(path: &Path) -> String {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("StateMachine");
    let stem = stem.split('.').next().unwrap_or(stem);
    if stem.is_empty() {
        "StateMachine".into()
    } else {
        stem.to_owned()
    }
}

fn execution_info(state_machine_name: &str, now: i64, express: bool) -> ExecutionInfo {
    let account = "123456789012";
    let region = "us-east-1";
    let execution_name = format!("run-{now}");
    ExecutionInfo {
        execution_arn: format!(
            "arn:aws:states:{region}:{account}:execution:{state_machine_name}:{execution_name}"
        ),
        execution_name,
        state_machine_arn: format!(
            "arn:aws:states:{region}:{account}:stateMachine:{state_machine_name}"
        ),
        state_machine_name: state_machine_name.to_owned(),
        role_arn: format!("arn:aws:iam::{account}:role/aslan-local"),
        region: region.to_owned(),
        start_time: now,
        redrive_count: 0,
        express,
    }
}

fn cmd_run(args: RunArgs) -> Result<ExitCode> {
    let definition = load_valid(&args.definition, args.machine_type)?;
    let input = read_input(&args.input)?;
    let name = machine_name(&args.definition);
    let directory = args
        .definition
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut config = aslan_integrations::Config::discover(args.config.as_deref(), directory)?
        .unwrap_or_default();
    // Activities and `.waitForTaskToken` tasks (here or in a child state machine) wait for
    // workers: a small endpoint serves GetActivityTask and SendTask*, and local functions and
    // jobs find it through AWS_ENDPOINT_URL_SFN, the variable the AWS SDKs and CLI read.
    let wants_tokens = args.callbacks.is_some()
        || waits_for_tokens(&definition)
        || config.state_machines.values().any(|path| {
            load_valid(&config.resolve(path), MachineType::Standard)
                .is_ok_and(|child| waits_for_tokens(&child))
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tokens = Arc::new(aslan_engine::TaskTokens::new());
    let callback_listener = if wants_tokens {
        let address = args
            .callbacks
            .unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(address))
            .with_context(|| format!("cannot listen for task tokens on {address}"))?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        config.set_default_environment("AWS_ENDPOINT_URL_SFN", &endpoint);
        eprintln!(
            "aslan: workers reach this run at {endpoint} (GetActivityTask, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat)"
        );
        Some(listener)
    } else {
        None
    };
    let mut integrations = aslan_integrations::Integrations::new(&config)?;
    if wants_tokens {
        integrations = integrations.with_callbacks();
    }
    if let (Some(mock), Some(test_case)) = (&args.mock, &args.test_case) {
        let mocks = aslan_integrations::MockConfig::parse(&read_text(mock)?)
            .with_context(|| format!("in {}", mock.display()))?;
        let machines = mocks.machine_names();
        let machine: &str = match &args.state_machine {
            Some(machine) => machine,
            None if machines.len() == 1 => machines[0],
            None => &name,
        };
        integrations = integrations.with_mock(mocks.handler(machine, test_case)?);
    }
    if !config.state_machines.is_empty() || wants_tokens {
        let children = Arc::new(nested::LocalExecutions::new(
            &config,
            args.virtual_time,
            tokens.clone(),
        ));
        integrations = integrations.with_executions(children.clone());
        children.set_handler(integrations.clone());
    }
    init_task_logging();
    let handler: Arc<dyn TaskHandler> = Arc::new(integrations);
    let now = SystemClock::read();
    let show_progress = std::io::stderr().is_terminal() && !args.events;
    let print_events = args.events;
    let on_event: Box<dyn FnMut(&HistoryEvent) + Send> = Box::new(move |event: &HistoryEvent| {
        if print_events {
            if let Ok(line) = serde_json::to_string(event) {
                eprintln!("{line}");
            }
        } else if show_progress {
            progress(event);
        }
    });
    let options = RunOptions {
        info: execution_info(&name, now, args.machine_type == MachineType::Express),
        interp: Options {
            record_history: args.events || show_progress,
            max_transitions: Some(args.max_transitions),
            ..Options::default()
        },
        on_event: Some(on_event),
        keep_history: false,
        tokens: wants_tokens.then_some(tokens.clone()),
    };
    if let Some(listener) = callback_listener {
        runtime.spawn(aslan_server::callbacks::serve(listener, tokens));
    }
    let result = if args.virtual_time {
        let clock = VirtualClock::new(now);
        runtime.block_on(aslan_engine::run(
            &definition,
            input,
            options,
            &clock,
            handler,
        ))
    } else {
        runtime.block_on(aslan_engine::run(
            &definition,
            input,
            options,
            &SystemClock,
            handler,
        ))
    };
    let succeeded = matches!(result.outcome, Outcome::Succeeded(_));
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    if args.json {
        let object = match &result.outcome {
            Outcome::Succeeded(output) => json!({"status": "SUCCEEDED", "output": output}),
            Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                // AWS leaves out an empty error or cause (a Fail state without `Cause`).
                let mut object = json!({"status": result.outcome.status()});
                if !error.is_empty() {
                    object["error"] = json!(error);
                }
                if !cause.is_empty() {
                    object["cause"] = json!(cause);
                }
                object
            }
            Outcome::Aborted { error, cause } => {
                json!({"status": "ABORTED", "error": error, "cause": cause})
            }
        };
        writeln!(stdout, "{object}")?;
    } else {
        match &result.outcome {
            Outcome::Succeeded(output) => {
                writeln!(stdout, "{}", serde_json::to_string_pretty(output)?)?
            }
            Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                eprintln!("{}: {error}: {cause}", result.outcome.status());
            }
            Outcome::Aborted { error, cause } => {
                eprintln!(
                    "ABORTED: {}: {}",
                    error.as_deref().unwrap_or(""),
                    cause.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line per state entered or left, for a person watching a terminal.
fn progress(event: &HistoryEvent) {
    let name = |details: Option<&String>| details.cloned().unwrap_or_default();
    if let Some(details) = &event.state_entered_event_details {
        let kind = event.event_type.as_str().trim_end_matches("StateEntered");
        eprintln!("→ {} ({kind})", name(Some(&details.name)));
    } else if let Some(details) = &event.state_exited_event_details {
        eprintln!("← {}", name(Some(&details.name)));
    } else if matches!(
        event.event_type,
        HistoryEventType::ExecutionFailed | HistoryEventType::ExecutionTimedOut
    ) {
        eprintln!("✗ {}", event.event_type.as_str());
    }
}

fn cmd_bench(path: &Path, input: &str, executions: u64) -> Result<ExitCode> {
    let definition = load_valid(path, MachineType::Express)?;
    let input = read_input(input)?;
    let name = machine_name(path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let clock = VirtualClock::new(SystemClock::read());
    let handler: Arc<dyn TaskHandler> = Arc::new(NoHandler);
    let info = execution_info(&name, clock_now(&clock), true);
    let mut transitions = 0u64;
    let mut last = None;
    let started = Instant::now();
    for _ in 0..executions.max(1) {
        let options = RunOptions {
            info: info.clone(),
            interp: Options {
                record_history: false,
                ..Options::default()
            },
            on_event: None,
            keep_history: false,
            tokens: None,
        };
        let result = runtime.block_on(aslan_engine::run(
            &definition,
            input.clone(),
            options,
            &clock,
            handler.clone(),
        ));
        transitions += result.transitions;
        last = Some(result.outcome);
    }
    let wall = started.elapsed().as_secs_f64();
    let executions = executions.max(1);
    let outcome = last.unwrap_or(Outcome::Aborted {
        error: None,
        cause: None,
    });
    match &outcome {
        Outcome::Succeeded(output) => println!("{}", serde_json::to_string(output)?),
        Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
            eprintln!("{}: {error}: {cause}", outcome.status());
        }
        Outcome::Aborted { .. } => eprintln!("ABORTED"),
    }
    eprintln!(
        "{}",
        json!({"executions": executions, "transitions": transitions, "wall_s": wall})
    );
    Ok(if matches!(outcome, Outcome::Succeeded(_)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn clock_now(clock: &VirtualClock) -> i64 {
    use aslan_engine::Clock;
    clock.now()
}

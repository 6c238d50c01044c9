//! Load generator for `aslan serve`, written in Rust because boto3 tops out near 1,900 calls/s.
//!
//! It speaks the AWS JSON 1.0 protocol over plain HTTP/1.1 keep-alive connections (no SigV4:
//! aslan accepts any credentials) and prints one JSON line per scenario:
//!
//! - `sync`: StartSyncExecution of a 10-state Express workflow from C connections for D
//!   seconds: throughput and latency percentiles.
//! - `standard`: N Standard executions of an S-state Pass chain started from C connections,
//!   then waited for: executions and durable state transitions per second, start to finish.
//! - `park`: N Standard executions parked in a one-hour Wait, then the server's resident memory.
//! - `activity`: N Standard executions of one activity Task, worked by P pollers
//!   (GetActivityTask, SendTaskSuccess): tasks handed out and completed per second, and a check
//!   that no task went to two workers.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Cli {
    /// The server, host:port.
    #[arg(long, default_value = "127.0.0.1:8083")]
    endpoint: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// StartSyncExecution latency and throughput.
    Sync {
        #[arg(long, default_value_t = 1)]
        connections: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Standard executions started and finished.
    Standard {
        #[arg(long, default_value_t = 2000)]
        executions: usize,
        #[arg(long, default_value_t = 10)]
        states: usize,
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// Executions parked in a one-hour Wait.
    Park {
        #[arg(long, default_value_t = 100_000)]
        executions: usize,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// The server's process id, to read its resident memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Activity tasks handed out and completed by many pollers.
    Activity {
        #[arg(long, default_value_t = 5000)]
        executions: usize,
        #[arg(long, default_value_t = 16)]
        pollers: usize,
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    async fn open(endpoint: &str) -> Result<Connection> {
        let stream = TcpStream::connect(endpoint)
            .await
            .with_context(|| format!("connect {endpoint}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::new(stream),
            host: endpoint.to_owned(),
        })
    }

    async fn call(&mut self, operation: &str, body: &Value) -> Result<Value> {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: AWSStepFunctions.{operation}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).await?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).await?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut buffer = vec![0u8; length];
        self.reader.read_exact(&mut buffer).await?;
        let value: Value = serde_json::from_slice(&buffer).unwrap_or(Value::Null);
        if status != 200 {
            bail!("{operation} answered {status}: {value}");
        }
        Ok(value)
    }
}

fn pass_chain(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "Parameters": {"i": i, "id.$": "$.id"}});
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": map})
}

async fn create(
    connection: &mut Connection,
    name: &str,
    definition: &Value,
    machine_type: &str,
) -> Result<String> {
    let response = connection
        .call(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition.to_string(), "roleArn": "arn:aws:iam::123456789012:role/bench", "type": machine_type}),
        )
        .await?;
    Ok(response["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn sync(endpoint: &str, connections: usize, seconds: f64) -> Result<Value> {
    let mut setup = Connection::open(endpoint).await?;
    let arn = create(
        &mut setup,
        &format!("sync-{}", unique()),
        &pass_chain(10),
        "EXPRESS",
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (endpoint, arn) = (endpoint.to_owned(), arn.clone());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = connection
                    .call(
                        "StartSyncExecution",
                        &json!({"stateMachineArn": arn, "input": "{\"id\": 1}"}),
                    )
                    .await?;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                if response["status"] != "SUCCEEDED" {
                    bail!("execution did not succeed: {response}");
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(json!({
        "scenario": "sync", "connections": connections, "executions": latencies.len(),
        "executions_per_s": latencies.len() as f64 / wall,
        "p50_ms": percentile(&latencies, 0.5), "p90_ms": percentile(&latencies, 0.9), "p99_ms": percentile(&latencies, 0.99),
    }))
}

async fn start_many(
    endpoint: &str,
    arn: &str,
    executions: usize,
    connections: usize,
    prefix: &str,
) -> Result<f64> {
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (endpoint, arn, prefix) = (endpoint.to_owned(), arn.to_owned(), prefix.to_owned());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            let mut i = worker;
            while i < executions {
                connection
                    .call("StartExecution", &json!({"stateMachineArn": arn, "name": format!("{prefix}-{i}"), "input": format!("{{\"id\": {i}}}")}))
                    .await?;
                i += connections;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn count(connection: &mut Connection, arn: &str, status: &str) -> Result<usize> {
    let mut total = 0;
    let mut token: Option<String> = None;
    loop {
        let mut request =
            json!({"stateMachineArn": arn, "statusFilter": status, "maxResults": 1000});
        if let Some(token) = &token {
            request["nextToken"] = json!(token);
        }
        let response = connection.call("ListExecutions", &request).await?;
        total += response["executions"].as_array().map_or(0, Vec::len);
        match response["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(total),
        }
    }
}

async fn standard(
    endpoint: &str,
    executions: usize,
    states: usize,
    connections: usize,
) -> Result<Value> {
    let mut setup = Connection::open(endpoint).await?;
    let arn = create(
        &mut setup,
        &format!("std-{}", unique()),
        &pass_chain(states),
        "STANDARD",
    )
    .await?;
    let started = Instant::now();
    let start_wall = start_many(endpoint, &arn, executions, connections, "e").await?;
    loop {
        let done = count(&mut setup, &arn, "SUCCEEDED").await?;
        if done >= executions {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "standard", "executions": executions, "states": states, "connections": connections,
        "start_wall_s": start_wall, "wall_s": wall,
        "executions_per_s": executions as f64 / wall,
        "durable_transitions_per_s": (executions * states) as f64 / wall,
    }))
}

fn resident_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn park(
    endpoint: &str,
    executions: usize,
    connections: usize,
    server_pid: Option<u32>,
) -> Result<Value> {
    let mut setup = Connection::open(endpoint).await?;
    let definition = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"}, "P": {"Type": "Pass", "End": true}}});
    let arn = create(
        &mut setup,
        &format!("park-{}", unique()),
        &definition,
        "STANDARD",
    )
    .await?;
    let wall = start_many(endpoint, &arn, executions, connections, "p").await?;
    let running = count(&mut setup, &arn, "RUNNING").await?;
    Ok(json!({
        "scenario": "park", "executions": executions, "running": running, "start_wall_s": wall,
        "starts_per_s": executions as f64 / wall,
        "server_rss_mib": server_pid.and_then(resident_mib),
    }))
}

async fn activity(
    endpoint: &str,
    executions: usize,
    pollers: usize,
    connections: usize,
) -> Result<Value> {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let mut setup = Connection::open(endpoint).await?;
    let activity = setup
        .call(
            "CreateActivity",
            &json!({"name": format!("act-{}", unique())}),
        )
        .await?["activityArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let definition = json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": true}}});
    let arn = create(
        &mut setup,
        &format!("act-{}", unique()),
        &definition,
        "STANDARD",
    )
    .await?;
    let completed = Arc::new(AtomicUsize::new(0));
    let tokens: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let duplicates = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..pollers {
        let (endpoint, activity) = (endpoint.to_owned(), activity.clone());
        let (completed, tokens, duplicates) =
            (completed.clone(), tokens.clone(), duplicates.clone());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&endpoint).await?;
            loop {
                let task = connection
                    .call(
                        "GetActivityTask",
                        &json!({"activityArn": activity, "workerName": format!("w{worker}")}),
                    )
                    .await?;
                let Some(token) = task["taskToken"].as_str().filter(|t| !t.is_empty()) else {
                    continue;
                };
                if !tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(token.to_owned())
                {
                    duplicates.fetch_add(1, Ordering::Relaxed);
                }
                connection
                    .call(
                        "SendTaskSuccess",
                        &json!({"taskToken": token, "output": task["input"].as_str().unwrap_or("{}")}),
                    )
                    .await?;
                completed.fetch_add(1, Ordering::Relaxed);
            }
            #[allow(unreachable_code)]
            Ok::<_, anyhow::Error>(())
        }));
    }
    let start_wall = start_many(endpoint, &arn, executions, connections, "a").await?;
    while completed.load(Ordering::Relaxed) < executions {
        if let Some(finished) = workers.iter().find(|w| w.is_finished()) {
            let _ = finished;
            bail!("a poller stopped early");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    for worker in &workers {
        worker.abort();
    }
    loop {
        if count(&mut setup, &arn, "SUCCEEDED").await? >= executions {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(json!({
        "scenario": "activity", "executions": executions, "pollers": pollers,
        "start_wall_s": start_wall, "wall_s": wall,
        "tasks_completed_per_s": executions as f64 / wall,
        "tasks_handed_out": tokens.lock().unwrap_or_else(|e| e.into_inner()).len(),
        "handed_out_twice": duplicates.load(Ordering::Relaxed),
    }))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let result = match cli.scenario {
        Scenario::Sync {
            connections,
            seconds,
        } => sync(&cli.endpoint, connections, seconds).await?,
        Scenario::Standard {
            executions,
            states,
            connections,
        } => standard(&cli.endpoint, executions, states, connections).await?,
        Scenario::Park {
            executions,
            connections,
            server_pid,
        } => park(&cli.endpoint, executions, connections, server_pid).await?,
        Scenario::Activity {
            executions,
            pollers,
            connections,
        } => activity(&cli.endpoint, executions, pollers, connections).await?,
    };
    println!("{result}");
    Ok(())
}

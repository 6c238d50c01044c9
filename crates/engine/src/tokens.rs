//! Task tokens and activity tasks of in-process executions.
//!
//! `aslan run` has no store and no API of its own: a `.waitForTaskToken` task registers its
//! token here while it waits, and `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`
//! (from the run's callback endpoint, or from an `aws-sdk:sfn` task in the same process) reach
//! the execution through [`TaskTokens::answer`]. An activity task also waits in its activity's
//! queue until a worker takes it ([`TaskTokens::poll`], behind `GetActivityTask`). `aslan serve`
//! keeps its tokens and queues in the durable engine instead, so they survive restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use aslan_interp::TaskId;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::TaskError;
use crate::durable::EngineError;

/// What a worker says about the task behind a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `SendTaskSuccess` with the task's output.
    Succeeded(Value),
    /// `SendTaskFailure` with an error and a cause.
    Failed(TaskError),
    /// `SendTaskHeartbeat`: the worker is alive.
    Heartbeat,
    /// `GetActivityTask` handed the task to a worker.
    Started {
        /// The worker's name, if it gave one.
        worker: Option<String>,
    },
}

/// An activity task as `GetActivityTask` hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// The task token.
    pub token: String,
    /// The task's input, as JSON text.
    pub input: String,
}

/// Where a token's answer goes: the run loop waiting on it, and the task there.
pub(crate) type Waiter = (TaskId, UnboundedSender<(TaskId, Callback)>);

/// The tokens that executions of this process wait on.
#[derive(Debug, Default)]
pub struct TaskTokens {
    waiting: Mutex<HashMap<String, Waiter>>,
    /// Activity tasks not handed out yet, by activity ARN, oldest first.
    queues: Mutex<HashMap<String, VecDeque<ActivityTask>>>,
    /// Wakes pollers when a task is queued.
    queued: tokio::sync::Notify,
}

impl TaskTokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn register(&self, token: &str, waiter: Waiter) {
        self.lock().insert(token.to_owned(), waiter);
    }

    pub(crate) fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Queues an activity task whose token is registered.
    pub(crate) fn enqueue(&self, activity_arn: &str, task: ActivityTask) {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(activity_arn.to_owned())
            .or_default()
            .push_back(task);
        self.queued.notify_waiters();
    }

    /// Waits for a task of the activity and hands it to `worker` (the oldest first; tasks that
    /// ended while queued are dropped). `GetActivityTask` bounds the wait.
    pub async fn poll(&self, activity_arn: &str, worker: Option<String>) -> ActivityTask {
        loop {
            let queued = self.queued.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            if let Some(task) = self.take(activity_arn, &worker) {
                return task;
            }
            queued.await;
        }
    }

    fn take(&self, activity_arn: &str, worker: &Option<String>) -> Option<ActivityTask> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queues.get_mut(activity_arn)?;
        while let Some(task) = queue.pop_front() {
            let waiting = self.lock();
            let Some((id, sender)) = waiting.get(&task.token) else {
                continue;
            };
            let started = Callback::Started {
                worker: worker.clone(),
            };
            if sender.send((*id, started)).is_ok() {
                return Some(task);
            }
        }
        None
    }

    /// Hands a worker's answer to the execution waiting on `token`. A token nobody waits on
    /// any more gets `TaskTimedOut` when it is one of an execution's tokens (the task ended,
    /// or the token was used already), `InvalidToken` otherwise, as AWS answers.
    pub fn answer(&self, token: &str, callback: Callback) -> Result<(), EngineError> {
        let mut waiting = self.lock();
        let Some((task, sender)) = waiting.get(token) else {
            return Err(unknown_token(token));
        };
        let task = *task;
        let delivered = sender.send((task, callback.clone())).is_ok();
        if !delivered || callback != Callback::Heartbeat {
            waiting.remove(token);
        }
        if delivered {
            Ok(())
        } else {
            Err(EngineError::TaskTimedOut(token.to_owned()))
        }
    }

    /// How many tokens are waited on now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no token is waited on.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The error for a token no task waits on. A token is `EXECUTION_ARN:TASK:RANDOM` (see the
/// interpreter); a well-formed one of an execution is a task that is over.
pub(crate) fn unknown_token(token: &str) -> EngineError {
    let known = token
        .rsplitn(3, ':')
        .nth(2)
        .is_some_and(|arn| arn.contains(":execution:") || arn.contains(":express:"));
    if known {
        EngineError::TaskTimedOut(token.to_owned())
    } else {
        EngineError::InvalidToken(token.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "arn:aws:states:us-east-1:1:execution:m:e:4:8213";

    #[test]
    fn answers_reach_the_waiter_once() {
        let tokens = TaskTokens::new();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        tokens.register(TOKEN, (TaskId(3), sender));
        assert_eq!(tokens.answer(TOKEN, Callback::Heartbeat), Ok(()));
        assert_eq!(tokens.len(), 1, "a heartbeat keeps the token");
        assert_eq!(
            tokens.answer(TOKEN, Callback::Succeeded(Value::Null)),
            Ok(())
        );
        assert_eq!(receiver.try_recv(), Ok((TaskId(3), Callback::Heartbeat)));
        assert_eq!(
            receiver.try_recv(),
            Ok((TaskId(3), Callback::Succeeded(Value::Null)))
        );
        assert_eq!(
            tokens.answer(TOKEN, Callback::Succeeded(Value::Null)),
            Err(EngineError::TaskTimedOut(TOKEN.into())),
            "a token used twice"
        );
        assert_eq!(
            tokens.answer("nonsense", Callback::Heartbeat),
            Err(EngineError::InvalidToken("nonsense".into()))
        );
    }

    #[tokio::test]
    async fn activity_tasks_go_to_one_poller_each_oldest_first() {
        let tokens = std::sync::Arc::new(TaskTokens::new());
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let arn = "arn:aws:states:us-east-1:1:activity:review";
        let poller = {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.poll(arn, Some("w1".into())).await })
        };
        tokio::task::yield_now().await;
        for (n, token) in ["t1", "t2", "gone"].iter().enumerate() {
            tokens.register(token, (TaskId(n as u64), sender.clone()));
            let task = ActivityTask {
                token: (*token).into(),
                input: format!("{n}"),
            };
            tokens.enqueue(arn, task);
        }
        tokens.forget("gone");
        assert_eq!(poller.await.ok().map(|t| t.token), Some("t1".to_owned()));
        assert_eq!(tokens.poll(arn, None).await.token, "t2");
        assert_eq!(
            receiver.try_recv(),
            Ok((
                TaskId(0),
                Callback::Started {
                    worker: Some("w1".into())
                }
            ))
        );
        assert_eq!(
            receiver.try_recv(),
            Ok((TaskId(1), Callback::Started { worker: None }))
        );
        let empty =
            tokio::time::timeout(std::time::Duration::from_millis(50), tokens.poll(arn, None));
        assert!(empty.await.is_err(), "a task that ended is not handed out");
    }

    #[test]
    fn a_token_whose_execution_ended_has_timed_out() {
        let tokens = TaskTokens::new();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokens.register(TOKEN, (TaskId(1), sender));
        drop(receiver);
        assert_eq!(
            tokens.answer(TOKEN, Callback::Heartbeat),
            Err(EngineError::TaskTimedOut(TOKEN.into()))
        );
        assert!(tokens.is_empty());
    }
}

//! The conformance suite every [`Store`] backend runs: `run_all(|| MyStore::new(...))`.

use crate::{
    Activity, Ending, Error, Execution, ExecutionChange, ExecutionQuery, ExecutionSearch,
    HistoryEntry, JournalEntry, StateMachine, StatusCount, Store,
};

/// A state machine record for tests.
pub fn machine(name: &str) -> StateMachine {
    StateMachine {
        arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
        name: name.to_owned(),
        machine_type: "STANDARD".into(),
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        created_ms: 1,
        revision_id: "r1".into(),
        description: None,
        logging: None,
        tracing: None,
    }
}

/// An execution record for tests.
pub fn execution(machine: &str, name: &str, start_ms: i64) -> Execution {
    Execution {
        arn: format!("arn:aws:states:us-east-1:123456789012:execution:{machine}:{name}"),
        state_machine_arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"),
        name: name.to_owned(),
        status: "RUNNING".into(),
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        start_ms,
        stop_ms: None,
        definition: "{}".into(),
        role_arn: "r".into(),
        seed: 7,
        revision_id: "r1".into(),
    }
}

fn created(execution: Execution) -> ExecutionChange {
    ExecutionChange {
        arn: execution.arn.clone(),
        journal: vec![JournalEntry {
            seq: 1,
            now_ms: execution.start_ms,
            event: "start".into(),
        }],
        history: vec![HistoryEntry {
            id: 1,
            event: "{\"id\":1}".into(),
        }],
        created: Some(execution),
        ending: None,
        map_runs: Vec::new(),
    }
}

/// Runs every test against fresh stores made by `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    state_machines(&make());
    executions_and_journals(&make());
    commit_is_atomic(&make());
    listing_and_paging(&make());
    history_paging(&make());
    activities_and_tags(&make());
    searching_executions(&make());
    counting_executions(&make());
    map_runs(&make());
}

fn map_runs(store: &impl Store) {
    let e = execution("m", "with-runs", 10);
    store.commit(vec![created(e.clone())]).expect("create");
    let run = |id: &str, status: &str, succeeded: u64| aslan_types::MapRun {
        map_run_arn: format!("arn:aws:states:us-east-1:123456789012:mapRun:m/Each:{id}"),
        execution_arn: e.arn.clone(),
        status: status.into(),
        total: 3,
        succeeded,
        ..Default::default()
    };
    let report = |runs: Vec<aslan_types::MapRun>| ExecutionChange {
        arn: e.arn.clone(),
        map_runs: runs,
        ..Default::default()
    };
    store
        .commit(vec![report(vec![
            run("b", "RUNNING", 0),
            run("a", "RUNNING", 0),
        ])])
        .expect("start");
    // A later report replaces the run's record and keeps its place.
    store
        .commit(vec![report(vec![run("b", "SUCCEEDED", 3)])])
        .expect("report");
    let listed = store.list_map_runs(&e.arn).expect("list");
    assert_eq!(
        listed,
        vec![run("b", "SUCCEEDED", 3), run("a", "RUNNING", 0)]
    );
    assert_eq!(
        store.get_map_run(&listed[0].map_run_arn).expect("get"),
        Some(run("b", "SUCCEEDED", 3))
    );
    assert_eq!(store.get_map_run("arn:nothing").expect("get"), None);
    assert_eq!(store.list_map_runs("arn:nothing").expect("list"), vec![]);
}

fn state_machines(store: &impl Store) {
    let m = machine("a");
    store.create_state_machine(&m).expect("create");
    assert!(matches!(
        store.create_state_machine(&m),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(
        store.get_state_machine(&m.arn).expect("get"),
        Some(m.clone())
    );
    let updated = StateMachine {
        definition: "{\"x\":1}".into(),
        revision_id: "r2".into(),
        ..m.clone()
    };
    store.update_state_machine(&updated).expect("update");
    assert_eq!(
        store
            .get_state_machine(&m.arn)
            .expect("get")
            .map(|m| m.revision_id),
        Some("r2".into())
    );
    store.create_state_machine(&machine("b")).expect("create b");
    let page = store.list_state_machines(None, 1).expect("list");
    assert_eq!(page.len(), 1);
    let rest = store
        .list_state_machines(Some(&page[0].arn), 10)
        .expect("list");
    assert_eq!(rest.len(), 1);
    store.delete_state_machine(&m.arn).expect("delete");
    assert_eq!(store.get_state_machine(&m.arn).expect("get"), None);
    assert!(matches!(
        store.update_state_machine(&m),
        Err(Error::NotFound(_))
    ));
}

fn executions_and_journals(store: &impl Store) {
    let e = execution("m", "e1", 10);
    store
        .commit(vec![created(e.clone())])
        .expect("create execution");
    assert!(matches!(
        store.commit(vec![created(e.clone())]),
        Err(Error::AlreadyExists(_))
    ));
    store
        .commit(vec![ExecutionChange {
            arn: e.arn.clone(),
            journal: vec![JournalEntry {
                seq: 2,
                now_ms: 11,
                event: "done".into(),
            }],
            history: vec![HistoryEntry {
                id: 2,
                event: "{\"id\":2}".into(),
            }],
            ending: Some(Ending {
                status: "SUCCEEDED".into(),
                output: Some("{}".into()),
                error: None,
                cause: None,
                stop_ms: 11,
            }),
            created: None,
            map_runs: Vec::new(),
        }])
        .expect("append");
    let journal = store.journal(&e.arn).expect("journal");
    assert_eq!(
        journal.iter().map(|j| j.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let stored = store.get_execution(&e.arn).expect("get").expect("exists");
    assert_eq!(stored.status, "SUCCEEDED");
    assert_eq!(stored.stop_ms, Some(11));
    assert!(store.running_executions().expect("running").is_empty());
    assert!(matches!(
        store.commit(vec![ExecutionChange {
            arn: "nope".into(),
            ..Default::default()
        }]),
        Err(Error::NotFound(_))
    ));
}

fn commit_is_atomic(store: &impl Store) {
    let a = execution("m", "a", 1);
    store.commit(vec![created(a.clone())]).expect("create a");
    // The second change fails, so the first must not be applied either.
    let b = execution("m", "b", 2);
    let result = store.commit(vec![created(b.clone()), created(a)]);
    assert!(matches!(result, Err(Error::AlreadyExists(_))));
    assert_eq!(store.get_execution(&b.arn).expect("get"), None);
    assert_eq!(store.running_executions().expect("running").len(), 1);
}

fn listing_and_paging(store: &impl Store) {
    for i in 0..5 {
        store
            .commit(vec![created(execution("m", &format!("e{i}"), 100 + i))])
            .expect("create");
    }
    store
        .commit(vec![created(execution("other", "x", 500))])
        .expect("create other");
    let query = ExecutionQuery {
        state_machine_arn: Some("arn:aws:states:us-east-1:123456789012:stateMachine:m".into()),
        limit: 2,
        ..Default::default()
    };
    let first = store.list_executions(&query).expect("list");
    assert_eq!(
        first.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["e4", "e3"]
    );
    let last = first.last().expect("page");
    let second = store
        .list_executions(&ExecutionQuery {
            after: Some((last.start_ms, last.arn.clone())),
            ..query
        })
        .expect("list");
    assert_eq!(
        second.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["e2", "e1"]
    );
    let succeeded = store
        .list_executions(&ExecutionQuery {
            status: Some("SUCCEEDED".into()),
            limit: 10,
            ..Default::default()
        })
        .expect("list");
    assert!(succeeded.is_empty());
    assert_eq!(store.running_executions().expect("running").len(), 6);
}

fn history_paging(store: &impl Store) {
    let e = execution("m", "h", 1);
    let mut change = created(e.clone());
    change.history = (1..=5)
        .map(|id| HistoryEntry {
            id,
            event: format!("{{\"id\":{id}}}"),
        })
        .collect();
    store.commit(vec![change]).expect("create");
    let ids = |entries: Vec<HistoryEntry>| entries.into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.history(&e.arn, None, 2, false).expect("h")),
        vec![1, 2]
    );
    assert_eq!(
        ids(store.history(&e.arn, Some(2), 10, false).expect("h")),
        vec![3, 4, 5]
    );
    assert_eq!(
        ids(store.history(&e.arn, None, 2, true).expect("h")),
        vec![5, 4]
    );
    assert_eq!(
        ids(store.history(&e.arn, Some(4), 10, true).expect("h")),
        vec![3, 2, 1]
    );
    assert!(
        store
            .history("missing", None, 10, false)
            .expect("h")
            .is_empty()
    );
}

fn activities_and_tags(store: &impl Store) {
    let a = Activity {
        arn: "arn:aws:states:us-east-1:1:activity:a".into(),
        name: "a".into(),
        created_ms: 5,
    };
    assert_eq!(store.create_activity(&a).expect("create"), a);
    let again = Activity {
        created_ms: 9,
        ..a.clone()
    };
    assert_eq!(
        store
            .create_activity(&again)
            .expect("idempotent")
            .created_ms,
        5
    );
    assert_eq!(store.list_activities(None, 10).expect("list").len(), 1);
    store.delete_activity(&a.arn).expect("delete");
    assert_eq!(store.get_activity(&a.arn).expect("get"), None);

    store
        .tag(
            "arn:x",
            &[("b".into(), "2".into()), ("a".into(), "1".into())],
        )
        .expect("tag");
    store
        .tag("arn:x", &[("a".into(), "3".into())])
        .expect("retag");
    assert_eq!(
        store.tags("arn:x").expect("tags"),
        vec![("a".into(), "3".into()), ("b".into(), "2".into())]
    );
    store.untag("arn:x", &["a".into()]).expect("untag");
    assert_eq!(
        store.tags("arn:x").expect("tags"),
        vec![("b".into(), "2".into())]
    );
}

fn ending(status: &str, stop_ms: i64) -> Ending {
    Ending {
        status: status.into(),
        output: None,
        error: None,
        cause: None,
        stop_ms,
    }
}

fn end(store: &impl Store, execution: &Execution, status: &str) {
    store
        .commit(vec![ExecutionChange {
            arn: execution.arn.clone(),
            ending: Some(ending(status, execution.start_ms + 1)),
            ..Default::default()
        }])
        .expect("end");
}

fn searching_executions(store: &impl Store) {
    // Machine m: run-0 .. run-9 at 100..109, every third failed; machine n: job-0 .. job-2 at
    // 105..107. Equal start times order by ARN, so m's come first.
    for i in 0..10 {
        let e = execution("m", &format!("run-{i}"), 100 + i);
        store.commit(vec![created(e.clone())]).expect("create");
        if i % 3 == 0 {
            end(store, &e, "FAILED");
        }
    }
    for i in 0..3 {
        let e = execution("n", &format!("job-{i}"), 105 + i);
        store.commit(vec![created(e.clone())]).expect("create");
        end(store, &e, "SUCCEEDED");
    }
    let names = |search: ExecutionSearch| {
        store
            .search_executions(&search)
            .expect("search")
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };
    let all = ExecutionSearch {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(names(all.clone()).len(), 13);
    assert_eq!(
        names(ExecutionSearch {
            limit: 4,
            ..all.clone()
        }),
        vec!["run-9", "run-8", "run-7", "job-2"]
    );
    assert_eq!(
        names(ExecutionSearch {
            status: Some("FAILED".into()),
            ..all.clone()
        }),
        vec!["run-9", "run-6", "run-3", "run-0"]
    );
    assert_eq!(
        names(ExecutionSearch {
            state_machine_arn: Some("arn:aws:states:us-east-1:123456789012:stateMachine:n".into()),
            ..all.clone()
        }),
        vec!["job-2", "job-1", "job-0"]
    );
    assert_eq!(
        names(ExecutionSearch {
            name_prefix: Some("job-".into()),
            status: Some("SUCCEEDED".into()),
            limit: 2,
            ..all.clone()
        }),
        vec!["job-2", "job-1"]
    );
    // Running ones, a page at a time.
    assert_eq!(
        names(ExecutionSearch {
            status: Some("RUNNING".into()),
            limit: 3,
            ..all.clone()
        }),
        vec!["run-8", "run-7", "run-5"]
    );
    assert_eq!(
        names(ExecutionSearch {
            status: Some("RUNNING".into()),
            after: Some((105, execution("m", "run-5", 105).arn)),
            ..all.clone()
        }),
        vec!["run-4", "run-2", "run-1"]
    );
    assert!(
        names(ExecutionSearch {
            status: Some("ABORTED".into()),
            ..all.clone()
        })
        .is_empty()
    );
    // The prefix is case-sensitive and literal.
    assert!(
        names(ExecutionSearch {
            name_prefix: Some("RUN".into()),
            ..all.clone()
        })
        .is_empty()
    );
    assert!(
        names(ExecutionSearch {
            name_prefix: Some("run_".into()),
            ..all.clone()
        })
        .is_empty()
    );
    // From is inclusive, until exclusive.
    assert_eq!(
        names(ExecutionSearch {
            started_from_ms: Some(103),
            started_until_ms: Some(106),
            ..all.clone()
        }),
        vec!["run-5", "job-0", "run-4", "run-3"]
    );
    // Paging: each page continues after the last one, with the filters kept.
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search_executions(&ExecutionSearch {
                state_machine_arn: Some(
                    "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
                ),
                started_until_ms: Some(109),
                after: after.clone(),
                limit: 3,
                ..Default::default()
            })
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some((last.start_ms, last.arn.clone()));
        pages.push(page.iter().map(|e| e.name.clone()).collect::<Vec<_>>());
    }
    assert_eq!(
        pages,
        vec![
            vec!["run-8", "run-7", "run-6"],
            vec!["run-5", "run-4", "run-3"],
            vec!["run-2", "run-1", "run-0"],
        ]
    );
    let first = &store.search_executions(&all).expect("search")[0];
    assert_eq!(
        (first.name.as_str(), first.status.as_str()),
        ("run-9", "FAILED")
    );
    assert_eq!(first.stop_ms, Some(110));
    assert_eq!(
        first.state_machine_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:m"
    );
}

fn counting_executions(store: &impl Store) {
    assert!(store.count_executions().expect("count").is_empty());
    let mut executions = Vec::new();
    for (machine, n) in [("a", 3), ("b", 2)] {
        for i in 0..n {
            let e = execution(machine, &format!("e{i}"), i);
            store.commit(vec![created(e.clone())]).expect("create");
            executions.push(e);
        }
    }
    end(store, &executions[0], "SUCCEEDED");
    end(store, &executions[1], "FAILED");
    end(store, &executions[3], "SUCCEEDED");
    let count = |machine: &str, status: &str, count: u64| StatusCount {
        state_machine_arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"),
        status: status.into(),
        count,
    };
    assert_eq!(
        store.count_executions().expect("count"),
        vec![
            count("a", "FAILED", 1),
            count("a", "RUNNING", 1),
            count("a", "SUCCEEDED", 1),
            count("b", "RUNNING", 1),
            count("b", "SUCCEEDED", 1),
        ]
    );
}

//! S3 buckets that are local directories (`[buckets]` in aslan.toml): `s3:getObject` and
//! `s3:listObjectsV2` for a Distributed Map's `ItemReader`, and the `aws-sdk:s3` object calls
//! of Task states, answered from files with the shapes S3 answers. A key never leaves its
//! bucket's directory.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use aslan_engine::TaskError;
use aslan_types::Timestamp;
use serde_json::{Map, Value, json};

/// Buckets by name, each a directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buckets {
    by_name: BTreeMap<String, PathBuf>,
}

fn s3_error(code: &str, message: &str, status: u16) -> TaskError {
    TaskError::new(
        format!("S3.{code}"),
        format!("{message} (Service: S3, Status Code: {status}, Request ID: local)"),
    )
}

impl Buckets {
    pub(crate) fn new(by_name: BTreeMap<String, PathBuf>) -> Self {
        Buckets { by_name }
    }

    /// The directory of the bucket a call names, when it is a local one.
    pub(crate) fn directory(&self, parameters: &Value) -> Option<&Path> {
        let bucket = parameters.get("Bucket").and_then(Value::as_str)?;
        self.by_name.get(bucket).map(PathBuf::as_path)
    }

    /// One S3 call (`getObject`, `GetObject`, ...) on a local bucket.
    pub(crate) async fn call(&self, action: &str, parameters: &Value) -> Result<Value, TaskError> {
        let Some(root) = self.directory(parameters).map(Path::to_path_buf) else {
            return Err(s3_error(
                "NoSuchBucketException",
                "The specified bucket does not exist",
                404,
            ));
        };
        let action = action.to_ascii_lowercase();
        let parameters = parameters.clone();
        tokio::task::spawn_blocking(move || call_blocking(&root, &action, &parameters))
            .await
            .map_err(|e| TaskError::new("States.Runtime", format!("S3 call failed: {e}")))?
    }
}

fn text<'a>(parameters: &'a Value, key: &str) -> Option<&'a str> {
    parameters.get(key).and_then(Value::as_str)
}

/// The file of a key: relative, no `..`, inside the bucket's directory.
fn object_path(root: &Path, key: &str) -> Result<PathBuf, TaskError> {
    let relative = Path::new(key);
    let safe = !key.is_empty()
        && relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if !safe {
        return Err(s3_error(
            "NoSuchKeyException",
            "The specified key does not exist.",
            404,
        ));
    }
    Ok(root.join(relative))
}

fn modified(metadata: &std::fs::Metadata) -> Timestamp {
    let ms = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms)
}

/// A weak stand-in for S3's ETag: size and modification time, quoted as S3 quotes it.
fn etag(metadata: &std::fs::Metadata) -> String {
    format!(
        "\"{:x}-{:x}\"",
        metadata.len(),
        modified(metadata).as_millis()
    )
}

fn call_blocking(root: &Path, action: &str, parameters: &Value) -> Result<Value, TaskError> {
    let key = || {
        text(parameters, "Key").ok_or_else(|| {
            TaskError::new(
                "States.Runtime",
                format!("S3 {action} needs Key, a string."),
            )
        })
    };
    let missing = || {
        s3_error(
            "NoSuchKeyException",
            "The specified key does not exist.",
            404,
        )
    };
    match action {
        "getobject" | "headobject" => {
            let path = object_path(root, key()?)?;
            let metadata = std::fs::metadata(&path).map_err(|_| missing())?;
            if !metadata.is_file() {
                return Err(missing());
            }
            let mut result = json!({
                "ContentLength": metadata.len(),
                "ETag": etag(&metadata),
                "LastModified": modified(&metadata).format_http_date(),
                "Metadata": {},
            });
            if action == "getobject" {
                let bytes = std::fs::read(&path).map_err(|_| missing())?;
                result["Body"] = json!(String::from_utf8_lossy(&bytes));
            }
            Ok(result)
        }
        "putobject" => {
            let path = object_path(root, key()?)?;
            let body = match parameters.get("Body") {
                Some(Value::String(s)) => s.clone().into_bytes(),
                Some(other) => other.to_string().into_bytes(),
                None => Vec::new(),
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    TaskError::new("States.Runtime", format!("cannot write the object: {e}"))
                })?;
            }
            std::fs::write(&path, body).map_err(|e| {
                TaskError::new("States.Runtime", format!("cannot write the object: {e}"))
            })?;
            let metadata = std::fs::metadata(&path).map_err(|_| missing())?;
            Ok(json!({"ETag": etag(&metadata)}))
        }
        "deleteobject" => {
            let path = object_path(root, key()?)?;
            let _ = std::fs::remove_file(path);
            Ok(json!({}))
        }
        "listobjectsv2" => list(root, parameters),
        other => Err(TaskError::new(
            "States.Runtime",
            format!(
                "S3 {other} is not supported on a local bucket (getObject, headObject, putObject, deleteObject and listObjectsV2 are)."
            ),
        )),
    }
}

/// `ListObjectsV2` over the files below the directory: keys in order, `Prefix`, `StartAfter`,
/// `MaxKeys` (1,000 by default) and continuation tokens.
fn list(root: &Path, parameters: &Value) -> Result<Value, TaskError> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(path);
            } else if metadata.is_file()
                && let Ok(relative) = path.strip_prefix(root)
            {
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((key, metadata));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let prefix = text(parameters, "Prefix").unwrap_or_default();
    let after = text(parameters, "ContinuationToken")
        .or_else(|| text(parameters, "StartAfter"))
        .unwrap_or_default();
    let max_keys = parameters
        .get("MaxKeys")
        .and_then(Value::as_u64)
        .unwrap_or(1000) as usize;
    let matching: Vec<_> = files
        .iter()
        .filter(|(key, _)| key.starts_with(prefix) && key.as_str() > after)
        .collect();
    let truncated = matching.len() > max_keys;
    let page = &matching[..matching.len().min(max_keys)];
    let contents: Vec<Value> = page
        .iter()
        .map(|(key, metadata)| {
            json!({
                "Key": key,
                "Size": metadata.len(),
                "LastModified": modified(metadata).format_rfc3339(),
                "ETag": etag(metadata),
                "StorageClass": "STANDARD",
            })
        })
        .collect();
    let mut result = Map::new();
    result.insert("IsTruncated".into(), json!(truncated));
    result.insert("KeyCount".into(), json!(contents.len()));
    result.insert("MaxKeys".into(), json!(max_keys));
    result.insert(
        "Name".into(),
        json!(text(parameters, "Bucket").unwrap_or_default()),
    );
    result.insert("Prefix".into(), json!(prefix));
    if truncated && let Some((last, _)) = page.last() {
        result.insert("NextContinuationToken".into(), json!(last));
    }
    if !contents.is_empty() {
        result.insert("Contents".into(), Value::Array(contents));
    }
    Ok(Value::Object(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> (tempfile::TempDir, Buckets) {
        let dir = tempfile::tempdir().expect("temp dir");
        let buckets = Buckets::new(BTreeMap::from([("data".to_owned(), dir.path().to_owned())]));
        (dir, buckets)
    }

    #[tokio::test]
    async fn objects_round_trip_and_list_in_key_order() {
        let (_dir, buckets) = bucket();
        for key in ["b/2.json", "a.json", "b/1.json"] {
            let put = json!({"Bucket": "data", "Key": key, "Body": {"k": key}});
            assert!(buckets.call("putObject", &put).await.is_ok());
        }
        let got = buckets
            .call("GetObject", &json!({"Bucket": "data", "Key": "b/1.json"}))
            .await;
        assert_eq!(
            got.ok().and_then(|r| r["Body"].as_str().map(str::to_owned)),
            Some("{\"k\":\"b/1.json\"}".to_owned())
        );
        let listed = buckets
            .call(
                "listObjectsV2",
                &json!({"Bucket": "data", "Prefix": "b/", "MaxKeys": 1}),
            )
            .await
            .unwrap_or_default();
        assert_eq!(listed["Contents"][0]["Key"], "b/1.json");
        assert_eq!(listed["IsTruncated"], true);
        let next = buckets
            .call(
                "listObjectsV2",
                &json!({"Bucket": "data", "Prefix": "b/", "ContinuationToken": listed["NextContinuationToken"]}),
            )
            .await
            .unwrap_or_default();
        assert_eq!(next["Contents"][0]["Key"], "b/2.json");
        assert_eq!(next["IsTruncated"], false);
    }

    #[tokio::test]
    async fn keys_stay_inside_the_bucket() {
        let (_dir, buckets) = bucket();
        for key in ["../escape", "/etc/passwd", "a/../../b", ""] {
            let get = buckets
                .call("getObject", &json!({"Bucket": "data", "Key": key}))
                .await;
            assert_eq!(
                get.err().map(|e| e.error),
                Some("S3.NoSuchKeyException".to_owned()),
                "{key}"
            );
        }
    }
}

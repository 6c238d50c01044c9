//! A Distributed Map's `ItemReader`: turns what the reader resource returned (an S3 object's
//! `Body`, or a listing's `Contents`) into items, as `ReaderConfig` says. Pure: the engine
//! fetched the object; this only parses it.

use aslan_asl::definition::ItemReader;
use serde_json::{Map, Value};

/// The items in `result`, at most `max_items` of them (0 or none: all). Errors are the causes
/// of `States.ItemReaderFailed`.
pub(crate) fn read_items(
    reader: &ItemReader,
    result: &Value,
    max_items: Option<u64>,
) -> Result<Vec<Value>, String> {
    let mut items = match reader.input_type.as_deref() {
        None => match result.get("Contents") {
            Some(Value::Array(objects)) => objects.iter().map(listed_item).collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err("The object listing has no list of Contents.".into()),
        },
        Some(kind) => {
            let body = match result {
                Value::String(text) => text.as_str(),
                other => other.get("Body").and_then(Value::as_str).ok_or_else(|| {
                    "The object was read without a Body to take the items from.".to_owned()
                })?,
            };
            match kind {
                "JSON" => match serde_json::from_str::<Value>(body) {
                    Ok(Value::Array(items)) => items,
                    Ok(_) => return Err("Attempting to map over non-iterable node.".into()),
                    Err(e) => return Err(format!("The object is not valid JSON: {e}")),
                },
                "JSONL" => body
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .enumerate()
                    .map(|(n, line)| {
                        serde_json::from_str(line)
                            .map_err(|e| format!("Line {} is not valid JSON: {e}", n + 1))
                    })
                    .collect::<Result<_, _>>()?,
                "CSV" => csv_items(body, reader)?,
                other => {
                    return Err(format!(
                        "The ItemReader InputType '{other}' is not supported by this version of aslan (JSON, JSONL and CSV are)."
                    ));
                }
            }
        }
    };
    if let Some(max) = max_items.filter(|max| *max > 0) {
        items.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    Ok(items)
}

/// An object of a listing as a Distributed Map item: `{Etag, Key, LastModified (epoch
/// seconds), Size, StorageClass}`, as AWS hands them to the child executions.
fn listed_item(object: &Value) -> Value {
    let last_modified = match object.get("LastModified") {
        Some(Value::String(text)) => aslan_types::Timestamp::parse_rfc3339(text)
            .map(|t| Value::from(t.as_epoch_seconds()))
            .unwrap_or_else(|_| Value::String(text.clone())),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let mut item = Map::new();
    item.insert(
        "Etag".into(),
        object
            .get("ETag")
            .or_else(|| object.get("Etag"))
            .cloned()
            .unwrap_or(Value::Null),
    );
    for key in ["Key", "Size", "StorageClass"] {
        item.insert(key.into(), object.get(key).cloned().unwrap_or(Value::Null));
    }
    item.insert("LastModified".into(), last_modified);
    Value::Object(item)
}

/// CSV rows as objects keyed by the headers (given, or the first row): a missing field is "",
/// fields past the headers are dropped, every value is a string.
fn csv_items(body: &str, reader: &ItemReader) -> Result<Vec<Value>, String> {
    let mut rows = csv_rows(body, reader.csv_delimiter)?.into_iter();
    let headers = match &reader.csv_headers {
        Some(headers) => headers.clone(),
        None => rows.next().unwrap_or_default(),
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|header| seen.insert(header)) {
        return Err("CSV headers cannot contain duplicates.".into());
    }
    Ok(rows
        .map(|row| {
            let object: Map<String, Value> = headers
                .iter()
                .enumerate()
                .map(|(i, header)| {
                    let field = row.get(i).cloned().unwrap_or_default();
                    (header.clone(), Value::String(field))
                })
                .collect();
            Value::Object(object)
        })
        .collect())
}

/// RFC 4180 rows: fields split by `delimiter`, `"` quoting with `""` for a quote, rows ended by
/// CRLF or LF; a final line ending does not start another row.
fn csv_rows(body: &str, delimiter: char) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = body.chars().peekable();
    let mut quoted = false;
    let mut row_started = false;
    while let Some(c) = chars.next() {
        row_started = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == delimiter => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                row_started = false;
            }
            other => field.push(other),
        }
    }
    if quoted {
        return Err("The CSV object ends inside a quoted field.".into());
    }
    if row_started {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aslan_asl::load::classify_resource;
    use serde_json::json;

    fn reader(input_type: Option<&str>, headers: Option<&[&str]>) -> ItemReader {
        ItemReader {
            resource: classify_resource("arn:aws:states:::s3:getObject"),
            parameters: None,
            input_type: input_type.map(str::to_owned),
            csv_headers: headers.map(|h| h.iter().map(|s| (*s).to_owned()).collect()),
            csv_delimiter: ',',
            max_items: None,
        }
    }

    fn body(text: &str) -> Value {
        json!({ "Body": text })
    }

    #[test]
    fn json_and_jsonl() {
        let json_reader = reader(Some("JSON"), None);
        assert_eq!(
            read_items(&json_reader, &body("[1, {\"a\": 2}]"), None),
            Ok(vec![json!(1), json!({"a": 2})])
        );
        assert_eq!(
            read_items(&json_reader, &body("{\"a\": 1}"), None),
            Err("Attempting to map over non-iterable node.".into())
        );
        assert_eq!(
            read_items(&json_reader, &body("[1, 2, 3]"), Some(2)),
            Ok(vec![json!(1), json!(2)])
        );
        assert_eq!(
            read_items(&json_reader, &body("[1, 2, 3]"), Some(0)).map(|i| i.len()),
            Ok(3)
        );
        let lines = reader(Some("JSONL"), None);
        assert_eq!(
            read_items(&lines, &body("{\"n\": 1}\n\n{\"n\": 2}\n"), None),
            Ok(vec![json!({"n": 1}), json!({"n": 2})])
        );
    }

    #[test]
    fn csv_with_first_row_or_given_headers() {
        let text = "Col1,Col2\r\nValue1,\"Va,lue \"\"2\"\"\"\n,\nonly\nx,y,extra\n";
        assert_eq!(
            read_items(&reader(Some("CSV"), None), &body(text), None),
            Ok(vec![
                json!({"Col1": "Value1", "Col2": "Va,lue \"2\""}),
                json!({"Col1": "", "Col2": ""}),
                json!({"Col1": "only", "Col2": ""}),
                json!({"Col1": "x", "Col2": "y"}),
            ])
        );
        let given = reader(Some("CSV"), Some(&["H1"]));
        assert_eq!(
            read_items(&given, &body("a,b\nc"), None),
            Ok(vec![json!({"H1": "a"}), json!({"H1": "c"})])
        );
        assert_eq!(
            read_items(&reader(Some("CSV"), Some(&["H", "H"])), &body("a,b"), None),
            Err("CSV headers cannot contain duplicates.".into())
        );
        let mut piped = reader(Some("CSV"), None);
        piped.csv_delimiter = '|';
        assert_eq!(
            read_items(&piped, &body("a|b\n1|2"), None),
            Ok(vec![json!({"a": "1", "b": "2"})])
        );
    }

    proptest::proptest! {
        #[test]
        fn any_object_is_read_without_panic(body in "\\PC{0,200}", kind in 0usize..3) {
            let input_type = ["JSON", "JSONL", "CSV"][kind];
            let _ = read_items(&reader(Some(input_type), None), &json!({ "Body": body }), Some(3));
        }

        #[test]
        fn csv_fields_survive_quoting(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-z,\"\\n ]{0,6}", 2..=2), 1..5),
        ) {
            // Quote every field as a CSV writer would; the reader gives the fields back.
            let quote = |field: &String| format!("\"{}\"", field.replace('"', "\"\""));
            let mut body = String::from("a,b\n");
            for row in &rows {
                body.push_str(&row.iter().map(quote).collect::<Vec<_>>().join(","));
                body.push('\n');
            }
            let items = read_items(&reader(Some("CSV"), None), &json!({ "Body": body }), None);
            let expected: Vec<Value> = rows
                .iter()
                .map(|row| json!({"a": row[0], "b": row[1]}))
                .collect();
            proptest::prop_assert_eq!(items, Ok(expected));
        }
    }

    #[test]
    fn listings_give_their_objects() {
        let listing = json!({"Contents": [{"Key": "a.json", "Size": 2, "ETag": "\"e\"",
            "LastModified": "2024-03-05T12:00:00Z", "StorageClass": "STANDARD"}], "KeyCount": 1});
        assert_eq!(
            read_items(&reader(None, None), &listing, None),
            Ok(vec![
                json!({"Etag": "\"e\"", "Key": "a.json", "LastModified": 1709640000,
                "Size": 2, "StorageClass": "STANDARD"})
            ])
        );
        assert_eq!(
            read_items(&reader(None, None), &json!({"KeyCount": 0}), None),
            Ok(vec![])
        );
    }
}

//! Whether a stored run configuration is the run asked for now: the fields that change the numbers
//! are compared and each difference is named by its JSON path; the others are only recorded.
use serde_json::Value;

/// Fields of a config that do not change a run's numbers (a path's spelling, libtorch's thread
/// count): left out of the comparison, recorded per session in [`super::records::SESSIONS_FILE`].
/// The data themselves are compared through what the run records of them (split sizes).
pub const NOT_COMPARED: [&str; 4] = ["/task_file", "/meta_file", "/data_root", "/environment/threads"];

/// Keys an earlier version wrote under another spelling, with their spelling now: a stored
/// config is read in today's spelling, so a run from before a rename still resumes.
pub const RENAMED_KEYS: [(&str, &str); 1] = [("optimizer", "optimiser")];

/// One field whose stored value differs from the value asked for now.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// JSON path of the field (`/train/lr`).
    pub path: String,
    pub stored: String,
    pub now: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: stored {}, now {}", self.path, self.stored, self.now)
    }
}

/// `config` without the [`NOT_COMPARED`] fields.
pub fn compared_part(config: &Value) -> Value {
    let mut part = config.clone();
    for path in NOT_COMPARED {
        let (parent, key) = path.rsplit_once('/').unwrap_or(("", path));
        if let Some(Value::Object(map)) = part.pointer_mut(parent) {
            map.remove(key);
        }
    }
    part
}

/// The [`NOT_COMPARED`] fields of `config` that it has, by path.
pub fn recorded_part(config: &Value) -> serde_json::Map<String, Value> {
    NOT_COMPARED.iter().filter_map(|p| config.pointer(p).map(|v| (p.to_string(), v.clone()))).collect()
}

/// Every field in which the compared parts of `stored` and `now` differ, in path order.
pub fn differences(stored: &Value, now: &Value) -> Vec<Difference> {
    let mut out = vec![];
    walk("", &compared_part(&respelt(stored)), &compared_part(now), &mut out);
    out
}

/// `config` with every key of [`RENAMED_KEYS`] spelt as it is now, at any depth.
fn respelt(config: &Value) -> Value {
    match config {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let key = RENAMED_KEYS.iter().find(|(old, _)| old == key).map_or(key.as_str(), |r| r.1);
                    (key.to_string(), respelt(value))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(respelt).collect()),
        other => other.clone(),
    }
}

fn walk(path: &str, stored: &Value, now: &Value, out: &mut Vec<Difference>) {
    match (stored, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let field = format!("{path}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(&field, x, y, out),
                    (x, y) => out.push(Difference { path: field, stored: shown(x), now: shown(y) }),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}/{i}"), x, y, out);
            }
        }
        (Value::String(a), Value::String(b)) if a != b && (a.contains('\n') || b.contains('\n')) => {
            out.push(first_differing_line(path, a, b))
        }
        (a, b) if a != b => {
            out.push(Difference { path: path.to_string(), stored: shown(Some(a)), now: shown(Some(b)) })
        }
        _ => {}
    }
}

/// A multi-line text (a task file) differs: the first line that does.
fn first_differing_line(path: &str, a: &str, b: &str) -> Difference {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = (0..la.len().max(lb.len())).find(|i| la.get(*i) != lb.get(*i)).unwrap_or(0);
    let line = |l: Option<&&str>| l.map_or("(no line)".to_string(), |t| format!("{t:?}"));
    Difference { path: format!("{path} (line {})", i + 1), stored: line(la.get(i)), now: line(lb.get(i)) }
}

/// A value as compact JSON, cut to 80 characters; `(absent)` for a missing field.
fn shown(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(absent)".into() };
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_differing_field_with_both_values() {
        let stored = json!({"seeds": [0, 1], "train": {"lr": 0.01, "steps": 30}, "task_toml": "a = 1\nb = 2\n", "environment": {"threads": 1, "device": "Cpu"}});
        let now = json!({"seeds": [0, 1, 2], "train": {"lr": 0.1, "steps": 30}, "task_toml": "a = 1\nb = 3\n", "environment": {"threads": 8, "device": "Cpu"}, "extra": true});
        let found: Vec<String> = differences(&stored, &now).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            found,
            vec![
                "/extra: stored (absent), now true".to_string(),
                "/seeds: stored [0,1], now [0,1,2]".to_string(),
                "/task_toml (line 2): stored \"b = 2\", now \"b = 3\"".to_string(),
                "/train/lr: stored 0.01, now 0.1".to_string(),
            ]
        );
    }

    #[test]
    fn keys_of_an_earlier_spelling_compare_as_they_are_spelt_now() {
        let stored = json!({"train": {"optimizer": "adam", "lr": 0.01}, "inner": [{"optimizer": "sgd"}]});
        let now = json!({"train": {"optimiser": "adam", "lr": 0.01}, "inner": [{"optimiser": "adamw"}]});
        let found: Vec<String> = differences(&stored, &now).iter().map(|d| d.to_string()).collect();
        assert_eq!(found, vec!["/inner/0/optimiser: stored \"sgd\", now \"adamw\"".to_string()]);
    }

    #[test]
    fn paths_and_threads_are_recorded_not_compared() {
        let stored = json!({"task_file": "tasks/x.toml", "meta_file": "meta/s.toml", "environment": {"threads": 1, "tch": "0.24.0"}});
        let now = json!({"task_file": "./tasks/../tasks/x.toml", "meta_file": "/abs/meta/s.toml", "environment": {"threads": 2, "tch": "0.24.0"}});
        assert!(differences(&stored, &now).is_empty());
        let recorded = recorded_part(&now);
        assert_eq!(recorded["/environment/threads"], json!(2));
        assert_eq!(recorded["/task_file"], json!("./tasks/../tasks/x.toml"));
    }
}

//! Passwords masked in storage URLs and connection strings before anything is printed or recorded
//! (`sessions.jsonl`, errors, the Optuna bridge's messages).

/// `scheme://user:password@host/…` and `password=…` with the password replaced by `***` (other
/// text unchanged).
pub fn redact(text: &str) -> String {
    redact_parameter(&redact_authority(text))
}

/// `password=VALUE` (a libpq URL parameter or connection string) with VALUE replaced by `***`.
fn redact_parameter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("password=") {
        let (head, tail) = rest.split_at(at + "password=".len());
        out.push_str(head);
        let end =
            tail.find(|c: char| c == '&' || c.is_whitespace() || c == '"' || c == '\'').unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn redact_authority(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"').unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(a), Some(c)) if c < a => {
                out.push_str(&authority[..c + 1]);
                out.push_str("***");
                out.push_str(&authority[a..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgresql://me:s3cret@db:5432/optuna"), "postgresql://me:***@db:5432/optuna");
        assert_eq!(redact("postgresql://me@db/optuna"), "postgresql://me@db/optuna");
        assert_eq!(redact("journal:/shared/study.log"), "journal:/shared/study.log");
        assert_eq!(
            redact("failed: \"postgresql://a:b@h/x\" refused"),
            "failed: \"postgresql://a:***@h/x\" refused"
        );
        assert_eq!(
            redact("postgresql://me@db/x?password=s3cret&x=1"),
            "postgresql://me@db/x?password=***&x=1"
        );
    }
}

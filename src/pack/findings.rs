//! A validation finding: what is wrong, where (file, field, line:column) and how to fix it.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Path relative to the pack folder.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}. Fix: {}", self.message, self.fix)
    }
}

/// Collects findings as validation goes, so one run reports every problem at once.
#[derive(Debug, Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn error(&mut self, file: &str, field: Option<&str>, message: String, fix: &str) {
        self.push(Severity::Error, file, field, message, fix);
    }

    pub fn warn(&mut self, file: &str, field: Option<&str>, message: String, fix: &str) {
        self.push(Severity::Warning, file, field, message, fix);
    }

    fn push(
        &mut self,
        severity: Severity,
        file: &str,
        field: Option<&str>,
        message: String,
        fix: &str,
    ) {
        self.0.push(Finding {
            severity,
            file: file.to_string(),
            field: field.map(str::to_string),
            message,
            fix: fix.to_string(),
        });
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.0.iter().filter(|f| f.severity == severity).count()
    }
}

//! `${VAR}` interpolation, so secrets (tokens) stay out of the file. `$${` writes a literal
//! `${`; comment lines are left alone. An unset variable is an error, never an empty string.

use super::error::ConfigError;

/// Replaces every `${NAME}` with the environment variable `NAME`.
pub fn interpolate_env(text: &str) -> Result<String, ConfigError> {
    interpolate_with(text, |name| std::env::var(name).ok())
}

pub(crate) fn interpolate_with(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        // Comment lines are documentation: `${VAR}` there is an example, not a reference.
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str(&interpolate_line(line, &lookup)?);
        }
    }
    Ok(out)
}

fn interpolate_line(
    text: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let end = after.find('}').ok_or_else(|| ConfigError::Invalid {
            path: "(interpolation)".into(),
            message: "unclosed ${ in the configuration".into(),
        })?;
        let name = &after[..end];
        out.push_str(&lookup(name).ok_or_else(|| ConfigError::MissingVar(name.to_string()))?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

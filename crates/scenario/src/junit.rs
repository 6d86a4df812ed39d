//! JUnit XML for CI systems.

use crate::Outcome;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => o.push(c),
        }
    }
    o
}

/// One `<testsuite>` with a `<testcase>` per scenario (errors that kept a scenario from
/// running are given as `(path, message)`).
pub fn junit_xml(outcomes: &[Outcome], errors: &[(String, String)]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let time: f64 = outcomes.iter().map(|o| o.wall.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{time:.3}\">\n",
        outcomes.len() + errors.len(),
        errors.len()
    ));
    x.push_str(&format!(
        "  <testsuite name=\"ipcemu\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{time:.3}\">\n",
        outcomes.len() + errors.len(),
        errors.len()
    ));
    for o in outcomes {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">\n",
            esc(&o.name),
            esc(&o.path.display().to_string()),
            o.wall.as_secs_f64()
        ));
        if !o.passed() {
            let mut body = o.failures.join("\n");
            for d in &o.diffs {
                body.push_str("\n\n");
                body.push_str(d);
            }
            x.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                esc(o.failures.first().map(String::as_str).unwrap_or("")),
                esc(&body)
            ));
        }
        x.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            esc(&o.output)
        ));
        x.push_str("    </testcase>\n");
    }
    for (path, msg) in errors {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"0\">\n      <error message=\"{}\"/>\n    </testcase>\n",
            esc(path),
            esc(path),
            esc(msg)
        ));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

//! JUnit XML for CI systems, written with `quick-junit` (escaping, counts and attributes as CI
//! systems read them). One suite `ipcemu`, a test case per scenario file: its name is the
//! scenario's name, its class name the file's path without dots (`fixtures/scenarios/echo_pair`:
//! CI systems split class names at dots).

use crate::Outcome;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// A class name for a scenario file: its path without the extension, dots made `_`.
fn classname(path: &str) -> String {
    let p = path.strip_suffix(".toml").unwrap_or(path);
    p.replace('\\', "/").replace('.', "_")
}

/// One `<testsuite>` with a `<testcase>` per scenario (errors that kept a scenario from
/// running are given as `(path, message)`).
pub fn junit_xml(outcomes: &[Outcome], errors: &[(String, String)]) -> String {
    let mut suite = TestSuite::new("ipcemu");
    for o in outcomes {
        let status = if o.passed() {
            TestCaseStatus::success()
        } else {
            let mut body = o.failures.join("\n");
            for d in &o.diffs {
                body.push_str("\n\n");
                body.push_str(d);
            }
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(o.failures.first().map(String::as_str).unwrap_or(""));
            st.set_description(body);
            st
        };
        let mut tc = TestCase::new(o.name.as_str(), status);
        tc.set_classname(classname(&o.path.display().to_string()));
        tc.set_time(o.wall);
        tc.set_system_out_lossy(o.output.as_bytes());
        suite.add_test_case(tc);
    }
    for (path, msg) in errors {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
        st.set_message(msg.as_str());
        let mut tc = TestCase::new(path.as_str(), st);
        tc.set_classname(classname(path));
        suite.add_test_case(tc);
    }
    let time = outcomes.iter().map(|o| o.wall).sum();
    suite.set_time(time);
    let mut report = Report::new("ipcemu");
    report.set_time(time);
    report.add_test_suite(suite);
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::classname;

    #[test]
    fn class_names_have_no_dots() {
        assert_eq!(
            classname("fixtures/scenarios/echo_pair.toml"),
            "fixtures/scenarios/echo_pair"
        );
        assert_eq!(classname("./a.b/c.toml"), "_/a_b/c");
    }
}

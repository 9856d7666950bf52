//! The checkup's output: one line per check, so a partner can paste it into a support
//! ticket and a script can grep it.

use std::fmt::Display;

#[derive(Default)]
pub struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    pub fn ok(&mut self, check: &str, detail: impl Display) {
        self.passed += 1;
        println!("ok   {check}: {detail}");
    }

    /// A failed check: what is wrong, and the fix in one sentence.
    pub fn fail(&mut self, check: &str, problem: impl Display, fix: impl Display) {
        self.failed += 1;
        println!("FAIL {check}: {problem}. Fix: {fix}");
    }

    /// A check that could not be made with what was given; neither passes nor fails.
    pub fn skip(&mut self, check: &str, why: impl Display) {
        println!("skip {check}: {why}");
    }

    /// The outcome: `Err` (exit status 1) when any check failed.
    pub fn finish(self) -> Result<(), String> {
        if self.failed == 0 {
            println!("all {} checks passed", self.passed);
            Ok(())
        } else {
            Err(format!("{} of {} checks failed", self.failed, self.failed + self.passed))
        }
    }
}

//! Name matching: how alike two renderings of a person's or business's name are, the
//! way KYC checks compare a name given with a name on record ("Jon Doe" / "John Doe",
//! "DOE JOHN", "Mr. John Doe").

/// Honorifics and business suffixes that do not tell names apart.
const NOISE: &[&str] = &["mr", "mrs", "ms", "miss", "dr", "shri", "smt", "kumari", "pvt", "ltd", "private", "limited"];

/// A name's words: lower case, letters only, without honorifics, sorted (word order
/// varies between records: "Doe John").
fn words(name: &str) -> Vec<String> {
    let cleaned: String = name.chars().map(|c| if c.is_alphabetic() { c.to_ascii_lowercase() } else { ' ' }).collect();
    let mut words: Vec<String> = cleaned.split_whitespace().filter(|w| !NOISE.contains(w)).map(str::to_owned).collect();
    words.sort();
    words
}

/// Edit distance between `a` and `b` (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// How alike two names are, 0 to 100, with the reason.
pub fn score(name_1: &str, name_2: &str) -> (u8, &'static str) {
    let (a, b) = (words(name_1), words(name_2));
    if a.is_empty() || b.is_empty() {
        return (0, "One of the names has no letters.");
    }
    if a == b {
        return (100, "Exact match.");
    }
    let initials = |w: &[String]| w.iter().map(|x| x.chars().next().unwrap_or(' ')).collect::<String>();
    let (ja, jb) = (a.join(" "), b.join(" "));
    let longest = ja.chars().count().max(jb.chars().count());
    let similarity = 100 - (levenshtein(&ja, &jb) * 100 / longest).min(100);
    let score = u8::try_from(similarity).unwrap_or(0);
    let reason = match score {
        85.. => "High similarity, possible variation in spelling.",
        60..=84 if initials(&a) == initials(&b) => "Same initials, partial similarity.",
        60..=84 => "Partial similarity.",
        _ => "The names differ.",
    };
    (score, reason)
}

/// Whether a score counts as the same name (the threshold KYC answers use for `Y`).
pub fn matches(score: u8) -> bool {
    score >= 80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        assert_eq!(score("John Doe", "DOE JOHN").0, 100);
        assert_eq!(score("Mr. John Doe", "john doe").0, 100);
        let (close, why) = score("John Doe", "Jon Doe");
        assert!(matches(close) && close < 100, "{close} {why}");
        assert!(!matches(score("John Doe", "Priya Sharma").0));
        assert_eq!(score("", "John").0, 0);
    }
}

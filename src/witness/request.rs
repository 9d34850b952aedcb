//! The `add-checkpoint` request body and the witness's answers, as C2SP
//! tlog-witness defines them (<https://c2sp.org/tlog-witness>):
//!
//! ```text
//! old <size>\n
//! <base64 hash>\n          (0 to 63 consistency proof lines)
//! \n
//! <signed checkpoint note>
//! ```
//!
//! The same bytes travel over HTTP (`POST /add-checkpoint`) and over the
//! hub's gRPC channel, so parsing and answering live here once.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::ledger::merkle::Hash;

/// Consistency proof lines a request may carry (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body a witness reads (a checkpoint with many
/// cosignatures is a few kB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Content type of a 409 answer's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness last cosigned.
    pub old_size: u64,
    /// RFC 9162 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: String,
}

/// What a witness answers, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the cosignature lines.
    Cosigned(String),
    /// 400: the request is malformed or `old` is beyond the checkpoint.
    BadRequest(String),
    /// 403: no signature by a log key the witness trusts.
    Forbidden(String),
    /// 404: the witness does not follow this origin.
    UnknownLog(String),
    /// 409: `old` is not the size the witness last cosigned (which this
    /// carries), or the same size with another root.
    Conflict {
        /// The size of the latest checkpoint the witness cosigned.
        size: u64,
        /// Why, for logs and people (not sent in the body).
        why: String,
    },
    /// 422: the consistency proof does not verify.
    Unprocessable(String),
    /// 500: the witness could not store its state (nothing cosigned).
    Internal(String),
}

impl Answer {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned(_) => 200,
            Answer::BadRequest(_) => 400,
            Answer::Forbidden(_) => 403,
            Answer::UnknownLog(_) => 404,
            Answer::Conflict { .. } => 409,
            Answer::Unprocessable(_) => 422,
            Answer::Internal(_) => 500,
        }
    }

    /// The body and its content type: signature lines, `<size>\n` for a
    /// 409, otherwise a one-line reason.
    pub fn body(&self) -> (&'static str, String) {
        match self {
            Answer::Cosigned(lines) => ("text/plain; charset=utf-8", lines.clone()),
            Answer::Conflict { size, .. } => (SIZE_CONTENT_TYPE, format!("{size}\n")),
            Answer::BadRequest(why)
            | Answer::Forbidden(why)
            | Answer::UnknownLog(why)
            | Answer::Unprocessable(why)
            | Answer::Internal(why) => ("text/plain; charset=utf-8", format!("{why}\n")),
        }
    }

    /// Rebuilds an answer from what a witness sent (status and body), as
    /// the hub reads it.
    pub fn from_response(status: u16, body: &str) -> Answer {
        let why = body.trim_end().to_owned();
        match status {
            200 => Answer::Cosigned(body.to_owned()),
            409 => match parse_decimal(body.strip_suffix('\n').unwrap_or(body)) {
                Some(size) => Answer::Conflict {
                    size,
                    why: "the witness last cosigned another size".into(),
                },
                None => Answer::BadRequest(format!("409 with a body that is not <size>\\n: {why:?}")),
            },
            400 => Answer::BadRequest(why),
            403 => Answer::Forbidden(why),
            404 => Answer::UnknownLog(why),
            422 => Answer::Unprocessable(why),
            other => Answer::Internal(format!("HTTP {other}: {why}")),
        }
    }
}

/// A decimal with no leading zero (except `0` itself), as the spec writes sizes.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

impl AddCheckpoint {
    /// Parses a request body; the error says what is wrong (a 400).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("the body is {} bytes; at most {MAX_BODY_BYTES}", body.len()));
        }
        let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| "the body has no old size line".to_owned())?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| format!("the first line must be `old <size>` in decimal, got {first:?}"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| "no empty line before the checkpoint".to_owned())?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(format!("more than {MAX_PROOF_LINES} consistency proof lines"));
            }
            let hash = B64
                .decode(line)
                .ok()
                .and_then(|h| Hash::try_from(h).ok())
                .ok_or_else(|| format!("proof line {} is not a base64 32-byte hash", proof.len() + 1))?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err("no checkpoint after the empty line".into());
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
                        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    #[test]
    fn the_spec_example_round_trips() {
        let body = format!(
            "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\n{NOTE}"
        );
        let r = AddCheckpoint::parse(body.as_bytes()).expect("parses");
        assert_eq!((r.old_size, r.proof.len()), (20852014, 2));
        assert_eq!(r.checkpoint, NOTE);
        assert_eq!(r.to_body(), body);
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "no old size line"),
            ("old 01\n\nx", "decimal"),
            ("old -1\n\nx", "decimal"),
            ("new 1\n\nx", "`old <size>`"),
            ("old 1\nnot base64!\n\nx", "proof line 1"),
            ("old 1\nAAAA\n\nx", "proof line 1"),
            ("old 1\n", "no empty line"),
            ("old 1\n\n", "no checkpoint"),
        ];
        for (body, want) in cases {
            let e = AddCheckpoint::parse(body.as_bytes()).expect_err(body);
            assert!(e.contains(want), "{body:?}: {e}");
        }
        let line = format!("{}\n", B64.encode([0u8; 32]));
        let long = format!("old 1\n{}\n{NOTE}", line.repeat(64));
        assert!(AddCheckpoint::parse(long.as_bytes()).expect_err("64").contains("63"));
        let ok = format!("old 1\n{}\n{NOTE}", line.repeat(63));
        assert_eq!(AddCheckpoint::parse(ok.as_bytes()).expect("63 lines").proof.len(), 63);
    }

    #[test]
    fn answers_carry_the_spec_statuses_and_bodies() {
        let conflict = Answer::Conflict {
            size: 7,
            why: String::new(),
        };
        assert_eq!(
            (conflict.status(), conflict.body()),
            (409, (SIZE_CONTENT_TYPE, "7\n".into()))
        );
        assert_eq!(
            Answer::from_response(409, "7\n"),
            Answer::Conflict {
                size: 7,
                why: "the witness last cosigned another size".into()
            }
        );
        assert!(matches!(Answer::from_response(409, "07\n"), Answer::BadRequest(_)));
        assert_eq!(Answer::UnknownLog(String::new()).status(), 404);
        assert_eq!(Answer::Unprocessable(String::new()).status(), 422);
    }
}

//! The crate's one SHA-256, through ring (the design card's crypto
//! provider): key ids, SPKI bindings, genesis pins, probe choices.

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_answer() {
        // FIPS 180-2 example: SHA-256("abc").
        let want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hex::encode(super::sha256(b"abc")), want);
    }
}

"""Isthmus reference client: publish a DSSE-signed alert, replay the ledger,
and verify signatures, the signed checkpoint and Merkle proofs yourself.

    dsse.py    PAE, Ed25519 signing and verification, key ids
    note.py    C2SP signed notes, verifier keys, checkpoints
    merkle.py  RFC 9162 leaf/node hashing, inclusion and consistency proofs
    roster.py  the roster in force and the federation's approval rule
    sealed.py  sealed alerts (docs/sealing.md): HPKE seal and open, all checks
    alert.py   the example alert (examples/alert.toml as an isthmus.v1.Alert)
    protos.py  generates the Python code for proto/isthmus/v1/ at run time
    main.py    the walkthrough against a running hub
"""

"""Layer 2, the machine (fingerprint, supported versions, a call's kernel path): the definition; torch only in functions."""

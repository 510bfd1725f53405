"""Layer 2, the machine (fingerprint, versions, kernel path, processes): the definition; torch only in functions."""

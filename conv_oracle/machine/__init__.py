"""Layer 2, the machine (fingerprint, versions, kernel path, processes, settings): the definition; torch only in functions."""

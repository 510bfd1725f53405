"""Layer 0, the definition (parameters, geometry, torch's rules, dtypes, cases): no other layer; no torch, Hypothesis, pytest."""

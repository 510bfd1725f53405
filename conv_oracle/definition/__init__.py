"""Layer 0, the definition (geometry, rules, dtypes, cases): imports no other layer, nor torch, Hypothesis, pytest."""

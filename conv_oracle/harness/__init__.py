"""Layer 5, the harness (pytest plugin, records, known deviations, profiles, the ISA matrix): may import layers 0-4."""

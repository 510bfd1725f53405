"""Layer 4, the checks (operands, comparison, snippets, isolation, properties): may import layers 0-3."""

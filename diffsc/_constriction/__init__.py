"""Nano-constrictions: Sharvin resistance and neck geometry, local critical fields and
lengths, charge imbalance and phase-slip centres, multiple Andreev reflection."""

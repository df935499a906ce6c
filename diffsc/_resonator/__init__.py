"""Microwave resonators: S21/S11 models and Q relations, line geometry and responses, the
power loop, reading measured sweeps, the S21 and temperature-sweep fits, TLS, ``diffsc fit``."""

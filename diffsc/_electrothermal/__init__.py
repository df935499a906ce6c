"""Electrothermal impedance Z(omega) of a current-biased sample at its resistive transition:
transition models, time domain, fits of C, G, alpha, beta and the recovery of C(T)."""

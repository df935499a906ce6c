"""Equilibrium superconductivity: materials, BCS gap equation and thermodynamics,
Mattis–Bardeen conductivity (thermal and arbitrary f(E)), thin-film surface impedance."""

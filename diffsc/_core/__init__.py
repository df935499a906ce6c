"""Foundations every domain uses: float64 switch, CODATA constants, argument validation,
quadrature rules, fit verdicts and the on-disk compilation cache. No physics lives here."""

"""Event generation: Pythia 8 + FastJet, a parametrised detector, systematic shifts."""

"""The embedded local AWS stack: a moto server, its bootstrap and demo data."""

"""Domain core of provider-accounts: settings, services, models and adapters; no HTTP here."""

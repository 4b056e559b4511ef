"""The thin HTTP layer: Connexion routes each operationId to a function in this package."""

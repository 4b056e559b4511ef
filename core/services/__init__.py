"""Use cases: each public function is one operation of the API."""

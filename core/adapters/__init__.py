"""One module per outside system; each turns its client's errors into core.errors."""

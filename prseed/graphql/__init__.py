"""GitHub GraphQL query documents and the functions that turn their answers into items."""

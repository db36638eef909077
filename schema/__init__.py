"""GraphQL: strawberry types, inputs, payloads, error enums, extensions and the Schema."""

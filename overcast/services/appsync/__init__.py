"""AWS AppSync: GraphQL APIs that execute (control plane, GraphQL data plane, real-time)."""

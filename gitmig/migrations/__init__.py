"""The migration files' world: files to graph, graph to plans and states, states to new files."""
